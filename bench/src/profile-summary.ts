// Summarises a V8 CPU profile (`node --cpu-prof`) as text: where the time went by package, and the
// functions with the most self and total time. Usage: node bench/dist/profile-summary.js FILE [TOP]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byPackage: [string, number][];
  bySelf: [string, number][];
  byTotal: [string, number][];
}

/** Where a frame's code lives: a package, our own code, Node itself or the engine. */
export function packageOf(url: string): string {
  if (!url) return "(engine: gc, idle, native)";
  if (url.startsWith("node:")) return "node internals";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /\/(packages|apps)\/([^/]+)\//.exec(url) ?? /\/(bench)\//.exec(url);
  if (ours) return ours[1] === "bench" ? "@ferry/bench" : `@ferry/${ours[2]}`;
  return url;
}

export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));

  const label = (n: ProfileNode) => {
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules|packages|apps|bench)\//, "$1/")}:${n.callFrame.lineNumber + 1}` : "";
    return `${n.callFrame.functionName || "(anonymous)"} ${where}`.trim();
  };
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  const pkg = new Map<string, number>();
  const self = new Map<string, number>();
  const total = new Map<string, number>();

  // Depth-first with the stack of labels, so recursion counts a function's total time once.
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const root = profile.nodes.find((n) => !parentOf.has(n.id));
  let totalMs = 0;
  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    const key = label(node);
    const mine = selfMs.get(node.id) ?? 0;
    totalMs += mine;
    add(self, key, mine);
    add(pkg, packageOf(node.callFrame.url), mine);
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    let sum = mine;
    for (const c of node.children ?? []) sum += walk(byId.get(c)!, onStack);
    if (fresh) {
      onStack.delete(key);
      add(total, key, sum);
    }
    return sum;
  };
  if (root) walk(root, new Set());
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs, byPackage: sorted(pkg), bySelf: sorted(self), byTotal: sorted(total) };
}

function format(summary: ProfileSummary, top: number): string {
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%`;
  const section = (title: string, rows: [string, number][]) => [
    title,
    ...rows.slice(0, top).map(([k, ms]) => `  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`),
    "",
  ];
  return [
    `profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled`,
    "",
    ...section("self time by package", summary.byPackage),
    ...section("self time by function", summary.bySelf),
    ...section("total time by function (self + callees)", summary.byTotal.filter(([k]) => !k.startsWith("(root)"))),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node bench/dist/profile-summary.js FILE.cpuprofile [TOP]");
    process.exit(2);
  }
  console.log(format(summarise(JSON.parse(readFileSync(file, "utf8")) as CpuProfile), Number(top ?? 25)));
}
