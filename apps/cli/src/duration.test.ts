import { describe, expect, it } from "vitest";
import { parseDateTime, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["45", 45],
    ["90s", 90],
    ["10m", 600],
    ["1h30m", 5400],
    ["2d", 172_800],
    [" 1H ", 3600],
  ])("reads %j as %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(["", "10x", "m10", "1h 30m", "-5m", "1.5h", "10mm"])("refuses %j, showing the accepted forms", (text) => {
    expect(() => parseDuration(text)).toThrow(`'${text}' is not a duration; use e.g. 90s, 10m, 1h30m or 2d`);
  });
});

describe("parseDateTime", () => {
  it("reads ISO 8601 with a zone or an offset, answering UTC", () => {
    expect(parseDateTime("2026-01-01T09:00:00Z")).toBe("2026-01-01T09:00:00.000Z");
    expect(parseDateTime("2026-01-01T09:00+02:00")).toBe("2026-01-01T07:00:00.000Z");
  });

  it.each(["tomorrow", "01/02/2026", "2026-13-45T99:00Z"])("refuses %j", (text) => {
    expect(() => parseDateTime(text)).toThrow(/is not (an ISO 8601|a valid) date-time/);
  });
});
