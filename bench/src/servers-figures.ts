import type { LoadResult } from "./load.js";

/**
 * How `clients` loops and `calls` creates are shared by `servers` servers, as a load balancer would
 * spread them: as evenly as whole numbers allow, every server at least one client.
 */
export function shareLoad(calls: number, clients: number, servers: number): { calls: number; clients: number }[] {
  if (clients < servers) throw new Error(`${clients} client(s) cannot reach ${servers} servers: give at least one client per server`);
  return Array.from({ length: servers }, (_, i) => ({
    calls: Math.floor(calls / servers) + (i < calls % servers ? 1 : 0),
    clients: Math.floor(clients / servers) + (i < clients % servers ? 1 : 0),
  }));
}

/** The loads sent to each server, as one. */
export function mergeLoads(loads: readonly LoadResult[]): LoadResult {
  return {
    samples: loads.flatMap((l) => l.samples),
    errors: loads.reduce((n, l) => n + l.errors, 0),
    errorMessages: loads.flatMap((l) => l.errorMessages).slice(0, 5),
  };
}

/** Each server's provider saw its own runs; a run submitted by two would be a doubled dispatch. */
export function mergeSubmits(perServer: readonly (readonly [string, number])[][]): { submittedAt: Map<string, number>; doubled: number } {
  const submittedAt = new Map<string, number>();
  let doubled = 0;
  for (const submits of perServer) {
    for (const [id, at] of submits) {
      if (submittedAt.has(id)) doubled++;
      else submittedAt.set(id, at);
    }
  }
  return { submittedAt, doubled };
}
