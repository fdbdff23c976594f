import { isFerryError, type SubmitRequest } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { loopbackApiUrlWarning, poolCredentialsOrAmbient } from "./push-environment.js";

const request = (pool: string, url: string) =>
  ({ flowRun: { id: `run-${pool}`, work_pool: pool }, runtimeEnv: { FERRY_API_URL: url } }) as unknown as SubmitRequest;

describe("loopbackApiUrlWarning", () => {
  it("warns once per pool, naming the URL and the fix; says nothing for a reachable URL", () => {
    const lines: string[] = [];
    const warn = loopbackApiUrlWarning({ debug() {}, warn: (_o, m) => void lines.push(m) }, "Acme");
    warn(request("a", "http://127.0.0.1:4200"));
    warn(request("a", "http://127.0.0.1:4200"));
    warn(request("b", "http://localhost:4200"));
    warn(request("c", "https://ferry.example.com"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("runs of pool 'a' get FERRY_API_URL=http://127.0.0.1:4200, a loopback address");
    expect(lines[0]).toContain("Set FERRY_PUBLIC_URL");
  });
});

describe("poolCredentialsOrAmbient", () => {
  it("passes the pool's credentials, and null only when the operator allows the server's own identity", () => {
    expect(poolCredentialsOrAmbient({ k: "v" }, { allowAmbient: false, cloud: "Acme", credentialsType: "keypair" })).toEqual({ k: "v" });
    expect(poolCredentialsOrAmbient(null, { allowAmbient: true, cloud: "Acme", credentialsType: "keypair" })).toBeNull();
  });

  it("refuses a pool without credentials otherwise, naming both fixes", () => {
    let error: unknown;
    try {
      poolCredentialsOrAmbient(null, { allowAmbient: false, cloud: "Acme", pool: "p1", credentialsType: "keypair" });
    } catch (e) {
      error = e;
    }
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect((error as Error).message).toMatch(/pool 'p1' has no keypair credentials.*'ferry work-pool update p1 --credentials NAME'.*FERRY_ALLOW_AMBIENT_CLOUD_CREDENTIALS=1/);
  });
});
