import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { EngineError } from "./errors.js";

/** The packages a run's job asks for. */
export interface PackageLists {
  pip: string[];
  npm: string[];
}

/** Bump when the layout of a cached environment changes, so old ones are not reused. */
const LAYOUT_VERSION = 1;

/**
 * Reads `pip_packages` / `npm_packages` from a job configuration. An entry starting with '-' would
 * reach pip or npm as an option (`-r /etc/…`, `--index-url …`), so it is refused.
 */
export function parsePackageLists(jobConfiguration: Record<string, unknown> | null | undefined): PackageLists {
  const problems: string[] = [];
  const list = (key: "pip_packages" | "npm_packages"): string[] => {
    const value = jobConfiguration?.[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      problems.push(`${key} must be a list of package names, not ${typeof value}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== "string" || item.trim() === "") problems.push(`${key}[${i}] must be a non-empty string`);
      else if (item.trim().startsWith("-")) problems.push(`${key}[${i}] '${item}' looks like an option; give package names or requirement specifiers only`);
      else if (/[\r\n\0]/.test(item)) problems.push(`${key}[${i}] must be one line`);
      else out.push(item.trim());
    });
    return out;
  };
  const lists = { pip: list("pip_packages"), npm: list("npm_packages") };
  if (problems.length) throw new EngineError("invalid_packages", `the run's packages are invalid: ${problems.join("; ")}`);
  return lists;
}

/**
 * Names the environment that holds exactly these packages. Order and duplicates do not matter: pip and
 * npm resolve the same set either way.
 */
export function cacheKey(packages: PackageLists): string {
  const normal = (xs: string[]) => [...new Set(xs)].sort();
  const text = JSON.stringify({ v: LAYOUT_VERSION, pip: normal(packages.pip), npm: normal(packages.npm) });
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

export interface EnvLayout {
  key: string;
  root: string;
  venv: string;
  npmPrefix: string;
  marker: string;
  lock: string;
}

export function envLayout(cacheDir: string, key: string): EnvLayout {
  const root = join(cacheDir, "envs", key);
  return {
    key,
    root,
    venv: join(root, "venv"),
    npmPrefix: join(root, "npm"),
    marker: join(root, "complete.json"),
    lock: join(cacheDir, "envs", `${key}.lock`),
  };
}

export interface EnvMarker {
  key: string;
  pip_packages: string[];
  npm_packages: string[];
  created_at: string;
  engine_version: string;
}

/** The marker of a complete environment, or null when there is none (or it is for other packages). */
export async function readMarker(layout: EnvLayout): Promise<EnvMarker | null> {
  let text: string;
  try {
    text = await readFile(layout.marker, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const marker = JSON.parse(text) as EnvMarker;
    return marker.key === layout.key ? marker : null;
  } catch {
    // A torn marker cannot happen (it is renamed into place), but a damaged disk can.
    return null;
  }
}

/** Written last, and atomically: its presence means every package was installed. */
export async function writeMarker(layout: EnvLayout, marker: EnvMarker): Promise<void> {
  const tmp = `${layout.marker}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, JSON.stringify(marker, null, 2));
  await rename(tmp, layout.marker);
}

export interface LockOptions {
  /** A lock whose holder has not touched it for this long is taken to be abandoned. */
  staleMs?: number;
  /** How often the holder touches it. */
  heartbeatMs?: number;
  retryMs?: number;
  /** Give up waiting after this long. */
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called once when the lock is held by another run. */
  onWait?: () => void;
}

/**
 * An exclusive lock shared by processes (and containers) using one cache directory: `mkdir` either
 * creates the directory or fails, atomically, on every local and network filesystem. The holder
 * touches it while it works; one that died stops touching it, and after `staleMs` the next run takes
 * the lock over.
 */
export class DirLock {
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  private constructor(
    readonly path: string,
    readonly owner: string,
  ) {}

  static async acquire(path: string, options: LockOptions = {}): Promise<DirLock> {
    const staleMs = options.staleMs ?? 120_000;
    const heartbeatMs = options.heartbeatMs ?? Math.max(1000, Math.floor(staleMs / 8));
    const retryMs = options.retryMs ?? 500;
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const owner = `${hostname()}:${process.pid}:${randomBytes(6).toString("hex")}`;
    const started = now();
    let waited = false;
    await mkdir(dirname(path), { recursive: true });
    for (;;) {
      try {
        await mkdir(path);
        await writeFile(join(path, "owner"), owner);
        const lock = new DirLock(path, owner);
        lock.heartbeat = setInterval(() => {
          const t = new Date(now());
          utimes(path, t, t).catch(() => undefined);
        }, heartbeatMs);
        lock.heartbeat.unref();
        return lock;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      if (await DirLock.breakIfStale(path, staleMs, now)) continue;
      if (now() - started > timeoutMs) {
        throw new EngineError(
          "cache_lock_timeout",
          `waited ${Math.round(timeoutMs / 1000)} s for another run installing the same packages (lock ${path}); remove the lock directory if no run is installing`,
        );
      }
      if (!waited) {
        waited = true;
        options.onWait?.();
      }
      await sleep(retryMs);
    }
  }

  /** Takes an abandoned lock away: renamed first, so two runs breaking it at once cannot both succeed. */
  private static async breakIfStale(path: string, staleMs: number, now: () => number): Promise<boolean> {
    let mtime: number;
    let staleOwner: string;
    try {
      mtime = (await stat(path)).mtimeMs;
      staleOwner = await readFile(join(path, "owner"), "utf8").catch(() => "");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
      throw error;
    }
    if (now() - mtime <= staleMs) return false;
    const aside = `${path}.stale-${randomBytes(4).toString("hex")}`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
      throw error;
    }
    const moved = await readFile(join(aside, "owner"), "utf8").catch(() => "");
    if (moved !== staleOwner) {
      // Between our look and our rename another run broke the lock and took it: give it back.
      await rename(aside, path).catch(() => undefined);
      return false;
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  }

  async release(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const owner = await readFile(join(this.path, "owner"), "utf8").catch(() => null);
    // Only our own lock: if it was taken over as stale, it is someone else's now.
    if (owner === this.owner) await rm(this.path, { recursive: true, force: true });
  }
}
