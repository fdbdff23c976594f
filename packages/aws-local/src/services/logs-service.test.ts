import { describe, expect, it } from "vitest";
import { readLogEvents } from "./logs-service.js";

const events = [1, 2, 3, 4, 5].map((i) => ({ timestamp: i * 1000, message: `m${i}`, ingestionTime: i * 1000 }));
const messages = (page: { events: { message: string }[] }): string[] => page.events.map((e) => e.message);

describe("readLogEvents", () => {
  it("reads the newest events by default and the oldest from the head", () => {
    expect(messages(readLogEvents(events, { limit: 2 }))).toEqual(["m4", "m5"]);
    expect(messages(readLogEvents(events, { limit: 2, startFromHead: true }))).toEqual(["m1", "m2"]);
  });

  it("pages forward and gives back the same token at the end of the stream", () => {
    const first = readLogEvents(events, { limit: 3, startFromHead: true });
    const second = readLogEvents(events, { limit: 3, nextToken: first.nextForwardToken });
    expect(messages(second)).toEqual(["m4", "m5"]);
    const end = readLogEvents(events, { nextToken: second.nextForwardToken });
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(second.nextForwardToken);
  });

  it("pages backward and filters by time", () => {
    const last = readLogEvents(events, { limit: 2 });
    expect(messages(readLogEvents(events, { limit: 2, nextToken: last.nextBackwardToken }))).toEqual(["m2", "m3"]);
    expect(messages(readLogEvents(events, { startFromHead: true, startTime: 2000, endTime: 4000 }))).toEqual(["m2", "m3"]);
  });

  it("refuses a token it did not make", () => {
    expect(() => readLogEvents(events, { nextToken: "x" })).toThrow(expect.objectContaining({ code: "InvalidParameterException" }));
  });
});
