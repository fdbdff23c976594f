import { describe } from "vitest";
import { sweepSuite } from "./suites/sweep.js";

// The same suite on PostgreSQL is sweep.e2e.test.ts.
describe("the push dispatcher's sweep on PGlite", () => sweepSuite("pglite"));
