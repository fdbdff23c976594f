import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry, startServer, type ServerProcess } from "./cli-harness.js";

// What `npm i -g @ferry/cli` gives a user (issue 19): the CLI packed and installed as npm installs it, by the
// same script `npm run check:cli-install` checks the goal with, then run from there, away from this workspace.
const measureScript = fileURLToPath(new URL("../../../scripts/measure-cli-install.mjs", import.meta.url));
const serverPackage = fileURLToPath(new URL("../../../packages/server", import.meta.url));

interface Measured {
  packages: number;
  bytes: number;
  withinGoal: boolean;
}

let work: string;
let home: string;
let measured: Measured;
let modules: string;
let bin: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ferry-cli-install-test-"));
  home = join(work, "home");
  await mkdir(home);
  const { stdout } = await promisify(execFile)(process.execPath, [measureScript, "--json", "--prefix", work], { timeout: 240_000 });
  measured = JSON.parse(stdout) as Measured;
  modules = join(work, "install", "node_modules");
  bin = join(modules, "@ferry", "cli", "dist", "ferry.js");
}, 300_000);

afterAll(async () => {
  // A test that timed out leaves its server running: stop it before removing its store.
  if (server && server.child.exitCode === null) await server.stop();
  await rm(work, { recursive: true, force: true, maxRetries: 5 });
});

describe("the CLI as npm installs it", () => {
  it("stays under 30 MB and 60 packages, without the server, dockerode or any provider", async () => {
    expect(measured.bytes).toBeLessThan(30e6);
    expect(measured.packages).toBeLessThan(60);
    expect(measured.withinGoal).toBe(true);
    // The CLI alone: no server, no provider (nor their cloud SDKs), no dockerode beside it.
    expect((await readdir(modules)).filter((name) => !name.startsWith("."))).toEqual(["@ferry"]);
    expect(await readdir(join(modules, "@ferry"))).toEqual(["cli"]);
  });

  it("keeps the licences of the code bundled inside it", async () => {
    const licenses = await readFile(join(modules, "@ferry", "cli", "dist", "licenses.txt"), "utf8");
    for (const name of ["dockerode", "docker-modem", "ssh2", "commander", "yaml"]) expect(licenses).toMatch(new RegExp(`^${name}@\\d+\\.\\d+\\.\\d+\\nLicense: `, "m"));
  });

  it("runs without the server, and its server commands say how to install it", async () => {
    const version = await ferry(["--version"], { home, bin, cwd: work });
    expect(version).toMatchObject({ code: 0, stdout: "0.1.0\n" });
    for (const args of [["server", "start", "--port", "0"], ["server", "reset-key"]]) {
      const result = await ferry(args, { home, bin, cwd: work });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/@ferry\/server\) is not installed next to the CLI; install it beside the CLI with 'npm install -g @ferry\/server'/);
    }
  });

  // A server start, a pool and a deploy on a loaded machine: more than the file's default minute.
  it("starts the server once it is installed beside it", { timeout: 300_000 }, async () => {
    // The workspace's server stands in for `npm i -g @ferry/server`: the same place beside the CLI.
    await symlink(serverPackage, join(modules, "@ferry", "server"), "dir");
    server = await startServer(home, 120_000, {}, work, bin);
    try {
      // `server start` saved the 'local' profile in this home: the installed CLI uses it.
      const pools = await ferry(["work-pool", "ls", "--json"], { home, bin, cwd: work });
      expect(pools).toMatchObject({ code: 0 });
      expect(JSON.parse(pools.stdout)).toEqual([]);

      // A deploy with a build section loads the bundled dockerode; with no Docker engine there, its error
      // is the engine's connection, not a module the bundle lost.
      expect(await ferry(["work-pool", "create", "managed", "--type", "ferry:managed"], { home, bin, cwd: work })).toMatchObject({ code: 0 });
      await writeFile(
        join(work, "ferry.yaml"),
        "source: { git_url: https://github.com/acme/flows.git, branch: main }\nbuild: { image: 127.0.0.1:9/acme/flows:v1 }\n" +
          "deployments:\n  - name: hello\n    entrypoint: flow.py:hello\n    work_pool: { name: managed }\n",
      );
      await writeFile(join(work, "flow.py"), "def hello():\n    return 1\n");
      await writeFile(join(work, "requirements.txt"), "");
      const deploy = await ferry(["deploy"], { home, bin, cwd: work, env: { DOCKER_HOST: "tcp://127.0.0.1:7" } });
      expect(deploy.code, deploy.stderr).not.toBe(0);
      expect(deploy.stderr).toMatch(/127\.0\.0\.1:7/);
      expect(deploy.stderr).not.toMatch(/is not defined|Cannot find (module|package)/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
