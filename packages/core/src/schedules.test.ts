import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { isLate, nextOccurrences, plannedRunTimes, sameSchedule, scheduledRunKey, validateSchedule, type DeploymentSchedule } from "./schedules.js";

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe("validateSchedule", () => {
  it("normalises each kind, UTC by default", () => {
    expect(validateSchedule({ cron: " 0 9 * * 1-5 " })).toEqual({ cron: "0 9 * * 1-5", timezone: "UTC" });
    expect(validateSchedule({ interval: 600 })).toEqual({ interval: 600, anchor_date: "2020-01-01T00:00:00.000Z", timezone: "UTC" });
    expect(validateSchedule({ rrule: "FREQ=DAILY;BYHOUR=9", timezone: "Europe/Berlin" })).toEqual({ rrule: "FREQ=DAILY;BYHOUR=9", timezone: "Europe/Berlin" });
  });

  it("names the fix for a bad cron, an unknown time zone, a short interval, a bad rrule, two kinds", () => {
    const message = (spec: object) => {
      try {
        validateSchedule(spec, "schedules[0]");
      } catch (error) {
        expect(error).toBeInstanceOf(FerryError);
        expect((error as FerryError).code).toBe("validation_failed");
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(message({ cron: "every day" })).toMatch(/schedules\[0\]\.cron 'every day' is not a cron expression.*minute hour/);
    expect(message({ cron: "0 9 * * *", timezone: "Mars/Olympus" })).toMatch(/'Mars\/Olympus' is not an IANA time zone; use a name such as 'Europe\/Berlin'/);
    expect(message({ interval: 1 })).toMatch(/interval must be a whole number of seconds, at least 10/);
    expect(message({ rrule: "FREQ=SOMETIMES" })).toMatch(/is not an RRULE.*RFC 5545/);
    expect(message({ cron: "0 9 * * *", interval: 60 })).toMatch(/exactly one of cron, interval or rrule \(it has cron and interval\)/);
    expect(message({})).toMatch(/it has none/);
  });

  it("compares schedules by what they create", () => {
    expect(sameSchedule({ cron: "0 9 * * *", timezone: "UTC" }, { cron: "0 9 * * *" })).toBe(true);
    expect(sameSchedule({ cron: "0 9 * * *", timezone: "Europe/Berlin" }, { cron: "0 9 * * *" })).toBe(false);
  });
});

describe("nextOccurrences", () => {
  it("reads a cron expression in its time zone across the spring DST change (Europe/Berlin, 2026-03-29)", () => {
    const times = nextOccurrences({ cron: "30 9 * * *", timezone: "Europe/Berlin" }, new Date("2026-03-27T12:00:00Z"), { count: 3 });
    // 09:30 local: UTC+1 before the change, UTC+2 after it.
    expect(iso(times)).toEqual(["2026-03-28T08:30:00.000Z", "2026-03-29T07:30:00.000Z", "2026-03-30T07:30:00.000Z"]);
  });

  it("reads it across the autumn change (America/New_York, 2026-11-01) and bounds by until", () => {
    const times = nextOccurrences({ cron: "0 8 * * *", timezone: "America/New_York" }, new Date("2026-10-30T00:00:00Z"), {
      until: new Date("2026-11-02T23:59:59Z"),
    });
    expect(iso(times)).toEqual(["2026-10-30T12:00:00.000Z", "2026-10-31T12:00:00.000Z", "2026-11-01T13:00:00.000Z", "2026-11-02T13:00:00.000Z"]);
  });

  it("creates a time skipped by the spring change once, and a repeated hour once", () => {
    const skipped = nextOccurrences({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, new Date("2026-03-28T12:00:00Z"), { count: 2 });
    expect(new Set(iso(skipped)).size).toBe(2);
    expect(skipped[0]!.getTime()).toBeGreaterThan(Date.parse("2026-03-28T12:00:00Z"));
    const repeated = nextOccurrences({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, new Date("2026-10-24T12:00:00Z"), {
      until: new Date("2026-10-25T23:00:00Z"),
    });
    expect(repeated).toHaveLength(1);
  });

  it("counts an interval from its anchor, strictly after the given time", () => {
    const schedule = validateSchedule({ interval: 900, anchor_date: "2026-01-01T00:05:00Z" });
    expect(iso(nextOccurrences(schedule, new Date("2026-06-01T10:05:00Z"), { count: 3 }))).toEqual([
      "2026-06-01T10:20:00.000Z",
      "2026-06-01T10:35:00.000Z",
      "2026-06-01T10:50:00.000Z",
    ]);
  });

  it("places an RRULE's wall-clock times in its time zone across DST", () => {
    const times = nextOccurrences({ rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0", timezone: "Europe/Berlin" }, new Date("2026-03-20T00:00:00Z"), {
      count: 2,
    });
    expect(iso(times)).toEqual(["2026-03-23T08:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
    const utc = nextOccurrences({ rrule: "RRULE:FREQ=HOURLY;INTERVAL=6" }, new Date("2026-01-01T01:00:00Z"), { count: 2 });
    expect(iso(utc)).toEqual(["2026-01-01T06:00:00.000Z", "2026-01-01T12:00:00.000Z"]);
  });
});

describe("plannedRunTimes", () => {
  const hourly: DeploymentSchedule = { id: "s1", active: true, cron: "0 * * * *", timezone: "UTC" };
  const base = { now: new Date("2026-06-01T10:30:00Z"), horizonMs: 3600_000, minRuns: 3, maxRuns: 100 };

  it("creates the horizon's runs, at least minRuns, none for a paused schedule", () => {
    const times = plannedRunTimes({ ...base, schedules: [hourly], lastPass: null, catchup: { policy: "skip", max_runs: 0 } });
    expect(iso(times)).toEqual(["2026-06-01T11:00:00.000Z", "2026-06-01T12:00:00.000Z", "2026-06-01T13:00:00.000Z"]);
    expect(plannedRunTimes({ ...base, schedules: [{ ...hourly, active: false }], lastPass: null, catchup: { policy: "skip", max_runs: 0 } })).toEqual([]);
  });

  it("after downtime: skip drops the missed times, catch_up adds the latest max_runs", () => {
    const lastPass = new Date("2026-06-01T04:10:00Z");
    const skip = plannedRunTimes({ ...base, schedules: [hourly], lastPass, catchup: { policy: "skip", max_runs: 2 } });
    expect(iso(skip)[0]).toBe("2026-06-01T11:00:00.000Z");
    const caught = plannedRunTimes({ ...base, schedules: [hourly], lastPass, catchup: { policy: "catch_up", max_runs: 2 } });
    expect(iso(caught).slice(0, 3)).toEqual(["2026-06-01T09:00:00.000Z", "2026-06-01T10:00:00.000Z", "2026-06-01T11:00:00.000Z"]);
  });

  it("merges schedules that share a time into one run", () => {
    const times = plannedRunTimes({
      ...base,
      schedules: [hourly, { id: "s2", active: true, interval: 3600, anchor_date: "2020-01-01T00:00:00Z" }],
      lastPass: null,
      catchup: { policy: "skip", max_runs: 0 },
    });
    expect(times).toHaveLength(3);
  });
});

describe("scheduled runs", () => {
  it("derives one key per deployment and time", () => {
    expect(scheduledRunKey("d1", new Date("2026-06-01T11:00:00Z"))).toBe("scheduled:d1:2026-06-01T11:00:00.000Z");
  });
  it("is Late past the grace after its expected start (or creation)", () => {
    const run = { expected_start_time: "2026-06-01T11:00:00Z", created_at: "2026-06-01T10:00:00Z" };
    expect(isLate(run, new Date("2026-06-01T11:00:59Z"), 60)).toBe(false);
    expect(isLate(run, new Date("2026-06-01T11:01:01Z"), 60)).toBe(true);
    expect(isLate({ expected_start_time: null, created_at: "2026-06-01T10:00:00Z" }, new Date("2026-06-01T10:02:00Z"), 60)).toBe(true);
  });
});
