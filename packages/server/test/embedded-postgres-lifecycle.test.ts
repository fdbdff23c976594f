import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { FerryClient, newId } from "@ferry/core";
import { restoreLibraryLinks } from "../src/store/embedded-postgres.js";
import { openStore } from "../src/store/open-store.js";
import { alive } from "../../../test-support/processes.js";

const FIXTURE = new URL("./fixtures/server-process.mjs", import.meta.url).pathname;

interface Proc {
  child: ChildProcess;
  url: string;
  apiKey: string | null;
  /** Everything it printed so far, stdout and stderr (its log). */
  output(): string;
}

function startProcess(env: Record<string, string>): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${output}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      if (line.startsWith('{"url"')) resolve({ child, ...(JSON.parse(line) as { url: string; apiKey: string | null }), output: () => output });
    });
  });
}

function stop(proc: Proc, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    proc.child.removeAllListeners("exit");
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return resolve(proc.child.exitCode);
    proc.child.once("exit", (code) => resolve(code));
    proc.child.kill(signal);
  });
}

/** The running postmaster of `home` per its pid file: pid, and the address it listens on. */
function postmaster(home: string): { pid: number; port: number; listen: string } {
  const lines = readFileSync(join(home, "data", "postgres", "postmaster.pid"), "utf8").split("\n");
  return { pid: Number(lines[0]), port: Number(lines[3]), listen: lines[5]!.trim() };
}

