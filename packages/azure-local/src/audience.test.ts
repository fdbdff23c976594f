import { describe, expect, it } from "vitest";
import { audienceRefusal } from "./audience.js";

const URL = "https://127.0.0.1:8443";

describe("audienceRefusal", () => {
  it("accepts each API's own audiences, with or without a trailing slash, and the server's URL", () => {
    expect(audienceRefusal("arm", "https://management.azure.com/", URL)).toBeNull();
    expect(audienceRefusal("arm", "https://management.core.windows.net", URL)).toBeNull();
    expect(audienceRefusal("graph", "https://graph.microsoft.com", URL)).toBeNull();
    expect(audienceRefusal("arm", `${URL}/`, URL)).toBeNull();
    expect(audienceRefusal("graph", URL, URL)).toBeNull();
    expect(audienceRefusal("arm", "https://localhost:8443", URL)).toBeNull();
    expect(audienceRefusal("arm", "https://localhost:9999", URL)).not.toBeNull();
    expect(audienceRefusal("arm", "not a url", URL)).not.toBeNull();
  });

  it("refuses a token for the other API with Azure's codes", () => {
    expect(audienceRefusal("arm", "https://graph.microsoft.com", URL)).toMatchObject({ status: 401, code: "InvalidAuthenticationTokenAudience" });
    expect(audienceRefusal("graph", "https://management.azure.com", URL)).toMatchObject({ status: 401, code: "InvalidAuthenticationToken" });
  });
});
