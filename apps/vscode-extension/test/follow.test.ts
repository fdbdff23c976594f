import { describe, expect, it } from "vitest";
import { FerryError, type FlowRunEvent } from "@ferry/core";
import { followWhileOpen, type RunEvents } from "../src/follow.js";

const log = (id: string): FlowRunEvent => ({
  kind: "log",
  id,
  flow_run_id: "r",
  log: { id, flow_run_id: "r", level: "info", message: `line ${id}`, timestamp: "2026-11-22T10:11:12.000Z", source: "flow" },
});

/** A server that answers with `script`'s outcomes in turn: events then a failure, or events then the end. */
function server(script: { events: string[]; fail?: Error }[]): RunEvents & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  let call = 0;
  return {
    asked,
    async *followRun(_id, options) {
      asked.push(options.lastEventId);
      const step = script[call++];
      if (!step) throw new Error("followed once too often");
      for (const id of step.events) yield log(id);
      if (step.fail) throw step.fail;
    },
  };
}

const collect = async (events: AsyncIterable<FlowRunEvent>) => {
  const ids: string[] = [];
  for await (const e of events) ids.push(e.id);
  return ids;
};

describe("followWhileOpen", () => {
  it("reconnects after the client gives up, for as long as it takes, resuming after the last event", async () => {
    const down = new FerryError("network", "could not reach the Ferry server");
    // Twenty failed reconnections in a row: far longer than the client's own ~15 s of retries.
    const outages = Array.from({ length: 20 }, () => ({ events: [], fail: down }));
    const s = server([{ events: ["1", "2"], fail: down }, ...outages, { events: ["3"] }]);
    const waits: number[] = [];
    const ids = await collect(followWhileOpen(s, "r", { signal: new AbortController().signal, sleep: async (ms) => void waits.push(ms) }));
    expect(ids).toEqual(["1", "2", "3"]);
    expect(s.asked[0]).toBeUndefined();
    expect(s.asked.slice(1)).toEqual(Array(21).fill("2"));
    expect(waits.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
    expect(Math.max(...waits)).toBe(30000);
  });

  it("stops on a failure that waiting cannot fix, and when aborted", async () => {
    const gone = new FerryError("not_found", "flow run 'r' was not found");
    await expect(collect(followWhileOpen(server([{ events: ["1"], fail: gone }]), "r", { signal: new AbortController().signal, sleep: async () => {} }))).rejects.toBe(gone);
    const controller = new AbortController();
    const s = server([{ events: [], fail: new FerryError("network", "down") }, { events: ["9"] }]);
    const ids = await collect(followWhileOpen(s, "r", { signal: controller.signal, sleep: async () => controller.abort() }));
    expect(ids).toEqual([]);
  });
});
