import { describe } from "vitest";
import { embeddedPostgresTarget, storeSuite } from "./suites/store.js";

// The store suite on PostgreSQL run as the server's child process (FERRY_STORE=embedded-postgres): no
// Docker, no system PostgreSQL. Its start, stop and recovery are embedded-postgres-lifecycle.test.ts.
describe("store on the embedded PostgreSQL", () => storeSuite("postgres", embeddedPostgresTarget));
