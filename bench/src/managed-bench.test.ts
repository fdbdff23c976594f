import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type Docker from "dockerode";
import { benchCacheKey, dockerProblem, managedServerEnv } from "./managed-bench.js";

describe("benchCacheKey", () => {
  it("is the server's cache key, so the bench removes the volume its runs will use", async () => {
    // @ferry/server does not export cacheKey: load it from the built package, as the server runs it.
    const serverDir = dirname(createRequire(import.meta.url).resolve("@ferry/server/package.json"));
    const server = (await import(pathToFileURL(join(serverDir, "dist", "managed-dispatcher.js")).href)) as { cacheKey(workspaceId: string, image: string, pip: string[], npm: string[]): string };
    for (const [pip, npm] of [[["six>=1"], []], [["b", "a"], ["x"]], [[], []]] as const) {
      expect(benchCacheKey("ws-1", "ferry-engine:latest", [...pip], [...npm])).toBe(server.cacheKey("ws-1", "ferry-engine:latest", [...pip], [...npm]));
    }
    expect(benchCacheKey("ws-1", "ferry-engine:latest", ["six"], [])).not.toBe(benchCacheKey("ws-2", "ferry-engine:latest", ["six"], []));
  });
});

describe("managedServerEnv", () => {
  it("points both backends at the local pip index", () => {
    const env = managedServerEnv("process", "/tmp/repo");
    expect(env.FERRY_RUNNER).toBe("process");
    expect(JSON.parse(env.FERRY_RUNNER_ENV!)).toMatchObject({ PIP_INDEX_URL: "file:///opt/pypi/simple", PIP_FIND_LINKS: "/opt/wheels" });
  });

  it("passes the warm-engine setting to the server on both backends, 0 (off) unless asked", () => {
    expect(managedServerEnv("process", "/tmp/repo").FERRY_WARM_ENGINES).toBe("0");
    expect(managedServerEnv("process", "/tmp/repo", 2).FERRY_WARM_ENGINES).toBe("2");
    expect(managedServerEnv("docker", "/tmp/repo", 2, () => true).FERRY_WARM_ENGINES).toBe("2");
  });

  it("gives Docker runs the host's network and read-only mounts of the repository and the package directories that exist", () => {
    const env = managedServerEnv("docker", "/tmp/repo", 0, (p) => p !== "/opt/pypi-more");
    expect(env).toMatchObject({ FERRY_RUNNER: "docker", FERRY_RUNNER_NETWORK: "host" });
    expect(env.FERRY_RUNNER_MOUNTS).toBe("/tmp/repo:/tmp/repo,/opt/pypi:/opt/pypi,/opt/wheels:/opt/wheels,/etc/ssl/certs:/etc/ssl/certs");
  });
});

describe("dockerProblem", () => {
  const docker = (ping: () => Promise<unknown>, inspect: () => Promise<unknown>) => ({ ping, getImage: () => ({ inspect }) }) as unknown as Docker;

  it("says why Docker cannot be measured: no daemon, or no engine image", async () => {
    const refused = () => Promise.reject(new Error("connect ECONNREFUSED /var/run/docker.sock"));
    expect(await dockerProblem(docker(refused, async () => ({})))).toMatch(/no Docker daemon answers \(connect ECONNREFUSED/);
    expect(await dockerProblem(docker(async () => "OK", () => Promise.reject(new Error("no such image"))))).toMatch(/the image ferry-engine:latest is missing/);
    expect(await dockerProblem(docker(async () => "OK", async () => ({})))).toBeNull();
  });
});
