import { describe, expect, it } from "vitest";
import type { OutputLine } from "./container-runtime.js";
import { buildContainerCreateOptions, containerLabels, parseDockerTimestamp, TimestampedLineSplitter } from "./docker-container-runtime.js";

const launch = { name: "aws-local-abc", key: "arn:aws:ecs:us-east-1:123456789012:task/c/abc", image: "ferry-base:bookworm", command: ["python3", "-c", "print(1)"], env: { A: "1" }, memoryMib: 512, init: false };

describe("buildContainerCreateOptions", () => {
  it("labels the container with its task and server, and limits memory without swap", () => {
    const options = buildContainerCreateOptions(launch, { network: "host", serverId: "srv1", labelPrefix: "aws-local" });
    expect(options).toMatchObject({
      name: "aws-local-abc",
      Image: "ferry-base:bookworm",
      Cmd: ["python3", "-c", "print(1)"],
      Env: ["A=1"],
      Labels: { "aws-local.managed": "true", "aws-local.server": "srv1", "aws-local.key": launch.key },
      HostConfig: { NetworkMode: "host", Memory: 512 * 1024 * 1024, MemorySwap: 512 * 1024 * 1024, Init: false },
    });
    expect(options.HostConfig?.ExtraHosts).toBeUndefined();
    expect(options).not.toHaveProperty("Entrypoint");
  });

  it("locks a job down when asked: read-only root, no capabilities, memory filesystems, host directories, CPUs", () => {
    const options = buildContainerCreateOptions(
      { ...launch, cpus: 0.5, readOnlyRootFilesystem: true, dropCapabilities: true, tmpfs: { "/tmp": "rw,mode=1777" }, binds: ["/srv/cache:/cache"] },
      { network: "host", serverId: "s", labelPrefix: "aws-local" },
    );
    expect(options.HostConfig).toMatchObject({ NanoCpus: 5e8, ReadonlyRootfs: true, CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"], Tmpfs: { "/tmp": "rw,mode=1777" }, Binds: ["/srv/cache:/cache"] });
    expect(buildContainerCreateOptions(launch, { network: "host", serverId: "s", labelPrefix: "aws-local" }).HostConfig).not.toHaveProperty("ReadonlyRootfs");
  });

  it("gives bridge tasks a way to the host", () => {
    expect(buildContainerCreateOptions(launch, { network: "bridge", serverId: "s", labelPrefix: "aws-local" }).HostConfig).toMatchObject({ NetworkMode: "bridge", ExtraHosts: ["host.docker.internal:host-gateway"] });
  });
});

describe("containerLabels", () => {
  it("puts the labels under the local server's prefix and refuses a prefix Docker's label filter would misread", () => {
    expect(containerLabels("gcp-local")).toEqual({ key: "gcp-local.key", managed: "gcp-local.managed", server: "gcp-local.server" });
    expect(() => containerLabels("Bad=prefix")).toThrow(/label prefix/);
  });
});

describe("TimestampedLineSplitter", () => {
  it("splits chunks into timestamped lines, across chunk boundaries, and flushes a last partial line", () => {
    const lines: OutputLine[] = [];
    const splitter = new TimestampedLineSplitter("stdout", (line) => lines.push(line));
    splitter.push("2026-01-02T03:04:05.123456789Z hel");
    splitter.push("lo\n2026-01-02T03:04:06.000000000Z second\n2026-01-02T03:04:07Z no newline");
    splitter.end();
    expect(lines).toEqual([
      { stream: "stdout", timestamp: Date.parse("2026-01-02T03:04:05.123Z"), message: "hello" },
      { stream: "stdout", timestamp: Date.parse("2026-01-02T03:04:06.000Z"), message: "second" },
      { stream: "stdout", timestamp: Date.parse("2026-01-02T03:04:07.000Z"), message: "no newline" },
    ]);
  });

  it("parses Docker's RFC 3339 nano timestamps", () => {
    expect(parseDockerTimestamp("2026-01-02T03:04:05.1Z")).toBe(Date.parse("2026-01-02T03:04:05.100Z"));
    expect(parseDockerTimestamp("not-a-time")).toBeNull();
  });
});
