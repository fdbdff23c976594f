import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isFerryError } from "../errors.js";
import { newId } from "../ids.js";
import { ENGINE_ENV, WARM_ENGINE_READY, type RunnerBackend, type RunnerExit, type RunnerLaunchSpec, type RunnerWarmSpec } from "../runner.js";

/** What the scripted test program does, read from `RUNNER_TEST_ENV.behaviour` in its environment. */
export type RunnerTestBehaviour = "exit-0" | "exit-3" | "sleep" | "allocate-over-limit" | "print-env";

export const RUNNER_TEST_ENV = {
  behaviour: "FERRY_TEST_BEHAVIOUR",
  /** How much `allocate-over-limit` allocates, in MiB. */
  allocateMib: "FERRY_TEST_ALLOCATE_MIB",
  /** A value `print-env` must echo back, and the name of the file it leaves in the cache. */
  marker: "FERRY_TEST_MARKER",
} as const;

/** The memory limit of `allocate-over-limit` test specifications, and what their program allocates past it. */
export const RUNNER_TEST_MEMORY = { limitMib: 64, allocateMib: 200, defaultMib: 256 } as const;

/**
 * The scripted program a harness runs instead of the engine, in Python (for images) and JavaScript (for
 * `node -e`). Lines start with `ferry-test:` so the suite can find them among a runtime's own output.
 * - `exit-0`: prints `ferry-test: done`, exits 0;
 * - `exit-3`: prints `ferry-test: line 1` … `line 120`, `ferry-test: on stderr` on stderr, then
 *   `ferry-test: last line`, exits 3;
 * - `sleep`: sleeps ten minutes, ended by SIGTERM;
 * - `allocate-over-limit`: touches `FERRY_TEST_ALLOCATE_MIB` MiB, then holds it for a minute (a
 *   backend that samples memory must see it), exits 0 if nothing killed it;
 * - `print-env`: prints `env: NAME=value` for each variable and `cache: NAME` for each file in
 *   `FERRY_CACHE_DIR`, then creates a file named `FERRY_TEST_MARKER` there, exits 0.
 * Started warm (`FERRY_ENGINE_WARM=1`), a program first reads its hand-off line on stdin and takes the
 * environment in it as its whole environment, as the engine does.
 */
