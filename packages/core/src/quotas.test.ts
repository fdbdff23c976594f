import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { assertCanCreateManagedPool, assertComputeHoursLeft } from "./quotas.js";
import { TIERS, type TierLimits } from "./tiers.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

const limits = (overrides: Partial<TierLimits>): TierLimits => ({ ...TIERS.free, ...overrides });

describe("assertCanCreateManagedPool", () => {
  it("allows a pool below the limit", () => {
    expect(() => assertCanCreateManagedPool("pro", TIERS.pro, 4)).not.toThrow();
    expect(() => assertCanCreateManagedPool("free", TIERS.free, 0)).not.toThrow();
  });

  it("refuses the pool past the limit, saying how to make room", () => {
    const error = thrown(() => assertCanCreateManagedPool("free", TIERS.free, 1));
    expect(error.code).toBe("quota_exceeded");
    expect(error.status).toBe(403);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      "the free tier allows 1 managed work pool and this workspace has 1; delete one (ferry work-pool delete NAME) or move to a larger tier",
    );
    expect(error.details).toEqual({ limit: "managed_pools", allowed: 1, used: 1 });
  });

  it("uses the plural past one pool, and refuses when already over the limit", () => {
    const error = thrown(() => assertCanCreateManagedPool("pro", TIERS.pro, 7));
    expect(error.message).toBe(
      "the pro tier allows 5 managed work pools and this workspace has 7; delete one (ferry work-pool delete NAME) or move to a larger tier",
    );
    expect(error.details).toEqual({ limit: "managed_pools", allowed: 5, used: 7 });
  });

  it("refuses every pool when the limit is zero", () => {
    expect(thrown(() => assertCanCreateManagedPool("free", limits({ managed_pools: 0 }), 0)).message).toMatch(
      /^the free tier allows 0 managed work pools and this workspace has 0;/,
    );
  });
});

describe("assertComputeHoursLeft", () => {
  it("allows a run while some time is left", () => {
    expect(() => assertComputeHoursLeft("free", TIERS.free, 10 * 3600 - 1)).not.toThrow();
    expect(() => assertComputeHoursLeft("free", TIERS.free, 0)).not.toThrow();
  });

  it("refuses once the month's hours are used, saying when they come back", () => {
    const error = thrown(() => assertComputeHoursLeft("free", TIERS.free, 10 * 3600));
    expect(error.code).toBe("quota_exceeded");
    expect(error.message).toBe(
      "this workspace has used its 10 managed compute hours for this month (free tier); runs can start again on the 1st (UTC), or move to a larger tier",
    );
    expect(error.details).toEqual({ limit: "compute_hours_per_month", allowed: 10, used_seconds: 36000 });
  });

  it("handles fractional hours", () => {
    expect(() => assertComputeHoursLeft("pro", limits({ compute_hours_per_month: 0.5 }), 1799.9)).not.toThrow();
    expect(() => assertComputeHoursLeft("pro", limits({ compute_hours_per_month: 0.5 }), 1800)).toThrow(FerryError);
  });
});
