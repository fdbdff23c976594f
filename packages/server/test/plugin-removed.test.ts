import { describe } from "vitest";
import { pluginRemovedSuite } from "./suites/plugin-removed.js";

// The same suite on PostgreSQL is plugin-removed.e2e.test.ts.
describe("a server restarted without a plugin it had on PGlite", () => pluginRemovedSuite("pglite"));
