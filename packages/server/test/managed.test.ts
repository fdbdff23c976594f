import { describe } from "vitest";
import { managedSuite } from "./suites/managed.js";

// The same suite on PostgreSQL is managed.e2e.test.ts.
describe("managed execution on PGlite", () => managedSuite("pglite"));
