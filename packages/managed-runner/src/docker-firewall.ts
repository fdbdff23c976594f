import { execFile } from "node:child_process";
import { FerryError } from "@ferry/core";

/** One iptables rule: the chain, and the match and target after `-I <chain> 1` / `-C <chain>`. */
export interface FirewallRule {
  table: "filter";
  chain: "INPUT" | "DOCKER-USER";
  spec: string[];
}

/** Link-local addresses: the cloud metadata service (169.254.169.254) and its neighbours. */
export const METADATA_RANGE = "169.254.0.0/16";

const COMMENT = ["-m", "comment", "--comment"];

/**
 * What the host must enforce for runs on the "isolated" network (interface `bridgeInterface`), top
 * first in each chain. A run's packets to the host itself go through INPUT, not Docker's FORWARD rules,
 * so INPUT lets them reach the API ports only (and answers to what the host started). Packets the host
 * forwards go through DOCKER-USER first: the link-local range, where clouds answer metadata with the
 * machine's credentials, is dropped. The internet stays reachable; so do other machines of the host's
 * network, which an operator may also want to drop here (not done: Ferry cannot know them).
 */
export function runnerFirewallRules(bridgeInterface: string, apiPorts: number[]): FirewallRule[] {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridgeInterface)) {
    throw new FerryError("validation_failed", `'${bridgeInterface}' is not a network interface name`);
  }
  const ports = [...new Set(apiPorts)];
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new FerryError("validation_failed", `the API ports must be port numbers (1-65535), not ${JSON.stringify(apiPorts)}`);
  }
  const from = ["-i", bridgeInterface];
  return [
    ...ports.map((port): FirewallRule => ({ table: "filter", chain: "INPUT", spec: [...from, "-p", "tcp", "--dport", String(port), ...COMMENT, "ferry: runs reach the API", "-j", "ACCEPT"] })),
    { table: "filter", chain: "INPUT", spec: [...from, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", ...COMMENT, "ferry: answers to the host", "-j", "ACCEPT"] },
    { table: "filter", chain: "INPUT", spec: [...from, ...COMMENT, "ferry: runs reach no other host port", "-j", "DROP"] },
    { table: "filter", chain: "DOCKER-USER", spec: [...from, "-d", METADATA_RANGE, ...COMMENT, "ferry: runs reach no metadata service", "-j", "DROP"] },
  ];
}

/**
 * Deletes the rules that are there (a test's own network, or an operator undoing them): every server
 * on the network then reaches runs' traffic unfiltered again. Returns how many were deleted.
 */
export async function removeFirewallRules(rules: FirewallRule[], run: IptablesRunner = runIptables): Promise<number> {
  let removed = 0;
  for (const rule of rules) {
    while ((await run(["-t", rule.table, "-C", rule.chain, ...rule.spec])).code === 0) {
      const deleted = await run(["-t", rule.table, "-D", rule.chain, ...rule.spec]);
      if (deleted.code !== 0) throw new FerryError("unavailable", `could not delete the host firewall rule (iptables -D ${rule.chain} ${rule.spec.join(" ")}): ${deleted.stderr.trim() || `exit ${deleted.code}`}`, { retryable: false });
      removed++;
    }
  }
  return removed;
}

/** Shell lines an operator can run instead (FERRY_RUNNER_FIREWALL=none): each adds a rule when missing. */
export function describeFirewallRules(rules: FirewallRule[]): string[] {
  const quote = (a: string) => (/^[A-Za-z0-9_./:,=-]+$/.test(a) ? a : `'${a}'`);
  return [...rules].reverse().map((r) => `iptables -t ${r.table} -C ${r.chain} ${r.spec.map(quote).join(" ")} 2>/dev/null || iptables -t ${r.table} -I ${r.chain} 1 ${r.spec.map(quote).join(" ")}`);
}

export type IptablesRunner = (args: string[]) => Promise<{ code: number; stderr: string }>;

/** Runs `iptables` (`-w`: waits for the xtables lock that Docker also takes). */
export const runIptables: IptablesRunner = (args) =>
  new Promise((resolve) => {
    execFile("iptables", ["-w", ...args], { timeout: 30_000 }, (error, _stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 127) : 0;
      resolve({ code, stderr: String(stderr || (error && code === 127 ? error.message : "")) });
    });
  });

/**
 * Adds each missing rule, keeping the order `runnerFirewallRules` gives (rules are inserted at the top
 * of their chain, last first). Rules already there are left alone, so several servers, and restarts on
 * other ports, only add their own API port. Nothing is removed: the rules hold for the network, which
 * outlives the server.
 */
export async function applyFirewallRules(rules: FirewallRule[], run: IptablesRunner = runIptables): Promise<number> {
  let added = 0;
  for (const rule of [...rules].reverse()) {
    const check = await run(["-t", rule.table, "-C", rule.chain, ...rule.spec]);
    if (check.code === 0) continue;
    const insert = await run(["-t", rule.table, "-I", rule.chain, "1", ...rule.spec]);
    if (insert.code !== 0) {
      throw new FerryError("unavailable", `could not add the host firewall rule for managed runs (iptables -I ${rule.chain} 1 ${rule.spec.join(" ")}): ${insert.stderr.trim() || `exit ${insert.code}`}. The server needs root and iptables for FERRY_RUNNER_FIREWALL=iptables; or set it to none and add the rules yourself (see the managed-runner README)`, { retryable: false });
    }
    added++;
  }
  return added;
}
