import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { apiSuite } from "./suites/api.js";

describe("HTTP API on PostgreSQL", postgres(), () => apiSuite("postgres"));