async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe("the embedded PostgreSQL store, run by a server process", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setup() {
    const home = mkdtempSync(join(tmpdir(), "ferry-epg-"));
    const pids: number[] = [];
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    // Whatever a failed test leaves running is stopped here.
    cleanups.push(() => pids.forEach((pid) => alive(pid) && process.kill(pid, "SIGQUIT")));
    const env = { FERRY_HOME: home, FERRY_PORT: "0", FERRY_LOG_LEVEL: "warn", FERRY_STORE: "embedded-postgres", FERRY_RUNNER: "none" };
    const start = async () => {
      const p = await startProcess(env);
      cleanups.push(() => stop(p, "SIGKILL"));
      pids.push(postmaster(home).pid);
      return p;
    };
    return { home, start };
  }

  it("keeps its data in FERRY_HOME across a clean stop and start, and leaves no postgres process behind", async () => {
    const { home, start } = setup();
    const first = await start();
    const pm = postmaster(home);
    expect(pm.listen).toBe("127.0.0.1");
    expect(statSync(join(home, "data", "postgres.password")).mode & 0o777).toBe(0o600);
    // Its settings, read from the cluster itself with the password Ferry keeps.
    const password = readFileSync(join(home, "data", "postgres.password"), "utf8").trim();
    const db = new pg.Client({ host: "127.0.0.1", port: pm.port, user: "ferry", password, database: "ferry" });
    await db.connect();
    try {
      const show = async (name: string) => (await db.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
      expect(await show("autovacuum")).toBe("on");
      expect(await show("listen_addresses")).toBe("127.0.0.1");
      expect(await show("unix_socket_directories")).toBe("");
    } finally {
      await db.end();
    }
    const client = new FerryClient({ apiUrl: first.url, apiKey: first.apiKey! });
    await client.api.createWorkPool({ body: { name: "kept", type: "ferry:managed" } });

    expect(await stop(first, "SIGTERM")).toBe(0);
    expect(alive(pm.pid)).toBe(false);
    expect(existsSync(join(home, "data", "postgres", "postmaster.pid"))).toBe(false);

    const second = await start();
    expect(postmaster(home).pid).not.toBe(pm.pid);
    const again = new FerryClient({ apiUrl: second.url, apiKey: first.apiKey! });
    const pools = await again.api.listWorkPools({});
    expect(pools.items.map((p) => p.name)).toContain("kept");
    const pid = postmaster(home).pid;
    expect(await stop(second, "SIGTERM")).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it("recovers from a postmaster left running by a server killed with SIGKILL", async () => {
    const { home, start } = setup();
    const first = await start();
    const client = new FerryClient({ apiUrl: first.url, apiKey: first.apiKey! });
    await client.api.createWorkPool({ body: { name: "before-crash", type: "ferry:managed" } });
    const orphan = postmaster(home).pid;
    await stop(first, "SIGKILL");
    // Nothing stops the child of a killed parent: the next start must.
    expect(alive(orphan)).toBe(true);

    const second = await start();
    expect(await gone(orphan)).toBe(true);
    expect(second.output()).toContain(`stopping the embedded PostgreSQL (process ${orphan}) left running by a server that did not shut down`);
    const again = new FerryClient({ apiUrl: second.url, apiKey: first.apiKey! });
    expect((await again.api.listWorkPools({})).items.map((p) => p.name)).toContain("before-crash");
    const pid = postmaster(home).pid;
    expect(pid).not.toBe(orphan);
    expect(await stop(second, "SIGTERM")).toBe(0);
    expect(alive(pid)).toBe(false);
  });
});

describe("the embedded PostgreSQL's library links", () => {
  it("are made from the package's list when npm held its postinstall back, and left alone when present", () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-epg-links-"));
    try {
      mkdirSync(join(dir, "native", "lib"), { recursive: true });
      writeFileSync(join(dir, "native", "lib", "libpq.so.5.18"), "library");
      writeFileSync(
        join(dir, "native", "pg-symlinks.json"),
        JSON.stringify([
          { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so.5" },
          { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so" },
        ]),
      );
      restoreLibraryLinks(dir);
      expect(readlinkSync(join(dir, "native", "lib", "libpq.so.5"))).toBe("libpq.so.5.18");
      expect(readFileSync(join(dir, "native", "lib", "libpq.so"), "utf8")).toBe("library");
      restoreLibraryLinks(dir);
      expect(lstatSync(join(dir, "native", "lib", "libpq.so")).isSymbolicLink()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const asRoot = process.getuid?.() === 0;
const userNamespaces = spawnSync("unshare", ["--user", "--map-user=1000", "--map-group=1000", "--", "true"]).status === 0;

/** Processes whose command line names `dir` (a postmaster and its children, or an initdb). */
function processesUsing(dir: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!asRoot || !userNamespaces)("the embedded PostgreSQL started as root, in a user namespace", () => {
  it("initialises, serves, stops and restarts on its data in a home under a 0700 folder, leaving no process behind", async () => {
    // mkdtemp makes `closed` 0700: no other user may enter it, as /root.
    const closed = mkdtempSync(join(tmpdir(), "ferry-epg-closed-"));
    try {
      const data = join(closed, "ferry", "data");
      const open = () => openStore({ databaseUrl: null, dataDir: data, embedded: "postgres" });
      const first = await open();
      const pid = postmaster(join(closed, "ferry")).pid;
      try {
        // PostgreSQL runs as uid 1000 inside a namespace that maps it to root outside.
        expect(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["1000", "0", "1"]);
        expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^Uid:\s+0\s/m);
        await first.createWorkspace({ id: newId(), name: "kept", tier: "free", limits_override: {} });
        expect(await first.countWorkspaces()).toBe(1);
      } finally {
        await first.close();
      }
      expect(alive(pid)).toBe(false);
      expect(processesUsing(data)).toEqual([]);
      // Nothing was opened up for another user, and what PostgreSQL wrote belongs to root outside.
      expect(statSync(closed).mode & 0o777).toBe(0o700);
      expect(statSync(join(data, "postgres")).uid).toBe(0);
      expect(statSync(join(data, "postgres", "PG_VERSION")).uid).toBe(0);

      const second = await open();
      const again = postmaster(join(closed, "ferry")).pid;
      try {
        expect(again).not.toBe(pid);
        expect(await second.countWorkspaces()).toBe(1);
      } finally {
        await second.close();
      }
      expect(alive(again)).toBe(false);
      expect(processesUsing(data)).toEqual([]);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });
});

// Without user namespaces, root runs PostgreSQL as another user, which must reach the data folder.
describe.skipIf(!asRoot)("the embedded PostgreSQL started as root without user namespaces", () => {
  it("refuses a FERRY_HOME its own user cannot reach, naming the folder and the fixes, and starts nothing", async () => {
    const closed = mkdtempSync(join(tmpdir(), "ferry-epg-closed-"));
    try {
      const home = join(closed, "ferry", "data");
      const error = await openStore({ databaseUrl: null, dataDir: home, embedded: "postgres", userNamespaces: false }).then(
        async (store) => {
          await store.close();
          return null;
        },
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(new RegExp(`runs as user '(postgres|nobody)' \\(not as root\\), which cannot enter ${closed}; set FERRY_HOME`));
      // The default store failing names the other one, which needs no user or binaries.
      expect(error?.message).toMatch(/or use the in-process store instead: FERRY_STORE=pglite \(ferry server start --store pglite\)$/);
      expect(existsSync(join(home, "postgres"))).toBe(false);
      expect(processesUsing(home)).toEqual([]);
      // The lock is released: nothing holds the home.
      expect(existsSync(join(home, "ferry-store.lock"))).toBe(false);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });
});

describe("the embedded PostgreSQL's first start", () => {
  it("discards what an initdb killed mid-way left, and makes the cluster anew; a damaged cluster's error says how to start afresh", async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-epg-initdb-"));
    try {
      const data = join(home, "data");
      // initdb writes PG_VERSION first: its staging folder looks like a cluster, but is half made.
      mkdirSync(join(data, "postgres.initdb", "base"), { recursive: true, mode: 0o700 });
      writeFileSync(join(data, "postgres.initdb", "PG_VERSION"), "18\n");
      const store = await openStore({ databaseUrl: null, dataDir: data, embedded: "postgres" });
      try {
        expect(await store.countWorkspaces()).toBe(0);
      } finally {
        await store.close();
      }
      expect(existsSync(join(data, "postgres.initdb"))).toBe(false);
      expect(existsSync(join(data, "postgres", "global", "pg_control"))).toBe(true);

      // A cluster damaged some other way is not thrown away: the error names the folder and the fix.
      rmSync(join(data, "postgres", "global", "pg_control"));
      const error = await openStore({ databaseUrl: null, dataDir: data, embedded: "postgres" }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toContain(`move it away (mv ${join(data, "postgres")} ${join(data, "postgres")}.broken): the next start makes a new one`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
