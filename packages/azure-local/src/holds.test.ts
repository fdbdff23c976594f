import { describe, expect, it } from "vitest";
import { Holds } from "./holds.js";

const request = (operation: string, path = "/x") => ({ method: "PUT", path, operation, body: "{}" });

describe("Holds", () => {
  it("lets a request that no hold matches through at once", async () => {
    const holds = new Holds();
    holds.add({ operation: "ContainerGroups_CreateOrUpdate" });
    expect(await holds.take(request("ContainerGroups_Get"))).toBeNull();
  });

  it("holds the next matching request until release, then hands back its answer", async () => {
    const holds = new Holds();
    const hold = holds.add({ method: "put", path: "/containerGroups/g1$" });
    let passed = false;
    const taking = holds.take(request("ContainerGroups_CreateOrUpdate", "/a/containergroups/g1")).then((answer) => ((passed = true), answer));
    expect(await hold.received).toMatchObject({ operation: "ContainerGroups_CreateOrUpdate" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passed).toBe(false);
    const released = hold.release();
    const answer = await taking;
    answer!({ status: 201, body: { name: "g1" } });
    expect(await released).toEqual({ status: 201, body: { name: "g1" } });
    expect(await holds.take(request("ContainerGroups_CreateOrUpdate", "/a/containergroups/g1"))).toBeNull();
  });

  it("lets everything go on releaseAll", async () => {
    const holds = new Holds();
    holds.add({ operation: "A" });
    const taking = holds.take(request("A"));
    holds.releaseAll();
    expect(typeof (await taking)).toBe("function");
    expect(() => holds.add({})).toThrow(/operation or a path/);
  });
});
