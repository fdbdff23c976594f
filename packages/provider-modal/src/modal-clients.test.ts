import { captureLogger } from "@ferry/provider-kit/conformance";
import { describe, expect, it } from "vitest";
import { cachedClients, toSdkLogger, type ModalClientFactory } from "./modal-clients.js";

describe("toSdkLogger", () => {
  it("turns the SDK's key-value arguments into the provider logger's fields, warnings as warnings", () => {
    const log = captureLogger();
    const sdk = toSdkLogger(log.logger);
    sdk.warn("Using insecure TLS", "server_url", "https://127.0.0.1:1");
    sdk.debug("Sending gRPC request", "method", "/modal.client.ModalClient/SandboxWait");
    expect(log.lines()).toEqual([
      expect.stringMatching(/^warn Using insecure TLS .*https:\/\/127\.0\.0\.1:1/),
      expect.stringMatching(/^debug Sending gRPC request .*SandboxWait/),
    ]);
  });
});

describe("cachedClients", () => {
  it("makes one client per token, secret and environment", () => {
    const made: unknown[] = [];
    const factory: ModalClientFactory = (settings) => {
      made.push(settings);
      return { settings } as never;
    };
    const clients = cachedClients(factory);
    const a = { tokenId: "ak-1", tokenSecret: "as-1" };
    expect(clients({ token: a, environment: null })).toBe(clients({ token: { ...a }, environment: null }));
    clients({ token: { ...a, tokenSecret: "as-2" }, environment: null });
    clients({ token: a, environment: "dev" });
    expect(made).toHaveLength(3);
  });
});
