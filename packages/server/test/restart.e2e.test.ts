import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { restartSuite } from "./suites/restart.js";

describe("a server killed mid-dispatch on PostgreSQL", postgres(), () => restartSuite("postgres"));
