import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { explain, messages, startEngineHarness, type EngineHarness } from "./support/engine-harness.js";
import { runEngineProcess } from "./support/engine-process.js";
import { makeRepo } from "./support/git-repo.js";
import { startGitHttpServer, type GitHttpServer } from "./support/git-http-server.js";

// The engine as the process backend runs it; the same engine in its image is engine-image.e2e.test.ts.

const FLOW_FILES: Record<string, string> = {
  "flows/hello.py": `import logging

log = logging.getLogger("hello")


def hello(name="world", count=1):
    print(f"hello {name}")
    log.info("logged at info for %s", name)
    log.warning("a warning line")
    return {"greeting": f"hello {name}", "count": count}
`,
  "flows/boom.py": `def check(day):
    if day == "day":
        raise ValueError(f"bad {day}")


def boom(day):
    print("about to fail")
    check(day)
`,
  "flows/tokens.py": `import os


def tokens():
    return sorted(k for k in os.environ if k in ("FERRY_BOOTSTRAP_TOKEN", "FERRY_RUN_TOKEN"))
`,
  "flows/async_flow.py": `import asyncio


async def twice(x):
    await asyncio.sleep(0.01)
    return x * 2
`,
  "flows/uses_six.py": `import six


def version():
    print("six is", six.__version__)
    return six.__version__
`,
  "flows/sleepy.py": `import time


def sleepy():
    print("sleeping", flush=True)
    time.sleep(60)
`,
  "flows/odd_output.py": `import sys


def odd_output():
    out = sys.stdout.buffer
    out.write(b"before the odd lines\\n")
    out.write(b"a NUL \\x00 byte\\n")
    out.write(b"bytes that are not UTF-8: \\xff\\xfe\\xc3(\\n")
    out.write(b"after the odd lines\\n")
    out.flush()
    return {"text": "a NUL \\x00 here"}
`,
  "flows/outage.py": `import os
import time


def outage(marker):
    for i in range(20):
        print(f"before {i}", flush=True)
    n = 0
    while not os.path.exists(marker):
        print(f"waiting {n}", flush=True)
        n += 1
        time.sleep(0.05)
    for i in range(20):
        print(f"after {i}", flush=True)
    return n
`,
  "ts/flow.ts": `import { double } from "./lib/math.js";

export async function main(params: { n: number }): Promise<{ doubled: number }> {
  console.log(\`doubling \${params.n}\`);
  console.error("a line on stderr");
  return { doubled: double(params.n) };
}

export async function explode(): Promise<never> {
  throw new TypeError("no such thing");
}
`,
  "ts/lib/math.ts": `export const double = (n: number): number => n * 2;
`,
  "ts/uses-is-number.ts": `import isNumber from "is-number";

export function check(params: { value: unknown }): { isNumber: boolean } {
  return { isNumber: isNumber(params.value) };
}
`,
  "js/plain.mjs": `export function plus(params) {
  return params.a + 1;
}
`,
  "sub/project/requirements.txt": "six\n",
  "sub/project/flow.py": `import six


def run():
    return {"six": six.__version__, "marker": open("marker.txt").read().strip()}
`,
};

