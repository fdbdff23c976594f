import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { pluginRemovedSuite } from "./suites/plugin-removed.js";

describe("a server restarted without a plugin it had on PostgreSQL", postgres(), () => pluginRemovedSuite("postgres"));
