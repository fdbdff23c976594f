import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { managedSuite } from "./suites/managed.js";

describe("managed execution on PostgreSQL", postgres(), () => managedSuite("postgres"));
