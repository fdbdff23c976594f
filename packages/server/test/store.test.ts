import { describe } from "vitest";
import { pgliteTarget, storeSuite } from "./suites/store.js";

// The same suite on PostgreSQL is store.e2e.test.ts.
describe("store on PGlite (in memory)", () => storeSuite("pglite", pgliteTarget));
