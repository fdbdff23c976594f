import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireDataDirLock, DataDirLockedError } from "./data-dir-lock.js";

describe("acquireDataDirLock", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-lock-"));
    file = join(dir, "store.lock");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("holds the directory until released, then lets the next owner in", () => {
    const lock = acquireDataDirLock(file);
    expect(JSON.parse(readFileSync(file, "utf8")).pid).toBe(process.pid);
    expect(() => acquireDataDirLock(file)).toThrow(DataDirLockedError);
    lock.release();
    expect(existsSync(file)).toBe(false);
    acquireDataDirLock(file).release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses while another live process holds it, naming that process", () => {
    writeFileSync(file, JSON.stringify({ pid: 4242, token: "theirs" }));
    const error = (() => {
      try {
        acquireDataDirLock(file, (pid) => pid === 4242);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).pid).toBe(4242);
    expect(JSON.parse(readFileSync(file, "utf8")).token).toBe("theirs");
  });

  it("takes over a lock left by a process that died, or a garbage file", () => {
    writeFileSync(file, JSON.stringify({ pid: 4242, token: "dead" }));
    const lock = acquireDataDirLock(file, () => false);
    expect(JSON.parse(readFileSync(file, "utf8")).pid).toBe(process.pid);
    lock.release();
    writeFileSync(file, "not json");
    acquireDataDirLock(file, () => false).release();
    expect(existsSync(file)).toBe(false);
  });

  it("does not remove a lock another process took over after it", () => {
    const lock = acquireDataDirLock(file);
    writeFileSync(file, JSON.stringify({ pid: 4242, token: "newer" }));
    lock.release();
    expect(JSON.parse(readFileSync(file, "utf8")).token).toBe("newer");
  });
});
