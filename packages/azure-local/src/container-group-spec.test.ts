import { describe, expect, it } from "vitest";
import { checkContainerGroupName, containerEnvironment, environmentView, parseContainerGroup } from "./container-group-spec.js";

const body = (overrides: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  location: "westeurope",
  tags: { a: "b" },
  properties: {
    osType: "Linux",
    restartPolicy: "Never",
    containers: [{ name: "flow", properties: { image: "img:1", resources: { requests: { cpu: 1, memoryInGB: 2 } }, environmentVariables: [{ name: "A", value: "1" }, { name: "S", secureValue: "hidden" }], ...container } }],
    ...overrides,
  },
});

describe("checkContainerGroupName", () => {
  it("takes 1–63 lower-case letters, digits and inner hyphens", () => {
    for (const name of ["a", "run-1", "a".repeat(63)]) expect(() => checkContainerGroupName(name)).not.toThrow();
    for (const name of ["", "-a", "a-", "A", "a_b", "a".repeat(64)]) expect(() => checkContainerGroupName(name)).toThrow(/container group name/);
  });
});

describe("parseContainerGroup", () => {
  it("reads the group and its containers", () => {
    const spec = parseContainerGroup(body());
    expect(spec).toMatchObject({ location: "westeurope", tags: { a: "b" }, osType: "Linux", restartPolicy: "Never", containers: [{ name: "flow", image: "img:1", cpu: 1, memoryInGB: 2 }] });
    expect(spec.properties).not.toHaveProperty("containers");
  });

  it("names what is missing or wrong, with ACI's codes", () => {
    expect(() => parseContainerGroup({ properties: {} })).toThrow(expect.objectContaining({ code: "LocationRequired" }));
    expect(() => parseContainerGroup(body({ osType: "Mac" }))).toThrow(expect.objectContaining({ code: "InvalidOsType" }));
    expect(() => parseContainerGroup(body({ restartPolicy: "Sometimes" }))).toThrow(expect.objectContaining({ code: "InvalidRestartPolicy" }));
    expect(() => parseContainerGroup(body({ containers: [] }))).toThrow(expect.objectContaining({ code: "NoContainersInContainerGroup" }));
    expect(() => parseContainerGroup(body({}, { image: "" }))).toThrow(expect.objectContaining({ code: "InvalidContainerImage" }));
    expect(() => parseContainerGroup(body({}, { resources: {} }))).toThrow(expect.objectContaining({ code: "InvalidResourceRequests" }));
  });

  it("runs with secure values but never answers them", () => {
    const [container] = parseContainerGroup(body()).containers;
    expect(containerEnvironment(container!)).toEqual({ A: "1", S: "hidden" });
    expect(environmentView(container!)).toEqual([{ name: "A", value: "1" }, { name: "S" }]);
  });
});
