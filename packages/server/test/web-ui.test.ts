import { describe, it } from "vitest";
import { checkBehindHttpsProxy, checkUiNotBuilt, webUiSuite } from "./suites/web-ui.js";

// The same suite on PostgreSQL is web-ui.e2e.test.ts.
describe("the web UI's server side on PGlite", () => webUiSuite("pglite"));

describe("without a built UI", () => {
  it("answers / with a page saying how to build it", checkUiNotBuilt);
});

describe("behind a proxy that terminates TLS", () => {
  it("sets a Secure cookie, takes the public URL's origin as its own and links to it", checkBehindHttpsProxy);
});
