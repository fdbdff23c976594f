import { describe } from "vitest";
import { leaseSuite } from "./suites/leases.js";

// The same suite on PostgreSQL is leases.e2e.test.ts.
describe("server leases and run owners on PGlite", () => leaseSuite("pglite"));
