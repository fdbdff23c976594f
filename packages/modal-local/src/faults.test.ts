import { describe, expect, it } from "vitest";
import { FaultBook, FaultInjectionError, statusCode, statusName } from "./faults.js";

describe("FaultBook", () => {
  it("hands a fault to the next calls of its RPC, in its phase, as many times as asked", () => {
    const book = new FaultBook();
    book.add({ rpc: "SandboxCreateV2", code: "RESOURCE_EXHAUSTED", message: "quota", times: 2 });
    book.add({ rpc: "AppGetOrCreate", code: "UNAVAILABLE", after: true });
    expect(book.take("AppGetOrCreate", "before")).toBeNull();
    expect(book.take("SandboxCreateV2", "after")).toBeNull();
    expect(book.take("SandboxCreateV2", "before")).toMatchObject({ code: "RESOURCE_EXHAUSTED", message: "quota" });
    expect(book.take("SandboxCreateV2", "before")).toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    expect(book.take("SandboxCreateV2", "before")).toBeNull();
    expect(book.take("AppGetOrCreate", "after")).toMatchObject({ code: "UNAVAILABLE", after: true });
    expect(book.list()).toEqual([]);
  });

  it("matches any RPC with * or no rpc, and names the fault in its default message", () => {
    const book = new FaultBook();
    book.add({ code: "UNAUTHENTICATED" });
    expect(book.take("SandboxWaitV2", "before")?.message).toBe("injected UNAUTHENTICATED fault on any RPC");
  });

  it("refuses an unknown status, OK, and a count below 1", () => {
    const book = new FaultBook();
    expect(() => book.add({ code: "NOPE" as never })).toThrow(FaultInjectionError);
    expect(() => book.add({ code: "OK" })).toThrow(/other than OK/);
    expect(() => book.add({ code: "INTERNAL", times: 0 })).toThrow(/1 or more/);
  });

  it("converts status names and codes", () => {
    expect(statusCode("RESOURCE_EXHAUSTED")).toBe(8);
    expect(statusName(16)).toBe("UNAUTHENTICATED");
    expect(statusName(0)).toBe("OK");
  });
});
