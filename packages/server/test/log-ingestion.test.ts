import { describe } from "vitest";
import { logIngestionSuite } from "./suites/log-ingestion.js";

// The same suite on PostgreSQL is log-ingestion.e2e.test.ts.
describe("log ingestion on PGlite", () => logIngestionSuite("pglite"));