export const RUNNER_TEST_PROGRAMS = {
  python: `
import json, os, sys, time
if os.environ.get("${ENGINE_ENV.warm}") == "1":
    print("${WARM_ENGINE_READY}", flush=True)
    handoff = json.loads(sys.stdin.readline())
    os.environ.clear()
    os.environ.update(handoff["env"])
behaviour = os.environ.get("${RUNNER_TEST_ENV.behaviour}", "exit-0")
def say(line, stream=sys.stdout):
    stream.write(line + "\\n")
    stream.flush()
say("ferry-test: started " + behaviour)
if behaviour == "exit-0":
    say("ferry-test: done")
    sys.exit(0)
elif behaviour == "exit-3":
    for i in range(1, 121):
        say("ferry-test: line %d" % i)
    time.sleep(0.1)
    say("ferry-test: on stderr", sys.stderr)
    time.sleep(0.1)
    say("ferry-test: last line")
    sys.exit(3)
elif behaviour == "sleep":
    time.sleep(600)
elif behaviour == "allocate-over-limit":
    chunks = []
    for _ in range(int(os.environ.get("${RUNNER_TEST_ENV.allocateMib}", "200")) // 8):
        chunks.append(b"\\x01" * (8 << 20))
    say("ferry-test: allocated")
    time.sleep(60)
elif behaviour == "print-env":
    for name in sorted(os.environ):
        say("env: %s=%s" % (name, os.environ[name]))
    cache = os.environ["${ENGINE_ENV.cacheDir}"]
    for name in sorted(os.listdir(cache)):
        say("cache: " + name)
    open(os.path.join(cache, os.environ["${RUNNER_TEST_ENV.marker}"]), "w").close()
else:
    say("ferry-test: unknown behaviour " + behaviour, sys.stderr)
    sys.exit(64)
`,
  node: `
const fs = require("node:fs");
const path = require("node:path");
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
if (process.env.${ENGINE_ENV.warm} === "1") {
  fs.writeSync(1, "${WARM_ENGINE_READY}\\n");
  let text = "";
  const buffer = Buffer.alloc(65536);
  while (!text.includes("\\n")) {
    let n = 0;
    try { n = fs.readSync(0, buffer); } catch (e) { if (e.code === "EAGAIN") { pause(20); continue; } throw e; }
    if (n === 0) process.exit(70);
    text += buffer.toString("utf8", 0, n);
  }
  const env = JSON.parse(text.slice(0, text.indexOf("\\n"))).env;
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
}
const behaviour = process.env.${RUNNER_TEST_ENV.behaviour} || "exit-0";
const say = (line, fd = 1) => fs.writeSync(fd, line + "\\n");
say("ferry-test: started " + behaviour);
if (behaviour === "exit-0") {
  say("ferry-test: done");
  process.exit(0);
} else if (behaviour === "exit-3") {
  for (let i = 1; i <= 120; i++) say("ferry-test: line " + i);
  pause(100);
  say("ferry-test: on stderr", 2);
  pause(100);
  say("ferry-test: last line");
  process.exit(3);
} else if (behaviour === "sleep") {
  setTimeout(() => {}, 600000);
} else if (behaviour === "allocate-over-limit") {
  const chunks = [];
  const mib = Number(process.env.${RUNNER_TEST_ENV.allocateMib} || "200");
  for (let i = 0; i < mib / 8; i++) chunks.push(Buffer.alloc(8 << 20, 1));
  say("ferry-test: allocated");
  setTimeout(() => chunks.length, 60000);
} else if (behaviour === "print-env") {
  for (const name of Object.keys(process.env).sort()) say("env: " + name + "=" + process.env[name]);
  const cache = process.env.${ENGINE_ENV.cacheDir};
  for (const name of fs.readdirSync(cache).sort()) say("cache: " + name);
  fs.writeFileSync(path.join(cache, process.env.${RUNNER_TEST_ENV.marker}), "");
} else {
  say("ferry-test: unknown behaviour " + behaviour, 2);
  process.exit(64);
}
`,
} as const;

/**
 * A launch spec for a new flow run whose test program does `behaviour`: what most harnesses' `specFor`
 * returns, with their image and a cache key whose volume or directory their cleanup removes.
 */
export function runnerTestSpec(behaviour: RunnerTestBehaviour, base: { image: string; cacheKey: string; workspaceId?: string }): RunnerLaunchSpec {
  return {
    flowRunId: newId(),
    workspaceId: base.workspaceId ?? "conformance-workspace",
    image: base.image,
    env: {
      [RUNNER_TEST_ENV.behaviour]: behaviour,
      [RUNNER_TEST_ENV.allocateMib]: String(RUNNER_TEST_MEMORY.allocateMib),
      [RUNNER_TEST_ENV.marker]: `marker-${randomBytes(6).toString("hex")}`,
    },
    memoryMib: behaviour === "allocate-over-limit" ? RUNNER_TEST_MEMORY.limitMib : RUNNER_TEST_MEMORY.defaultMib,
    cpus: 1,
    cacheKey: base.cacheKey,
  };
}

export interface RunnerConformanceHarness {
  backend: RunnerBackend;
  /**
   * A spec for a new flow run (a new `flowRunId` on each call) whose instance runs the test program
   * (`RUNNER_TEST_PROGRAMS`) with `behaviour`; `runnerTestSpec` builds one.
   */
  specFor(behaviour: RunnerTestBehaviour): RunnerLaunchSpec;
  /** How long one case may take on this backend; default 60 s. */
  timeoutMs?: number;
  /** Runs after each case, once the suite has removed the instances it started. */
  cleanup?: () => Promise<void> | void;
}

/**
 * The behaviour every RunnerBackend owes the managed dispatcher. Each backend's test file is one call
 * of it; `setup` runs before every case.
 */
