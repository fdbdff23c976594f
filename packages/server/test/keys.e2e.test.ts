import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { keysSuite } from "./suites/keys.js";

describe("run tokens, bootstrap tokens and API keys on PostgreSQL", postgres(), () => keysSuite("postgres"));
