import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Memory of the server: its own process and the store's child processes (the embedded PostgreSQL). */
export interface ServerMemory {
  /** Resident set sizes summed: the server's process and every store process (shared pages counted in each). */
  rssMiB: number;
  /** The store's child processes alone (0 for PGlite and external PostgreSQL). */
  storeRssMiB: number;
  /** Proportional set sizes summed (shared pages split between the processes sharing them); null without /proc. */
  pssMiB: number | null;
  /** How many store processes were counted. */
  storeProcesses: number;
}

/**
 * The server's memory now. `home` is the server's FERRY_HOME: the embedded PostgreSQL's postmaster is
 * found through its pid file there, and its backends as its children in /proc.
 */
export function serverMemory(home: string): ServerMemory {
  const own = process.memoryUsage().rss;
  const pids = storeProcesses(home);
  let storeRss = 0;
  let pss: number | null = kib(process.pid, "smaps_rollup", "Pss");
  for (const pid of pids) {
    storeRss += (kib(pid, "status", "VmRSS") ?? 0) * 1024;
    const p = kib(pid, "smaps_rollup", "Pss");
    pss = pss === null || p === null ? null : pss + p;
  }
  return {
    rssMiB: (own + storeRss) / 2 ** 20,
    storeRssMiB: storeRss / 2 ** 20,
    pssMiB: pss === null ? null : pss / 1024,
    storeProcesses: pids.length,
  };
}

function storeProcesses(home: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(home, "data", "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return [];
  }
  if (!Number.isInteger(postmaster) || postmaster <= 0) return [];
  const pids = [postmaster];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command's closing parenthesis: state, then the parent's pid.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** A "Name:   123 kB" field of /proc/pid/<file>, in KiB; null when unreadable. */
function kib(pid: number, file: string, field: string): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
