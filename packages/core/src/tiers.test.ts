import { describe, expect, it } from "vitest";
import { FerryError, type ValidationIssue } from "./errors.js";
import { PLATFORM_CEILINGS, TIERS, TIER_NAMES, effectiveLimits, isTierName, monthStartUtc, parseLimitOverrides } from "./tiers.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

const KEYS = "managed_pools, concurrent_managed_runs, compute_hours_per_month, memory_mib, max_runtime_seconds, cpus";

describe("tiers", () => {
  it("has the free and pro tiers", () => {
    expect(TIER_NAMES).toEqual(["free", "pro"]);
    expect(TIERS.free).toEqual({
      managed_pools: 1,
      concurrent_managed_runs: 1,
      compute_hours_per_month: 10,
      memory_mib: 2048,
      max_runtime_seconds: 86400,
      cpus: 1,
    });
    expect(TIERS.pro).toEqual({
      managed_pools: 5,
      concurrent_managed_runs: 10,
      compute_hours_per_month: 250,
      memory_mib: 2048,
      max_runtime_seconds: 86400,
      cpus: 2,
    });
  });

  it("keeps every tier within the platform's ceilings", () => {
    for (const name of TIER_NAMES) {
      expect(TIERS[name].memory_mib).toBeLessThanOrEqual(PLATFORM_CEILINGS.memory_mib);
      expect(TIERS[name].max_runtime_seconds).toBeLessThanOrEqual(PLATFORM_CEILINGS.max_runtime_seconds);
    }
  });

  it("recognises tier names, and not Object members", () => {
    expect(isTierName("free")).toBe(true);
    expect(isTierName("pro")).toBe(true);
    for (const value of ["Free", "enterprise", "toString", "__proto__", "", null, 1]) expect(isTierName(value)).toBe(false);
  });
});

describe("effectiveLimits", () => {
  it("is the tier's limits without overrides", () => {
    expect(effectiveLimits("pro", null)).toEqual(TIERS.pro);
    expect(effectiveLimits("free", undefined)).toEqual(TIERS.free);
    expect(effectiveLimits("free", {})).toEqual(TIERS.free);
  });

  it("applies overrides on top of the tier", () => {
    expect(effectiveLimits("free", { concurrent_managed_runs: 3, compute_hours_per_month: 0 })).toEqual({
      ...TIERS.free,
      concurrent_managed_runs: 3,
      compute_hours_per_month: 0,
    });
  });

  it("lets memory and runtime be lowered", () => {
    expect(effectiveLimits("pro", { memory_mib: 512, max_runtime_seconds: 5 })).toMatchObject({ memory_mib: 512, max_runtime_seconds: 5 });
  });

  it("never raises memory or runtime past the platform's ceilings", () => {
    expect(effectiveLimits("pro", { memory_mib: 65536, max_runtime_seconds: 7 * 86400 })).toMatchObject({
      memory_mib: PLATFORM_CEILINGS.memory_mib,
      max_runtime_seconds: PLATFORM_CEILINGS.max_runtime_seconds,
    });
  });

  it("lets other limits go past the tier's", () => {
    expect(effectiveLimits("free", { managed_pools: 50, cpus: 8 })).toMatchObject({ managed_pools: 50, cpus: 8 });
  });

  it("does not change the tier table", () => {
    effectiveLimits("free", { managed_pools: 9, memory_mib: 1 });
    expect(TIERS.free.managed_pools).toBe(1);
    expect(TIERS.free.memory_mib).toBe(2048);
  });
});

describe("parseLimitOverrides", () => {
  it("accepts known limits within the ceilings", () => {
    expect(parseLimitOverrides({ concurrent_managed_runs: 3, cpus: 0.5, memory_mib: 2048, max_runtime_seconds: 0 })).toEqual({
      concurrent_managed_runs: 3,
      cpus: 0.5,
      memory_mib: 2048,
      max_runtime_seconds: 0,
    });
  });

  it("treats no overrides as none", () => {
    expect(parseLimitOverrides(null)).toEqual({});
    expect(parseLimitOverrides(undefined)).toEqual({});
    expect(parseLimitOverrides({})).toEqual({});
  });

  it.each([[[1]], ["3"], [3]])("refuses %j, showing the expected shape", (value) => {
    const error = thrown(() => parseLimitOverrides(value));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe('limits must be an object such as {"concurrent_managed_runs": 3}');
  });

  it("refuses an unknown limit, listing the known ones", () => {
    const error = thrown(() => parseLimitOverrides({ concurrent_runs: 3 }));
    expect(error.message).toBe(`invalid workspace limits: /concurrent_runs is not a limit; use one of ${KEYS}`);
  });

  it.each([[-1], ["3"], [null], [Number.NaN], [Number.POSITIVE_INFINITY], [true]])("refuses the value %j", (value) => {
    const error = thrown(() => parseLimitOverrides({ managed_pools: value }));
    expect(error.message).toBe("invalid workspace limits: /managed_pools must be a non-negative number");
  });

  it("refuses memory and runtime above the ceilings, saying the ceiling", () => {
    const error = thrown(() => parseLimitOverrides({ memory_mib: 2049, max_runtime_seconds: 86401 }));
    expect(error.message).toBe("invalid workspace limits: /memory_mib must be at most 2048; /max_runtime_seconds must be at most 86400");
    expect((error.details as { issues: ValidationIssue[] }).issues).toEqual([
      { path: "/memory_mib", message: "must be at most 2048" },
      { path: "/max_runtime_seconds", message: "must be at most 86400" },
    ]);
  });

  it("reports every problem at once", () => {
    const error = thrown(() => parseLimitOverrides({ a: 1, cpus: -2, managed_pools: 2 }));
    expect((error.details as { issues: ValidationIssue[] }).issues.map((i) => i.path)).toEqual(["/a", "/cpus"]);
  });
});

describe("monthStartUtc", () => {
  it.each([
    ["2026-03-15T12:34:56.789Z", "2026-03-01T00:00:00.000Z"],
    ["2026-03-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
    ["2026-02-28T23:59:59.999Z", "2026-02-01T00:00:00.000Z"],
    ["2024-02-29T23:59:59.999Z", "2024-02-01T00:00:00.000Z"],
    ["2025-12-31T23:59:59.999Z", "2025-12-01T00:00:00.000Z"],
    ["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
  ])("%s is in the month starting %s", (now, start) => {
    expect(monthStartUtc(new Date(now)).toISOString()).toBe(start);
  });

  it("uses UTC, not the local time zone", () => {
    // 23:30 on 31 March in New York is already April in UTC.
    expect(monthStartUtc(new Date("2026-03-31T23:30:00-04:00")).toISOString()).toBe("2026-04-01T00:00:00.000Z");
    // 00:30 on 1 April in Paris is still March in UTC.
    expect(monthStartUtc(new Date("2026-04-01T00:30:00+02:00")).toISOString()).toBe("2026-03-01T00:00:00.000Z");
  });
});
