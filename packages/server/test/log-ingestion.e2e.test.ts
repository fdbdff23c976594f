import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { logIngestionSuite } from "./suites/log-ingestion.js";

describe("log ingestion on PostgreSQL", postgres(), () => logIngestionSuite("postgres"));
