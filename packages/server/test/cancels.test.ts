import { describe } from "vitest";
import { cancelSuite } from "./suites/cancels.js";

// The same suite on PostgreSQL is cancels.e2e.test.ts.
describe("cancels carried out whatever fails on the way, on PGlite", () => cancelSuite("pglite"));
