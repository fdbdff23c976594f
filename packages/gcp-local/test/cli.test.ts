import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { v2 } from "@google-cloud/run";
import { grpc } from "google-gax";
import { parseCliArgs } from "../src/cli-args.js";
import { HOOKS_PREFIX, type GcpLocal, type ServiceAccountKeyFile } from "../src/index.js";
import { clientOptions } from "./helpers.js";

interface Started {
  apiEndpoint: string;
  grpcPort: number;
  httpUrl: string;
  caPem: string;
  projectId: string;
  ownerKey: ServiceAccountKeyFile;
}

describe("the gcp-local command", () => {
  it("parses its flags into options, naming the usage on a bad one", () => {
    expect(parseCliArgs(["--grpc-port", "0", "--http-port", "0", "--project-id", "my-proj-1", "--empty-project"])).toMatchObject({ grpcPort: 0, httpPort: 0, projectId: "my-proj-1", enabledServices: expect.not.arrayContaining(["run.googleapis.com"]) });
    expect(parseCliArgs([])).toMatchObject({ grpcPort: 8443, httpPort: 8080, enabledServices: undefined });
    expect(() => parseCliArgs(["--network", "overlay"])).toThrow(/use host or bridge/);
    expect(() => parseCliArgs(["--bogus"])).toThrow();
  });

  describe("as a process (dist/cli.js: `npm test` builds first)", () => {
    let child: ChildProcess;
    let started: Started;

    beforeAll(async () => {
      const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
      child = spawn(process.execPath, [cli, "--grpc-port", "0", "--http-port", "0"], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DOCKER_HOST: "unix:///nonexistent.sock" } });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("exit", (code) => reject(new Error(`gcp-local exited with ${code}`)));
      });
      started = JSON.parse(line) as Started;
    });

    afterAll(async () => {
      if (child?.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    });

    it("prints where it listens and the owner's key; the official client works against it; the hooks show the calls", async () => {
      expect(started).toMatchObject({ apiEndpoint: "localhost", projectId: "ferry-local" });
      const local = { ...started, host: "127.0.0.1" } as unknown as GcpLocal;
      const jobs = new v2.JobsClient(clientOptions(local, started.ownerKey));
      await expect(jobs.getJob({ name: "projects/ferry-local/locations/us-central1/jobs/nope" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await jobs.close();
      const calls = (await (await fetch(`${started.httpUrl}${HOOKS_PREFIX}calls`)).json()) as { method: string; status: string }[];
      expect(calls.at(-1)).toMatchObject({ method: "GetJob", status: "NOT_FOUND" });
      const faults = await fetch(`${started.httpUrl}${HOOKS_PREFIX}faults`, { method: "POST", body: JSON.stringify({ service: "Jobs", method: "RunJob", code: 429 }) });
      expect(await faults.json()).toEqual([{ service: "Jobs", method: "RunJob", code: "RESOURCE_EXHAUSTED", after: false, times: 1 }]);
      const health = (await (await fetch(`${started.httpUrl}${HOOKS_PREFIX}health`)).json()) as { runtimeUnavailable: string };
      expect(health.runtimeUnavailable).toMatch(/Docker is not answering/);
    });
  });
});