export function describeRunnerConformance(name: string, setup: () => Promise<RunnerConformanceHarness>): void {
  describe(`${name}: RunnerBackend conformance`, () => {
    const withHarness = (fn: (h: RunnerConformanceHarness, started: (id: string) => string) => Promise<void>) => async () => {
      const harness = await setup();
      const ids = new Set<string>();
      const failures: unknown[] = [];
      try {
        await fn(harness, (id) => {
          ids.add(id);
          return id;
        });
      } catch (error) {
        failures.push(error);
      }
      // Clean up whatever happened, and report a cleanup failure without hiding the case's own.
      try {
        for (const id of ids) await harness.backend.remove(id);
        await harness.cleanup?.();
      } catch (error) {
        failures.push(error);
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `the case failed, and so did its cleanup: ${failures.map(String).join("; ")}`);
    };
    const timeout = 120_000;

    it("declares a name and whether it isolates runs", withHarness(async ({ backend }) => {
      expect(backend.name).toMatch(/^[a-z0-9-]+$/);
      expect(typeof backend.isolated).toBe("boolean");
    }), timeout);

    it("runs an instance to exit code 0, with its start before its end", withHarness(async (h, started) => {
      const result = await h.backend.start(h.specFor("exit-0"));
      const id = started(result.id);
      expect(id.length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(result.startedAt))).toBe(false);
      const exit = await waitWithin(h, id);
      expect(exit).toMatchObject({ exitCode: 0, oomKilled: false });
      expect(Date.parse(exit.startedAt)).toBeLessThanOrEqual(Date.parse(exit.finishedAt));
      expect(exit.tail).toContain("ferry-test: done");
    }), timeout);

    it("reports a non-zero exit code", withHarness(async (h, started) => {
      const id = started((await h.backend.start(h.specFor("exit-3"))).id);
      expect(await waitWithin(h, id)).toMatchObject({ exitCode: 3, oomKilled: false });
    }), timeout);

    it("keeps the last output lines of both streams in tail, not the whole output", withHarness(async (h, started) => {
      const id = started((await h.backend.start(h.specFor("exit-3"))).id);
      const { tail } = await waitWithin(h, id);
      expect(tail.filter((l) => l.trim()).at(-1)).toBe("ferry-test: last line");
      expect(tail).toContain("ferry-test: on stderr");
      expect(tail).toContain("ferry-test: line 120");
      expect(tail).not.toContain("ferry-test: line 1");
      expect(tail.length).toBeLessThanOrEqual(100);
    }), timeout);

    it("starts one instance when the same flow run is started twice, even after it ended", withHarness(async (h, started) => {
      const spec = h.specFor("sleep");
      const [a, b] = await Promise.all([h.backend.start(spec), h.backend.start({ ...spec })]);
      started(a.id);
      expect(b.id).toBe(a.id);
      expect((await h.backend.start({ ...spec })).id).toBe(a.id);
      const mine = (await h.backend.list()).filter((i) => i.flowRunId === spec.flowRunId);
      expect(mine.map((i) => i.id)).toEqual([a.id]);
      await h.backend.stop(a.id, "conformance: end the sleeper");
      const exit = await waitWithin(h, a.id);
      expect((await h.backend.start({ ...spec })).id).toBe(a.id);
      expect(await waitWithin(h, a.id)).toEqual(exit);
    }), timeout);

    it("stops a sleeping instance, and a second stop is harmless", withHarness(async (h, started) => {
      const id = started((await h.backend.start(h.specFor("sleep"))).id);
      await h.backend.stop(id, "conformance: stop");
      const exit = await waitWithin(h, id);
      expect(exit.exitCode).not.toBe(0);
      expect(exit.oomKilled).toBe(false);
      await expect(h.backend.stop(id, "conformance: stop again")).resolves.toBeUndefined();
    }), timeout);

    it("lists instances with their run, workspace and running flag; remove makes them disappear", withHarness(async (h, started) => {
      const sleeper = h.specFor("sleep");
      const quick = h.specFor("exit-0");
      const s = started((await h.backend.start(sleeper)).id);
      const q = started((await h.backend.start(quick)).id);
      await waitWithin(h, q);
      const listed = await h.backend.list();
      expect(listed.find((i) => i.id === s)).toMatchObject({ flowRunId: sleeper.flowRunId, workspaceId: sleeper.workspaceId, running: true });
      expect(listed.find((i) => i.id === q)).toMatchObject({ flowRunId: quick.flowRunId, workspaceId: quick.workspaceId, running: false });
      expect(typeof listed.find((i) => i.id === s)?.startedAt).toBe("string");
      await h.backend.stop(s, "conformance: list");
      await h.backend.remove(s);
      await h.backend.remove(q);
      const after = (await h.backend.list()).map((i) => i.id);
      expect(after).not.toContain(s);
      expect(after).not.toContain(q);
      await expect(h.backend.remove(q)).resolves.toBeUndefined();
      await expectNotFound(h.backend.wait(q));
    }), timeout);

    it("passes the env, with FERRY_CACHE_DIR shared by the workspace's runs of the same cache key only", withHarness(async (h, started) => {
      const first = h.specFor("print-env");
      const second = { ...h.specFor("print-env"), cacheKey: first.cacheKey };
      const other = { ...h.specFor("print-env"), cacheKey: `${first.cacheKey}-other` };
      const marker = first.env[RUNNER_TEST_ENV.marker]!;
      const one = await waitWithin(h, started((await h.backend.start(first)).id));
      expect(one.exitCode).toBe(0);
      expect(one.tail).toContain(`env: ${RUNNER_TEST_ENV.marker}=${marker}`);
      expect(one.tail.some((l) => /^env: FERRY_CACHE_DIR=\S+/.test(l))).toBe(true);
      const two = await waitWithin(h, started((await h.backend.start(second)).id));
      expect(two.tail).toContain(`cache: ${marker}`);
      const three = await waitWithin(h, started((await h.backend.start(other)).id));
      expect(three.exitCode).toBe(0);
      expect(three.tail).not.toContain(`cache: ${marker}`);
    }), timeout);

    it("never shares a cache between workspaces, even for the same cache key", withHarness(async (h, started) => {
      const first = h.specFor("print-env");
      const otherWorkspace = { ...h.specFor("print-env"), cacheKey: first.cacheKey, workspaceId: `${first.workspaceId}-other` };
      const marker = first.env[RUNNER_TEST_ENV.marker]!;
      expect((await waitWithin(h, started((await h.backend.start(first)).id))).exitCode).toBe(0);
      const other = await waitWithin(h, started((await h.backend.start(otherWorkspace)).id));
      expect(other.exitCode).toBe(0);
      expect(other.tail).not.toContain(`cache: ${marker}`);
    }), timeout);

    it("reports an instance killed for going over its memory limit as oomKilled", withHarness(async (h, started) => {
      const spec = h.specFor("allocate-over-limit");
      const id = started((await h.backend.start(spec)).id);
      const exit = await waitWithin(h, id);
      expect(exit.oomKilled).toBe(true);
      expect(exit.exitCode).not.toBe(0);
    }), timeout);

    it("stops waiting when the signal aborts, leaving the instance running", withHarness(async (h, started) => {
      const id = started((await h.backend.start(h.specFor("sleep"))).id);
      const controller = new AbortController();
      const waiting = h.backend.wait(id, controller.signal);
      controller.abort(new Error("conformance: abort"));
      await expect(waiting).rejects.toThrow("conformance: abort");
      expect((await h.backend.list()).find((i) => i.id === id)?.running).toBe(true);
      await h.backend.stop(id, "conformance: abort");
    }), timeout);

    it("rejects wait on an unknown id with not_found", withHarness(async (h) => {
      await expectNotFound(h.backend.wait(`unknown-${newId()}`));
    }), timeout);

    const warmIt = (title: string, fn: Parameters<typeof withHarness>[0]) =>
      it(title, withHarness(async (h, started) => {
        if (!h.backend.warm) return; // a backend without warm engines owes none of this
        try {
          await fn(h, started);
        } finally {
          for (const w of await h.backend.warm.list()) await h.backend.warm.discard(w.id);
        }
      }), timeout);

    warmIt("hands a warm engine its run: the run's env and cache, its start at the hand-off, then an instance like any other", async (h, started) => {
      const warm = h.backend.warm!;
      const spec = h.specFor("print-env");
      const engine = await warm.prepare(warmSpecOf(spec));
      expect((await warm.list()).map((w) => w.id)).toContain(engine.id);
      expect((await h.backend.list()).map((i) => i.flowRunId)).not.toContain(spec.flowRunId);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = Date.now();
      const result = await warm.claim(engine.id, spec);
      const id = started(result.id);
      expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect((await warm.list()).map((w) => w.id)).not.toContain(engine.id);
      const exit = await waitWithin(h, id);
      expect(exit.exitCode).toBe(0);
      expect(exit.tail).toContain(`env: ${RUNNER_TEST_ENV.marker}=${spec.env[RUNNER_TEST_ENV.marker]}`);
      expect(exit.tail.some((l) => /^env: FERRY_CACHE_DIR=\S+/.test(l))).toBe(true);
      expect(exit.tail.some((l) => l.startsWith(`env: ${ENGINE_ENV.warm}=`))).toBe(false);
      expect(Date.parse(exit.startedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect((await h.backend.list()).find((i) => i.id === id)).toMatchObject({ flowRunId: spec.flowRunId, workspaceId: spec.workspaceId, running: false });
      // The run's instance is the run's: claiming again, or starting it, finds it.
      expect((await h.backend.start({ ...spec })).id).toBe(id);
      // A warm engine shares its workspace's cache with the runs started cold.
      const cold = await waitWithin(h, started((await h.backend.start({ ...h.specFor("print-env"), cacheKey: spec.cacheKey })).id));
      expect(cold.tail).toContain(`cache: ${spec.env[RUNNER_TEST_ENV.marker]}`);
    });

    warmIt("never hands a warm engine a run of another workspace, cache or limits", async (h, started) => {
      const warm = h.backend.warm!;
      const spec = h.specFor("exit-0");
      const engine = await warm.prepare(warmSpecOf(spec));
      for (const other of [
        { ...spec, workspaceId: `${spec.workspaceId}-other` },
        { ...spec, cacheKey: `${spec.cacheKey}-other` },
        { ...spec, memoryMib: spec.memoryMib + 64 },
      ]) {
        const error = await warm.claim(engine.id, other).then(() => null, (e: unknown) => e);
        expect(isFerryError(error, "conflict"), String(error)).toBe(true);
      }
      expect((await h.backend.list()).map((i) => i.flowRunId)).not.toContain(spec.flowRunId);
      const id = started((await warm.claim(engine.id, spec)).id);
      expect(await waitWithin(h, id)).toMatchObject({ exitCode: 0 });
    });

    warmIt("discards a warm engine: it is gone, and claiming it is not_found", async (h) => {
      const warm = h.backend.warm!;
      const spec = h.specFor("exit-0");
      const engine = await warm.prepare(warmSpecOf(spec));
      await warm.discard(engine.id);
      expect((await warm.list()).map((w) => w.id)).not.toContain(engine.id);
      await expectNotFound(warm.claim(engine.id, spec));
      await expect(warm.discard(engine.id)).resolves.toBeUndefined();
      expect((await h.backend.list()).map((i) => i.flowRunId)).not.toContain(spec.flowRunId);
    });

    warmIt("stops a run a warm engine took, like a started one", async (h, started) => {
      const warm = h.backend.warm!;
      const spec = h.specFor("sleep");
      const engine = await warm.prepare(warmSpecOf(spec));
      const id = started((await warm.claim(engine.id, spec)).id);
      expect((await h.backend.list()).find((i) => i.id === id)).toMatchObject({ flowRunId: spec.flowRunId, running: true });
      await h.backend.stop(id, "conformance: stop a warm-started run");
      const exit = await waitWithin(h, id);
      expect(exit.exitCode).not.toBe(0);
      expect(exit.oomKilled).toBe(false);
    });
  });
}

function warmSpecOf(spec: RunnerLaunchSpec): RunnerWarmSpec {
  const { flowRunId: _run, env: _env, ...rest } = spec;
  return rest;
}

async function waitWithin(h: RunnerConformanceHarness, id: string): Promise<RunnerExit> {
  const ms = h.timeoutMs ?? 60_000;
  const signal = AbortSignal.timeout(ms);
  return h.backend.wait(id, signal).catch((error: unknown) => {
    if (signal.aborted) throw new Error(`instance ${id} did not exit within ${ms} ms`, { cause: error });
    throw error;
  });
}

async function expectNotFound(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => new Error("expected a not_found rejection, got a result"),
    (e: unknown) => e,
  );
  expect(isFerryError(error, "not_found"), String(error)).toBe(true);
}
