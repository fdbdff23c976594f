import { describe, expect, it } from "vitest";
import { DEFAULT_SANDBOX_TIMEOUT_SECS, planSandbox, tagsList, tagsRecord } from "./sandbox-requests.js";

describe("planSandbox", () => {
  it("reads what the local server acts on from a definition", () => {
    const plan = planSandbox({
      entrypointArgs: ["ferry-engine"],
      imageId: "im-1",
      timeoutSecs: 3600,
      resources: { milliCpu: 2000, memoryMb: 4096, memoryMbMax: 8192, gpuConfig: { gpuType: "A10G", count: 2 } },
      schedulerPlacement: { regions: ["us-east"] },
      name: "run-1",
      workdir: "/work",
      environmentVariables: { contents: { A: "1" } },
    });
    expect(plan).toEqual({ command: ["ferry-engine"], imageId: "im-1", timeoutSecs: 3600, milliCpu: 2000, memoryMib: 4096, memoryLimitMib: 8192, gpu: "A10G:2", regions: ["us-east"], name: "run-1", workdir: "/work", env: { A: "1" } });
  });

  it("gives Modal's defaults: 5 minutes, no name, no resources", () => {
    expect(planSandbox({ imageId: "im-1" })).toMatchObject({ timeoutSecs: DEFAULT_SANDBOX_TIMEOUT_SECS, name: null, gpu: null, milliCpu: null, memoryMib: null, command: [] });
  });

  it("refuses a timeout over 24 hours, a bad name, and no image, as INVALID_ARGUMENT", () => {
    expect(() => planSandbox({ imageId: "im-1", timeoutSecs: 86401 })).toThrow(expect.objectContaining({ grpcCode: 3, message: expect.stringContaining("at most 24 hours") }));
    expect(() => planSandbox({ imageId: "im-1", name: "no spaces" })).toThrow(expect.objectContaining({ grpcCode: 3 }));
    expect(() => planSandbox({})).toThrow(expect.objectContaining({ grpcCode: 3 }));
    expect(() => planSandbox(null)).toThrow(expect.objectContaining({ grpcCode: 3 }));
  });

  it("turns tags into a record and back", () => {
    const tags = [{ tagName: "ferry-run", tagValue: "r1" }, { tagName: "ferry-pool", tagValue: "p" }];
    expect(tagsList(tagsRecord(tags))).toEqual(tags);
  });
});
