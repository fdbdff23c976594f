import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { reliabilitySuite, twoServersSuite } from "./suites/reliability.js";

describe("a server killed at random points of its runs' lives, on PostgreSQL", postgres(), () => reliabilitySuite("postgres"));
describe("two servers on one PostgreSQL database", postgres(), () => twoServersSuite());
