import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

/** The fields of /proc/<pid>/stat this package reads. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks after boot: with the pid, it tells a process from a later one that reused its pid. */
  startTime: string;
}

/** Linux exposes every process's parent, group and memory in /proc; elsewhere memory is not enforced. */
export function procAvailable(): boolean {
  return existsSync("/proc/self/stat");
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold spaces and
 * parentheses, so the fields after it are found from the last ")".
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // After ")": state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) minflt… starttime(22).
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const [state, ppid, pgrp] = rest;
  const startTime = rest[22 - 3];
  if (!Number.isInteger(pid) || state === undefined || startTime === undefined) return null;
  return { pid, state, ppid: Number(ppid), pgrp: Number(pgrp), startTime };
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null; // gone between listing and reading, or not Linux
  }
}

export async function listProcesses(): Promise<ProcStat[]> {
  const names = await readdir("/proc");
  const stats = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readProcStat(Number(n))));
  return stats.filter((s): s is ProcStat => s !== null);
}

/**
 * The processes of a run: its process group, and descendants of its engine that left the group
 * (setsid). A daemon that both left the group and was re-parented to init escapes; documented.
 */
export function treeMembers(processes: ProcStat[], rootPid: number, pgid: number): number[] {
  const members = new Set<number>();
  for (const p of processes) if (p.pgrp === pgid || p.pid === rootPid) members.add(p.pid);
  const children = new Map<number, number[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const queue = [rootPid, ...members];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (!members.has(child)) {
        members.add(child);
        queue.push(child);
      }
    }
  }
  return [...members];
}

/** Resident memory in bytes from /proc/<pid>/status (`VmRSS: 1234 kB`); 0 for a process that is gone. */
export function parseRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export async function rssBytes(pid: number): Promise<number> {
  try {
    return parseRssBytes(await readFile(`/proc/${pid}/status`, "utf8"));
  } catch {
    return 0;
  }
}

/** The summed RSS of a run's processes (shared pages count once per process: a conservative total). */
export async function treeRssBytes(rootPid: number, pgid: number): Promise<number> {
  const members = treeMembers(await listProcesses(), rootPid, pgid);
  const sizes = await Promise.all(members.map(rssBytes));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Whether `pid` is still the process that was recorded: alive, not a zombie, and (where /proc tells)
 * started at the recorded time, so a recycled pid is not mistaken for it.
 */
export async function isSameProcess(pid: number, startTime: string | null): Promise<boolean> {
  if (procAvailable()) {
    const stat = await readProcStat(pid);
    return stat !== null && stat.state !== "Z" && (startTime === null || stat.startTime === startTime);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function processStartTime(pid: number): Promise<string | null> {
  return (await readProcStat(pid))?.startTime ?? null;
}

/** Sends a signal to a process group (negative pid), or a process; one that is gone already is no error. */
export function signal(target: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(target, sig);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
