import { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { defineErrorClassifier, HTTP_STATUS_RULES, readErrorFacts, type ClassifyContext } from "./classify.js";

interface AcmeContext extends ClassifyContext {
  zone?: string;
}

const classify = defineErrorClassifier<AcmeContext>({
  cloud: "Acme Cloud",
  detailsKey: "acme_error",
  throttled: { names: ["SlowDown"], ...HTTP_STATUS_RULES.throttled },
  unauthenticated: { names: ["BadKey"], statuses: [401] },
  denied: { names: ["Forbidden"], statuses: [403] },
  notFound: { names: ["NoSuchThing"], pattern: /does not exist/ },
  quota: { names: ["QuotaExceeded"] },
  server: { names: ["Oops"] },
  special: [{ names: ["NoSuchZone"], kind: "not_found", message: (_f, ctx) => `the zone '${ctx.zone ?? "default"}' does not exist: set the zone job variable` }],
  messages: { denied: (f) => `the pool's key may not do this (${f.message}): grant it` },
  details: (_f, ctx) => (ctx.zone ? { zone: ctx.zone } : {}),
});

const acme = (name: string, message = "acme says no", status?: number) => Object.assign(new Error(message), { name, ...(status ? { status } : {}) });

describe("defineErrorClassifier", () => {
  it.each([
    ["a listed name", acme("SlowDown"), "provider_throttled", true],
    ["HTTP 429", acme("Whatever", "x", 429), "provider_throttled", true],
    ["a bad key", acme("BadKey"), "provider_auth", false],
    ["HTTP 403", acme("Nope", "x", 403), "provider_auth", false],
    ["a message saying it does not exist", acme("Weird", "the bucket b does not exist"), "provider_not_found", false],
    ["a quota", acme("QuotaExceeded"), "provider_quota", false],
    ["a listed server error", acme("Oops"), "provider_error", true],
    ["any 5xx", acme("Gateway", "x", 502), "provider_error", true],
    ["a network failure, from the cause's code", new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }), "provider_error", true],
    ["any other 4xx", acme("BadParameter", "cpu must be even", 400), "provider_error", false],
    ["not an answer at all", new RangeError("x is out of range"), "provider_error", false],
    ["an abort", acme("AbortError", "aborted"), "provider_error", false],
  ])("%s is %s (retryable: %s)", (_label, error, code, retryable) => {
    const e = classify(error, { operation: "StartJob" });
    expect(e).toBeInstanceOf(FerryError);
    expect(e).toMatchObject({ code, retryable });
    expect(e.cause).toBe(error);
    expect(e.message.startsWith("StartJob: ")).toBe(true);
  });

  it("says each kind with the table's words, or a plain default naming the cloud", () => {
    expect(classify(acme("Forbidden", "no"), {}).message).toBe("the pool's key may not do this (no): grant it");
    expect(classify(acme("SlowDown", "rate exceeded"), {}).message).toBe("Acme Cloud is throttling requests (rate exceeded); Ferry retries with a backoff");
    expect(classify(acme("Oops", "boom"), {}).message).toBe("Acme Cloud had an internal error: boom");
  });

  it("checks special cases first, with the context", () => {
    const e = classify(acme("NoSuchZone"), { zone: "z9", operation: "StartJob" });
    expect(e).toMatchObject({ code: "provider_not_found", message: "StartJob: the zone 'z9' does not exist: set the zone job variable" });
  });

  it("keeps the cloud's error name, the HTTP status and the context's details", () => {
    expect(classify(acme("Oops", "x", 500), { zone: "z1" }).details).toEqual({ acme_error: "Oops", http_status: 500, zone: "z1" });
  });

  it("ends the message with the cloud's request id and keeps it in the details", () => {
    const e = classify(Object.assign(acme("Forbidden", "no"), { requestId: "req-7f3a" }), { operation: "StartJob" });
    expect(e.message).toBe("StartJob: the pool's key may not do this (no): grant it (Acme Cloud request id req-7f3a)");
    expect(e.details).toMatchObject({ request_id: "req-7f3a" });
  });

  it("masks the context's secrets in the message and drops them from the cause", () => {
    const e = classify(acme("BadKey", "key s3cr3t rejected"), { secrets: ["s3cr3t"] });
    expect(e.message).not.toContain("s3cr3t");
    expect(String((e.cause as Error).message)).not.toContain("s3cr3t");
    expect(e.code).toBe("provider_auth");
  });

  it("passes a FerryError through", () => {
    const original = new FerryError("validation_failed", "bad");
    expect(classify(original)).toBe(original);
  });

  it("classifies a thrown non-error", () => {
    expect(classify("boom")).toMatchObject({ code: "provider_error", retryable: false, message: "boom" });
  });
});

describe("readErrorFacts", () => {
  it("reads name, code, status (status, statusCode or response.status) and message", () => {
    expect(readErrorFacts(Object.assign(new Error("m"), { name: "N", code: "C", statusCode: 418 }))).toEqual({ name: "N", code: "C", status: 418, message: "m" });
    expect(readErrorFacts({ message: " ", response: { status: 503 }, code: 14 })).toMatchObject({ name: "14", code: "14", status: 503, message: "14" });
  });
});
