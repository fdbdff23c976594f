import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { leaseSuite } from "./suites/leases.js";

describe("server leases and run owners on PostgreSQL", postgres(), () => leaseSuite("postgres"));
