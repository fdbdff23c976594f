import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

/**
 * An exclusive lock on the embedded database's directory, held by one process. PGlite itself does not
 * lock its files: two processes opening one directory would both write to it and corrupt it.
 *
 * The lock is a file holding the owner's pid, put in place with link(2), which fails if the file exists
 * and never shows a half-written file. A file left by a process that died is taken over. A pid reused
 * by an unrelated process makes a stale lock look held; the error then names the file to delete.
 */
export interface DataDirLock {
  release(): void;
}

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(`${lockFile} is held by process ${pid}`);
  }
}

interface LockContent {
  pid: number;
  token: string;
}

export function acquireDataDirLock(lockFile: string, isAlive: (pid: number) => boolean = processIsAlive): DataDirLock {
  const mine: LockContent = { pid: process.pid, token: randomUUID() };
  const draft = `${lockFile}.${mine.token}`;
  writeFileSync(draft, JSON.stringify(mine), { mode: 0o600 });
  try {
    // Two attempts: the second after removing a dead owner's file.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(draft, lockFile);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const owner = readOwner(lockFile);
        if (owner && (owner.pid === process.pid || isAlive(owner.pid))) throw new DataDirLockedError(lockFile, owner.pid);
        if (attempt === 0) {
          removeIfPresent(lockFile);
          continue;
        }
        throw new DataDirLockedError(lockFile, owner?.pid ?? 0);
      }
      return {
        release() {
          // Only our own file: never one another process took over after us.
          if (readOwner(lockFile)?.token === mine.token) removeIfPresent(lockFile);
        },
      };
    }
    throw new DataDirLockedError(lockFile, 0);
  } finally {
    removeIfPresent(draft);
  }
}

function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function readOwner(lockFile: string): LockContent | null {
  try {
    const parsed = JSON.parse(readFileSync(lockFile, "utf8")) as Partial<LockContent>;
    return typeof parsed.pid === "number" && typeof parsed.token === "string" ? { pid: parsed.pid, token: parsed.token } : null;
  } catch {
    return null;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
