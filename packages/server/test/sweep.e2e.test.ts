import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { sweepSuite } from "./suites/sweep.js";

describe("the push dispatcher's sweep on PostgreSQL", postgres(), () => sweepSuite("postgres"));
