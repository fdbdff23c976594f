import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { cancelSuite } from "./suites/cancels.js";

describe("cancels carried out whatever fails on the way, on PostgreSQL", postgres(), () => cancelSuite("postgres"));