describe("the engine against a real server", () => {
  let h: EngineHarness;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    h = await startEngineHarness(FLOW_FILES);
  });
  afterAll(async () => {
    await h?.stop();
    if (Object.keys(timings).length) console.log(`engine run times (ms): ${JSON.stringify(timings)}`);
  });

  const deploy: EngineHarness["deploy"] = (...args) => h.deploy(...args);
  const runEngine: EngineHarness["runEngine"] = (...args) => h.runEngine(...args);

  it("runs a Python flow to COMPLETED with its return value, its prints and its logging lines", async () => {
    const d = await deploy("hello", "flows/hello.py:hello");
    const o = await runEngine(d, { name: "ferry", count: 2 });
    timings.python = o.exit.ms;
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.exit.code).toBe(0);
    expect(o.run.result).toEqual({ greeting: "hello ferry", count: 2 });
    expect(messages(o.logs, { source: "flow", level: "info" })).toContain("hello ferry");
    expect(messages(o.logs, { source: "flow", level: "info" })).toContain("INFO hello: logged at info for ferry");
    expect(messages(o.logs, { source: "flow", level: "warning" })).toContain("WARNING hello: a warning line");
    expect(messages(o.logs, { source: "engine" }).some((m) => /^cloned file:\/\/.* at [0-9a-f]{12}/.test(m))).toBe(true);
    // Logs were sent before the final state, so the run's history shows RUNNING then COMPLETED.
    const history = await h.client.api.getFlowRunHistory({ params: { id: o.run.id } });
    expect(history.items.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
  });

  it("trades its single-use bootstrap token for the run token at start: the flow sees neither, and the token is spent", async () => {
    const d = await deploy("tokens", "flows/tokens.py:tokens");
    let given: Record<string, string> = {};
    const o = await runEngine(d, {}, { launch: (env) => ((given = env), runEngineProcess(env)) });
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(given.FERRY_BOOTSTRAP_TOKEN).toMatch(/^frb_/);
    expect(given.FERRY_RUN_TOKEN).toBeUndefined();
    expect(o.run.result).toEqual([]);
    // What the run's infrastructure was given is worth nothing now.
    const replay = await rejection(new FerryClient({ apiUrl: h.server.url }).api.exchangeRunBootstrapToken({ body: { bootstrap_token: given.FERRY_BOOTSTRAP_TOKEN! } }));
    expect(replay.message).toMatch(/exchanged already/);
  });

  it("runs with the run token given outright, as when started by hand", async () => {
    const d = await deploy("by-hand", "flows/hello.py:hello");
    const o = await runEngine(d, { name: "hand" }, { credential: "run-token" });
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toEqual({ greeting: "hello hand", count: 1 });
  });

  it("runs nothing when someone else exchanged its bootstrap token first, and the run's log says so", async () => {
    const d = await deploy("stolen", "flows/hello.py:hello");
    const o = await runEngine(d, {}, {
      launch: async (env) => {
        await new FerryClient({ apiUrl: h.server.url }).api.exchangeRunBootstrapToken({ body: { bootstrap_token: env.FERRY_BOOTSTRAP_TOKEN! } });
        return runEngineProcess(env);
      },
    });
    expect(o.exit.code).toBe(1);
    expect(o.exit.output).toMatch(/could not exchange the run's bootstrap token for its run token: the bootstrap token was exchanged already/);
    expect(o.run.state.type).toBe("PENDING");
    expect(messages(o.logs, { source: "ferry", level: "warning" }).some((m) => m.includes("second exchange of this run's bootstrap token was refused"))).toBe(true);
  });

  it("awaits an async Python flow", async () => {
    const d = await deploy("async", "flows/async_flow.py:twice");
    const o = await runEngine(d, { x: 21 });
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toBe(42);
  });

  it("reports FAILED with the exception when the flow raises, and the traceback in the logs at level error", async () => {
    const d = await deploy("boom", "flows/boom.py:boom");
    const o = await runEngine(d, { day: "day" });
    expect(o.run.state.type, explain(o)).toBe("FAILED");
    expect(o.run.state.message).toBe("ValueError: bad day");
    expect(o.exit.code).toBe(0);
    const errors = messages(o.logs, { source: "flow", level: "error" });
    expect(errors).toContain("Traceback (most recent call last):");
    expect(errors.some((m) => m.includes('raise ValueError(f"bad {day}")'))).toBe(true);
    expect(errors).toContain("ValueError: bad day");
    expect(messages(o.logs, { source: "flow", level: "info" })).toContain("about to fail");
  });

  it("reports CRASHED naming the function when it is missing", async () => {
    const d = await deploy("no-function", "flows/hello.py:nope");
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("CRASHED");
    expect(o.run.state.message).toMatch(/^function 'nope' was not found in flows\/hello\.py; it defines: hello/);
    expect(o.exit.code).toBe(0);
  });

  it("reports CRASHED naming the file when it is missing, without starting the flow", async () => {
    const d = await deploy("no-file", "flows/x.py:main");
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("CRASHED");
    expect(o.run.state.message).toBe("entrypoint file flows/x.py was not found in the repository");
    const history = await h.client.api.getFlowRunHistory({ params: { id: o.run.id } });
    expect(history.items.map((s) => s.type)).not.toContain("RUNNING");
  });

  it("reports CRASHED with git's words when the clone fails", async () => {
    const d = await deploy("no-repo", "flows/hello.py:hello", { source: { git_url: `file://${join(h.root, "missing-repo")}` } });
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("CRASHED");
    expect(o.run.state.message).toMatch(/^could not clone file:\/\/.*missing-repo: git clone exited with code 128: .*does not appear to be a git repository/s);
  });

  it("clones the exact commit when the source names one", async () => {
    const d = await deploy("at-commit", "flows/hello.py:hello", { source: { git_url: h.repo.url, commit: h.repo.commit } });
    const o = await runEngine(d, { name: "commit" });
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(messages(o.logs, { source: "engine" }).some((m) => m.includes(`at ${h.repo.commit.slice(0, 12)}`))).toBe(true);
  });

  it("runs a TypeScript flow that imports a local module", async () => {
    const d = await deploy("ts", "ts/flow.ts:main");
    const o = await runEngine(d, { n: 21 });
    timings.typescript = o.exit.ms;
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toEqual({ doubled: 42 });
    expect(messages(o.logs, { source: "flow", level: "info" })).toEqual(expect.arrayContaining(["doubling 21", "a line on stderr"]));
  });

  it("reports FAILED when a TypeScript flow throws, with the stack at level error", async () => {
    const d = await deploy("ts-throws", "ts/flow.ts:explode");
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("FAILED");
    expect(o.run.state.message).toBe("TypeError: no such thing");
    const errors = messages(o.logs, { source: "flow", level: "error" });
    expect(errors[0]).toBe("ERROR TypeError: no such thing");
    // Source maps point the stack at the TypeScript file.
    expect(errors.some((m) => /^\s+at explode .*ts\/flow\.ts:\d+/.test(m))).toBe(true);
  });

  it("imports a .mjs flow directly", async () => {
    const d = await deploy("mjs", "js/plain.mjs:plus");
    const o = await runEngine(d, { a: 1 });
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toBe(2);
  });

  it("installs pip_packages into a cached environment, and a second run uses it without installing", async () => {
    const cacheDir = join(h.root, "cache-pip");
    const d = await deploy("six", "flows/uses_six.py:version", { job_variables: { pip_packages: ["six"] } });
    const first = await runEngine(d, {}, { env: { FERRY_CACHE_DIR: cacheDir } });
    expect(first.run.state.type, explain(first)).toBe("COMPLETED");
    expect(first.run.result).toMatch(/^\d+\.\d+/);
    expect(messages(first.logs, { source: "engine" }).some((m) => /^installing pip: six into the cached environment/.test(m))).toBe(true);
    expect(messages(first.logs, { source: "flow" }).some((m) => m.startsWith("six is "))).toBe(true);

    const second = await runEngine(d, {}, { env: { FERRY_CACHE_DIR: cacheDir } });
    expect(second.run.state.type, explain(second)).toBe("COMPLETED");
    expect(second.run.result).toBe(first.run.result);
    const engineLines = messages(second.logs, { source: "engine" });
    expect(engineLines.some((m) => /^using the cached environment [0-9a-f]+ \(pip: six\): nothing to install/.test(m))).toBe(true);
    expect(engineLines.some((m) => m.startsWith("installing"))).toBe(false);
    timings.pythonWithSixFirst = first.exit.ms;
    timings.pythonWithSixCached = second.exit.ms;
    expect(second.exit.ms).toBeLessThan(first.exit.ms);
  });

  it("installs once when two runs with the same packages race on one cache", async () => {
    const cacheDir = join(h.root, "cache-race");
    const d = await deploy("six-race", "flows/uses_six.py:version", { job_variables: { pip_packages: ["six"] } });
    const [a, b] = await Promise.all([runEngine(d, {}, { env: { FERRY_CACHE_DIR: cacheDir } }), runEngine(d, {}, { env: { FERRY_CACHE_DIR: cacheDir } })]);
    expect(a.run.state.type, explain(a)).toBe("COMPLETED");
    expect(b.run.state.type, explain(b)).toBe("COMPLETED");
    const lines = [...messages(a.logs, { source: "engine" }), ...messages(b.logs, { source: "engine" })];
    expect(lines.filter((m) => m.startsWith("installing pip: six into the cached environment"))).toHaveLength(1);
    expect(lines.filter((m) => m.startsWith("using the cached environment"))).toHaveLength(1);
  });

  it("installs npm_packages that a TypeScript flow imports, cached for the next run", async () => {
    const cacheDir = join(h.root, "cache-npm");
    const d = await deploy("is-number", "ts/uses-is-number.ts:check", { job_variables: { npm_packages: ["is-number@7.0.0"] } });
    const first = await runEngine(d, { value: 5 }, { env: { FERRY_CACHE_DIR: cacheDir } });
    expect(first.run.state.type, explain(first)).toBe("COMPLETED");
    expect(first.run.result).toEqual({ isNumber: true });
    const second = await runEngine(d, { value: "five" }, { env: { FERRY_CACHE_DIR: cacheDir } });
    expect(second.run.state.type, explain(second)).toBe("COMPLETED");
    expect(second.run.result).toEqual({ isNumber: false });
    expect(messages(second.logs, { source: "engine" }).some((m) => m.startsWith("using the cached environment"))).toBe(true);
    timings.typescriptWithIsNumberFirst = first.exit.ms;
    timings.typescriptWithIsNumberCached = second.exit.ms;
    expect(second.exit.ms).toBeLessThan(first.exit.ms);
  });

  it("stores a flow's output with NUL bytes and bytes that are not UTF-8, each replaced, the lines around them too", async () => {
    const d = await deploy("odd-output", "flows/odd_output.py:odd_output");
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(messages(o.logs, { source: "flow" })).toEqual([
      "before the odd lines",
      "a NUL \uFFFD byte",
      "bytes that are not UTF-8: \uFFFD\uFFFD\uFFFD(",
      "after the odd lines",
    ]);
    expect(o.run.result).toEqual({ text: "a NUL \uFFFD here" });
  });

  it("keeps the flow's lines while the server is away longer than the engine used to retry, and delivers them all in order", async () => {
    const d = await deploy("outage", "flows/outage.py:outage");
    const marker = join(h.root, "outage-over");
    let runId = "";
    const outage = (async () => {
      try {
        for (let i = 0; i < 1200 && !(runId && (await h.allLogs(runId)).some((l) => l.message === "before 19")); i++) await sleep(100);
        await h.stopServer();
        // The engine used to give a batch six attempts over about 8 s, then drop it.
        await sleep(10_000);
        await h.startServerAgain();
      } finally {
        writeFileSync(marker, "");
      }
    })();
    const o = await runEngine(d, { marker }, { onStart: (_pid, id) => (runId = id) });
    await outage;
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    const waited = o.run.result as number;
    expect(waited).toBeGreaterThan(0);
    const expected = [...lines("before", 20), ...lines("waiting", waited), ...lines("after", 20)];
    expect(messages(o.logs, { source: "flow" })).toEqual(expected);
    expect(o.exit.output).toMatch(/could not send log lines to the server, trying again until it takes them/);
    expect(o.exit.output).not.toMatch(/log lines could not be sent/);
  });

  it("runs pull steps: clone, working directory, a shell script and a requirements file", async () => {
    const d = await deploy("steps", "flow.py:run", {
      pull_steps: [
        { git_clone: { repository: h.repo.url, branch: "main" } },
        { set_working_directory: { directory: "sub/project" } },
        { run_shell_script: { script: "echo from-the-script > marker.txt\necho script ran" } },
        { pip_install_requirements: {} },
      ],
    });
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("COMPLETED");
    expect(o.run.result).toMatchObject({ marker: "from-the-script" });
    expect(messages(o.logs, { source: "engine" })).toContain("script ran");
  });

  it("reports CRASHED when a pull step has an option it does not know", async () => {
    const d = await deploy("bad-step", "flows/hello.py:hello", { pull_steps: [{ git_clone: { depth: 1 } }] });
    const o = await runEngine(d);
    expect(o.run.state.type, explain(o)).toBe("CRASHED");
    expect(o.run.state.message).toBe("the deployment's pull steps are invalid: pull step 1 (git_clone): 'depth' is not a known option (known: repository, branch, commit)");
  });

  describe("with a private repository behind HTTP authentication", () => {
    const token = "ghp_TestTokenThatMustNeverBeLogged42";
    let gitServer: GitHttpServer;

    beforeAll(async () => {
      makeRepo(join(h.root, "private", "flows.git"), {
        "flow.py": `def leak():\n    print("the token is ${token}")\n    print("or url-encoded", "${encodeURIComponent(token)}")\n    return "done"\n\n\n` +
          `def leak_long():\n    print("a" * 9990 + "${token}" + "b" * 100)\n    return {"token": "${token}", "nested": ["in ${token} too"]}\n`,
      });
      gitServer = await startGitHttpServer(join(h.root, "private"), { username: "ferry-bot", token });
      await h.client.api.createCredentials({ body: { name: "private-git", type: "git", data: { token, username: "ferry-bot" } } });
    });
    afterAll(async () => {
      await gitServer?.close();
    });

    it("clones with the token, and no log line or message ever shows it", async () => {
      const d = await deploy("private", "flow.py:leak", { source: { git_url: `${gitServer.url}/flows.git`, credentials: "private-git" } });
      const o = await runEngine(d);
      expect(o.run.state.type, explain(o)).toBe("COMPLETED");
      expect(gitServer.requests.some((r) => r.authorized)).toBe(true);
      for (const line of o.logs) expect(line.message).not.toContain(token);
      expect(o.exit.output).not.toContain(token);
      expect(messages(o.logs, { source: "flow" })).toContain("the token is ***");
      expect(messages(o.logs, { source: "flow" })).toContain("or url-encoded ***");
    });

    it("masks the token across the cut of a long line, and in the flow's return value", async () => {
      const d = await deploy("private-long", "flow.py:leak_long", { source: { git_url: `${gitServer.url}/flows.git`, credentials: "private-git" } });
      const o = await runEngine(d);
      expect(o.run.state.type, explain(o)).toBe("COMPLETED");
      expect(o.run.result).toEqual({ token: "***", nested: ["in *** too"] });
      const flow = messages(o.logs, { source: "flow" });
      expect(flow.join("")).toBe(`${"a".repeat(9990)}***${"b".repeat(100)}`);
      expect(flow.every((m) => m.length <= 10_000)).toBe(true);
      expect(o.exit.output).not.toContain(token);
    });

    it("reports CRASHED without the token when the host refuses it", async () => {
      await h.client.api.createCredentials({ body: { name: "wrong-git", type: "git", data: { token: `${token}-wrong`, username: "ferry-bot" } }, });
      const d = await deploy("private-wrong", "flow.py:leak", { source: { git_url: `${gitServer.url}/flows.git`, credentials: "wrong-git" } });
      const o = await runEngine(d);
      expect(o.run.state.type, explain(o)).toBe("CRASHED");
      expect(o.run.state.message).toMatch(/^could not clone http:\/\/127\.0\.0\.1:\d+\/flows\.git: git clone exited with code 128/);
      expect(o.run.state.message).not.toContain(token);
      for (const line of o.logs) expect(line.message).not.toContain(token);
    });
  });

  it("does not start the flow, and reports nothing, when the run is cancelled while it is being set up", async () => {
    // A slow pull step gives the cancel time to land before the engine reports RUNNING. The cancel is
    // sent once the server has the engine's line for that step, not after a fixed delay: the engine must
    // have read its run already (a run CANCELLING before the engine starts is a different case).
    const d = await deploy("cancelled-in-setup", "flows/sleepy.py:sleepy", {
      pull_steps: [{ git_clone: {} }, { run_shell_script: { script: "sleep 3" } }],
    });
    let cancelled: Promise<unknown> = Promise.resolve();
    const o = await runEngine(d, {}, {
      onStart: (_pid, id) => {
        cancelled = (async () => {
          await expect
            .poll(async () => (await h.allLogs(id)).some((l) => l.message.startsWith("pull step 2/2")), { timeout: 20_000, interval: 50 })
            .toBe(true);
          await h.client.api.cancelFlowRun({ params: { id }, body: { reason: "changed my mind" } });
        })();
      },
    });
    await cancelled;
    expect(o.run.state.type, explain(o)).toBe("CANCELLING");
    expect(o.exit.code).toBe(143);
    expect(messages(o.logs, { source: "flow" })).toEqual([]);
    expect(messages(o.logs, { source: "engine" }).join("\n")).toMatch(/cancelled or ended while it was being set up; its flow is not started/);
  });

  it("stops the flow on SIGTERM, sends its logs, and reports nothing", async () => {
    const d = await deploy("sleepy", "flows/sleepy.py:sleepy");
    let runId = "";
    let pid = 0;
    const watcher = (async () => {
      for (let i = 0; i < 600; i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (!runId) continue;
        const logs = await h.allLogs(runId);
        if (logs.some((l) => l.message === "sleeping")) {
          process.kill(pid, "SIGTERM");
          return;
        }
      }
    })();
    const o = await runEngine(d, {}, { onStart: (p, id) => ((pid = p), (runId = id)) });
    await watcher;
    expect(o.exit.code).toBe(143);
    expect(o.exit.ms).toBeLessThan(30_000);
    expect(o.run.state.type).toBe("RUNNING");
    // The flow's process went with the engine.
    expect(processesRunning("flows/sleepy.py")).toEqual([]);
    expect(messages(o.logs, { source: "engine" })).toContain("the engine was told to stop: the flow's process (if it had started) was stopped, and no state is reported");
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix} ${i}`);

/** Command lines of this machine's processes that mention `text`. */
function processesRunning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(text)) found.push(cmdline);
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}
