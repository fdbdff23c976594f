import { EventEmitter } from "node:events";
import { expect, it } from "vitest";
import { cancelOnSignal, type SignalSource } from "./cancel.js";

it("cancels once on the first SIGINT or SIGTERM, then exits", async () => {
  const source = new EventEmitter() as unknown as SignalSource & EventEmitter;
  const calls: string[] = [];
  let release!: () => void;
  const cancelled = new Promise<void>((r) => (release = r));
  const exited = new Promise<string>((resolve) => {
    cancelOnSignal(
      source,
      async (signal) => {
        calls.push(`cancel ${signal}`);
        await cancelled;
      },
      (signal) => resolve(signal),
    );
  });
  source.emit("SIGINT");
  source.emit("SIGTERM"); // the runner's second signal while the cancel is under way
  expect(calls).toEqual(["cancel SIGINT"]);
  release();
  expect(await exited).toBe("SIGINT");
});

it("stops listening once disposed (the run ended: a signal then is the runner's, not ours to act on)", () => {
  const source = new EventEmitter();
  const dispose = cancelOnSignal(source as unknown as SignalSource, async () => {}, () => {});
  expect(source.listenerCount("SIGTERM")).toBe(1);
  dispose();
  expect(source.listenerCount("SIGTERM")).toBe(0);
  expect(source.listenerCount("SIGINT")).toBe(0);
});
