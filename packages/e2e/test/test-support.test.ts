import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { docker, postgres, registry } from "../../../test-support/services.js";

// The repository's test rules (test-support/, listed by every vitest config): a suite whose service is
// missing is skipped saying why, and with CI set any skip fails the run. Both must be able to fail, or
// they prove nothing: the checks are run against servers made here, and vitest runs small test files
// with the reporter, with and without CI.
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const VITEST = join(REPO, "node_modules", "vitest", "vitest.mjs");

const scratch: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-test-support-"));
  scratch.push(dir);
  return dir;
}

/** An HTTP server answering `routes` (path -> status), on a TCP port or a unix socket. */
async function answering(routes: Record<string, number>, socketPath?: string): Promise<string> {
  const server = createServer((req, res) => {
    res.statusCode = routes[req.url ?? ""] ?? 404;
    res.end("{}");
  });
  servers.push(server);
  await new Promise<void>((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(0, "127.0.0.1", resolve)));
  return socketPath ?? `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the service checks", () => {
  it("skip PostgreSQL's suites without FERRY_TEST_DATABASE_URL, saying how to get one", () => {
    vi.stubEnv("FERRY_TEST_DATABASE_URL", "");
    expect(postgres()).toEqual({ skip: true, meta: { skipReason: expect.stringMatching(/^PostgreSQL: set FERRY_TEST_DATABASE_URL=postgres:.*bash \.ci\/run/) } });
    vi.stubEnv("FERRY_TEST_DATABASE_URL", "postgres://ferry:ferry@127.0.0.1:5432/ferry_test");
    expect(postgres()).toEqual({ skip: false, meta: {} });
  });

  it("skip Docker's suites when no engine answers at DOCKER_HOST, or an image is missing, naming how to build it", async () => {
    vi.stubEnv("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    expect((await docker()).meta.skipReason).toMatch(/^Docker: no engine answers at unix:\/\/\/nonexistent\/docker\.sock \(.*ENOENT.*\); bash scripts\/docker-up\.sh starts one/);

    const socket = join(tempDir(), "docker.sock");
    await answering({ "/_ping": 200, "/images/ferry-base%3Abookworm/json": 200 }, socket);
    vi.stubEnv("DOCKER_HOST", `unix://${socket}`);
    expect(await docker({ images: ["ferry-base:bookworm"] })).toEqual({ skip: false, meta: {} });
    expect((await docker({ images: ["ferry-base:bookworm", "ferry-engine:latest"] })).meta.skipReason).toMatch(
      /^Docker: the image ferry-engine:latest is missing \(HTTP 404\); build it with bash scripts\/build-images\.sh/,
    );
  });

  it("skip the registry's suites unless FERRY_TEST_REGISTRY answers, saying how to start one", async () => {
    vi.stubEnv("FERRY_TEST_REGISTRY", "");
    expect((await registry()).meta.skipReason).toMatch(/^image registry: FERRY_TEST_REGISTRY is not set; export FERRY_TEST_REGISTRY="\$\(bash scripts\/registry-up\.sh\)"/);
    const closed = await answering({});
    await new Promise((resolve) => servers.pop()!.close(resolve));
    vi.stubEnv("FERRY_TEST_REGISTRY", closed);
    expect((await registry()).meta.skipReason).toMatch(new RegExp(`^image registry: nothing answers at ${closed}`));
    vi.stubEnv("FERRY_TEST_REGISTRY", await answering({ "/v2/": 200 }));
    expect(await registry()).toEqual({ skip: false, meta: {} });
  });
});

describe("the skips reporter", () => {
  /** Runs vitest with the reporter on these test files, with CI as given (unset: absent). */
  function run(files: Record<string, string>, ci?: string): { code: number | null; output: string } {
    const dir = tempDir();
    symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
    const config = `export default { test: { include: ["*.check.ts"], reporters: ["default", ${JSON.stringify(join(REPO, "test-support", "skips-reporter.js"))}] } };\n`;
    writeFileSync(join(dir, "vitest.config.mjs"), config);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text.replaceAll("SERVICES", JSON.stringify(join(REPO, "test-support", "services.js"))));
    }
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, CI: ci };
    const result = spawnSync(process.execPath, [VITEST, "run", "--root", dir], { encoding: "utf8", env, timeout: 120_000 });
    return { code: result.status, output: result.stdout + result.stderr };
  }

  const missingService = {
    "needs-thing.check.ts": `import { describe, expect, it } from "vitest";
import { serviceCheck } from SERVICES;
describe("with the thing", serviceCheck("Thing: set THING_URL (bash .ci/run starts one)"), () => {
  it("reads it", () => expect(1).toBe(1));
  it("writes it", () => expect(1).toBe(1));
});
it("needs nothing", () => expect(1).toBe(1));
`,
  };

  it("fails a run with CI set when a suite is skipped, listing the tests and the reason", () => {
    const { code, output } = run(missingService, "true");
    expect(code, output).not.toBe(0);
    expect(output).toContain("needs-thing.check.ts: 2 skipped: Thing: set THING_URL (bash .ci/run starts one)");
    expect(output).toContain("- with the thing > reads it");
    expect(output).toContain("- with the thing > writes it");
    expect(output).toContain("CI is set, and CI provides every service: a skipped test fails the run.");
  });

  it("passes the same run without CI, printing the reason once for the file", () => {
    for (const ci of [undefined, "false"]) {
      const { code, output } = run(missingService, ci);
      expect(code, output).toBe(0);
      expect(output.split("Thing: set THING_URL")).toHaveLength(2);
      expect(output).not.toContain("- with the thing > reads it");
    }
  });

  it("fails with CI set on a todo, a bare it.skip and a ctx.skip, each with what it says", () => {
    const { code, output } = run(
      {
        "others.check.ts": `import { it } from "vitest";
it.todo("comes later");
it.skip("was turned off", () => undefined);
it("skips itself", (ctx) => ctx.skip("the fixture says so"));
`,
      },
      "true",
    );
    expect(code, output).not.toBe(0);
    expect(output).toContain("others.check.ts: 1 skipped: todo");
    expect(output).toMatch(/others\.check\.ts: 1 skipped: no reason given.*\n\s+- was turned off/);
    expect(output).toContain("others.check.ts: 1 skipped: the fixture says so");
  });

  it("passes a run with CI set when nothing is skipped, and says nothing", () => {
    const { code, output } = run({ "fine.check.ts": 'import { expect, it } from "vitest";\nit("runs", () => expect(1).toBe(1));\n' }, "true");
    expect(code, output).toBe(0);
    expect(output).not.toContain("skipped or todo");
  });
});
