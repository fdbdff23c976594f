import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheKey, DirLock, envLayout, parsePackageLists, readMarker, writeMarker, type EnvMarker } from "./dep-cache.js";
import { EngineError } from "./errors.js";

describe("parsePackageLists", () => {
  it("reads both lists from the job configuration, absent ones as empty", () => {
    expect(parsePackageLists({ pip_packages: ["pandas>=2", " six "], npm_packages: ["is-number@7"] })).toEqual({ pip: ["pandas>=2", "six"], npm: ["is-number@7"] });
    expect(parsePackageLists({ image: "x" })).toEqual({ pip: [], npm: [] });
    expect(parsePackageLists(null)).toEqual({ pip: [], npm: [] });
  });

  it("refuses entries that would reach pip or npm as options, and says which", () => {
    let error: unknown;
    try {
      parsePackageLists({ pip_packages: ["six", "--index-url=http://evil"], npm_packages: "is-number" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("invalid_packages");
    expect((error as EngineError).message).toContain("pip_packages[1] '--index-url=http://evil' looks like an option");
    expect((error as EngineError).message).toContain("npm_packages must be a list of package names, not string");
  });
});

describe("cacheKey", () => {
  it("is the same for the same packages in any order, with duplicates", () => {
    expect(cacheKey({ pip: ["a", "b"], npm: ["x"] })).toBe(cacheKey({ pip: ["b", "a", "a"], npm: ["x"] }));
  });

  it("differs when a package, a version or the manager differs", () => {
    const keys = new Set([
      cacheKey({ pip: ["six"], npm: [] }),
      cacheKey({ pip: ["six==1.16.0"], npm: [] }),
      cacheKey({ pip: [], npm: ["six"] }),
      cacheKey({ pip: ["six", "requests"], npm: [] }),
    ]);
    expect(keys.size).toBe(4);
    expect(cacheKey({ pip: ["six"], npm: [] })).toMatch(/^[0-9a-f]{24}$/);
  });
});

describe("the cache marker", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-cache-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const marker = (key: string): EnvMarker => ({ key, pip_packages: ["six"], npm_packages: [], created_at: "2026-01-01T00:00:00.000Z", engine_version: "test" });

  it("is absent until written, then read back", async () => {
    const layout = envLayout(dir, "k1");
    expect(await readMarker(layout)).toBeNull();
    mkdirSync(layout.root, { recursive: true });
    await writeMarker(layout, marker("k1"));
    expect(await readMarker(layout)).toEqual(marker("k1"));
  });

  it("does not count when it belongs to other packages or is damaged", async () => {
    const layout = envLayout(dir, "k1");
    mkdirSync(layout.root, { recursive: true });
    await writeMarker(layout, marker("other"));
    expect(await readMarker(layout)).toBeNull();
    writeFileSync(layout.marker, "{ not json");
    expect(await readMarker(layout)).toBeNull();
  });

  it("lays an environment out under envs/KEY, with its lock beside it", () => {
    expect(envLayout("/c", "abc")).toEqual({
      key: "abc",
      root: "/c/envs/abc",
      venv: "/c/envs/abc/venv",
      npmPrefix: "/c/envs/abc/npm",
      marker: "/c/envs/abc/complete.json",
      lock: "/c/envs/abc.lock",
    });
  });
});

describe("DirLock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-lock-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lets one holder in at a time; the next gets in when it is released", async () => {
    const path = join(dir, "envs", "k.lock");
    const order: string[] = [];
    const first = await DirLock.acquire(path);
    let waited = 0;
    const second = DirLock.acquire(path, { retryMs: 5, onWait: () => waited++ }).then((lock) => {
      order.push("second");
      return lock;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push("first releases");
    await first.release();
    const lock = await second;
    expect(order).toEqual(["first releases", "second"]);
    expect(waited).toBe(1);
    await lock.release();
  });

  it("serialises many racing holders", async () => {
    const path = join(dir, "k.lock");
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await DirLock.acquire(path, { retryMs: 2 });
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        await lock.release();
      }),
    );
    expect(most).toBe(1);
  });

  it("takes over a lock whose holder stopped touching it", async () => {
    const path = join(dir, "k.lock");
    mkdirSync(path);
    writeFileSync(join(path, "owner"), "a-dead-run");
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(path, old, old);
    const lock = await DirLock.acquire(path, { staleMs: 60_000, retryMs: 5 });
    expect(readFileSync(join(path, "owner"), "utf8")).toBe(lock.owner);
    await lock.release();
  });

  it("gives up after the timeout with a message that says what to do", async () => {
    const path = join(dir, "k.lock");
    const held = await DirLock.acquire(path);
    let now = 0;
    const attempt = DirLock.acquire(path, { timeoutMs: 1000, retryMs: 1, now: () => now, sleep: async () => void (now += 400) });
    await expect(attempt).rejects.toMatchObject({ code: "cache_lock_timeout" });
    await expect(attempt).rejects.toThrow(/another run installing the same packages .* remove the lock directory if no run is installing/);
    await held.release();
  });

  it("does not remove a lock another run took over", async () => {
    const path = join(dir, "k.lock");
    const mine = await DirLock.acquire(path);
    rmSync(path, { recursive: true });
    const theirs = await DirLock.acquire(path);
    await mine.release();
    expect(readFileSync(join(path, "owner"), "utf8")).toBe(theirs.owner);
    await theirs.release();
  });
});
