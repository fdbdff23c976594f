import { describe } from "vitest";
import { restartSuite } from "./suites/restart.js";

// The same suite on PostgreSQL is restart.e2e.test.ts.
describe("a server killed mid-dispatch on PGlite", () => restartSuite("pglite"));
