import { describe } from "vitest";
import { postgres } from "../../../test-support/services.js";
import { postgresTarget, storeSuite } from "./suites/store.js";

describe("store on PostgreSQL", postgres(), () => storeSuite("postgres", postgresTarget));
