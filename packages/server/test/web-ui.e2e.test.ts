import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { webUiSuite } from "./suites/web-ui.js";

describe("the web UI's server side on PostgreSQL", postgres(), () => webUiSuite("postgres"));
