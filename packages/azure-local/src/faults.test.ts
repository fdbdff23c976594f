import { describe, expect, it } from "vitest";
import { FaultInjector } from "./faults.js";

describe("FaultInjector", () => {
  it("answers a 429 with Retry-After by default, the given number of times", () => {
    const faults = new FaultInjector();
    faults.add({ operation: "ContainerGroups_CreateOrUpdate", retryAfter: 2, times: 2 });
    const first = faults.take("before", "ContainerGroups_CreateOrUpdate", "PUT", "/x");
    expect(first).toMatchObject({ status: 429, code: "TooManyRequests", headers: { "Retry-After": "2" } });
    expect(faults.take("before", "ContainerGroups_CreateOrUpdate", "PUT", "/x")).not.toBeNull();
    expect(faults.take("before", "ContainerGroups_CreateOrUpdate", "PUT", "/x")).toBeNull();
  });

  it("keeps before and after faults apart", () => {
    const faults = new FaultInjector();
    faults.add({ operation: "ContainerGroups_Delete", status: 500, after: true });
    expect(faults.take("before", "ContainerGroups_Delete", "DELETE", "/x")).toBeNull();
    expect(faults.take("after", "ContainerGroups_Delete", "DELETE", "/x")).toMatchObject({ status: 500, code: "InternalServerError" });
  });

  it("matches by method and path pattern", () => {
    const faults = new FaultInjector();
    faults.add({ method: "get", path: "/containerGroups/g1$", status: 503, code: "ServiceUnavailable" });
    expect(faults.take("before", "ContainerGroups_Get", "GET", "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerInstance/containerGroups/g2")).toBeNull();
    expect(faults.take("before", "ContainerGroups_Get", "PUT", "/a/containerGroups/g1")).toBeNull();
    expect(faults.take("before", "ContainerGroups_Get", "GET", "/a/containergroups/g1")).toMatchObject({ status: 503 });
  });

  it("refuses a fault that matches nothing, or a bad pattern", () => {
    const faults = new FaultInjector();
    expect(() => faults.add({ status: 429 })).toThrow(/operation or a path/);
    expect(() => faults.add({ path: "(" })).toThrow();
  });
});

describe("FaultInjector asynchronous faults", () => {
  it("are taken only in the asynchronous phase", () => {
    const faults = new FaultInjector();
    faults.add({ operation: "ContainerGroups_CreateOrUpdate", asynchronous: true, code: "ServiceUnavailable", message: "no capacity" });
    expect(faults.take("before", "ContainerGroups_CreateOrUpdate", "PUT", "/x")).toBeNull();
    expect(faults.take("after", "ContainerGroups_CreateOrUpdate", "PUT", "/x")).toBeNull();
    expect(faults.take("asynchronous", "ContainerGroups_CreateOrUpdate", "PUT", "/x")).toMatchObject({ code: "ServiceUnavailable", message: "no capacity" });
  });
});
