import { describe } from "vitest";
import { apiSuite } from "./suites/api.js";

// The same suite on PostgreSQL is api.e2e.test.ts.
describe("HTTP API on PGlite", () => apiSuite("pglite"));
