import { describe, expect, it } from "vitest";
import { exitCodeOf } from "./process-state.js";
import { parseProcStat, parseRssBytes, treeMembers, type ProcStat } from "./process-tree.js";

describe("parseProcStat", () => {
  it("reads pid, state, parent, group and start time, whatever the command name holds", () => {
    const line = "4242 (python3 (x) y) S 4200 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ pid: 4242, state: "S", ppid: 4200, pgrp: 4242, startTime: "987654" });
  });

  it("returns null for something else", () => {
    expect(parseProcStat("")).toBeNull();
    expect(parseProcStat("12 (short) S 1")).toBeNull();
  });
});

describe("treeMembers", () => {
  const p = (pid: number, ppid: number, pgrp: number): ProcStat => ({ pid, ppid, pgrp, state: "S", startTime: "1" });

  it("takes the group and descendants that left it, not the supervisor or strangers", () => {
    const processes = [p(100, 1, 100), p(200, 100, 200), p(201, 200, 200), p(202, 201, 202), p(203, 202, 203), p(300, 1, 300), p(204, 1, 200)];
    expect(treeMembers(processes, 200, 200).sort()).toEqual([200, 201, 202, 203, 204]);
  });
});

describe("parseRssBytes", () => {
  it("reads VmRSS in bytes, 0 when absent (a zombie)", () => {
    expect(parseRssBytes("Name:\tnode\nVmRSS:\t   51200 kB\nThreads:\t7\n")).toBe(51200 * 1024);
    expect(parseRssBytes("Name:\tzombie\nState:\tZ (zombie)\n")).toBe(0);
  });
});

describe("exitCodeOf", () => {
  it("reports a death by signal as 128 + its number, like a shell and Docker", () => {
    expect(exitCodeOf(3, null)).toBe(3);
    expect(exitCodeOf(null, "SIGKILL")).toBe(137);
    expect(exitCodeOf(null, "SIGTERM")).toBe(143);
  });
});
