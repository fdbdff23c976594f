import { describe } from "vitest";
import { reliabilitySuite } from "./suites/reliability.js";

// kill -9 at random points on PGlite; the same on PostgreSQL, and two servers on one database, are in
// reliability.e2e.test.ts. The seed is printed; FERRY_RELIABILITY_SEED replays it.
describe("a server killed at random points of its runs' lives, on PGlite", () => reliabilitySuite("pglite"));
