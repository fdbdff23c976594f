import { describe, expect, it } from "vitest";
import type { Quota } from "@ferry/core/browser";
import { buildRunRequest, parseParametersJson } from "../src/api/deployments.js";
import { PAGE_SIZE, pageParams, totalOf } from "../src/api/paged.js";
import { totalLabel } from "../src/components/list-footer.js";
import { provisionCommand, secretVariables, withDefaults, withoutSecrets } from "../src/api/job-template.js";
import { formatNumber, quotaFigures } from "../src/api/quota.js";
import { parseLimit, typeNeeds } from "../src/components/new-work-pool-dialog.js";
import { inUse } from "../src/pages/work-pools.js";

describe("buildRunRequest: the body createFlowRun gets from the run dialog", () => {
  it("sends the parameters, and no job variables or key when none were changed or typed", () => {
    expect(buildRunRequest({ parameters: { n: 3 }, jobVariableChanges: {}, idempotencyKey: "  " })).toEqual({ parameters: { n: 3 } });
  });

  it("sends only the changed job variables and the trimmed idempotency key", () => {
    expect(
      buildRunRequest({ parameters: {}, jobVariableChanges: { pip_packages: ["requests==2.32.3"] }, idempotencyKey: " nightly-2026-12-04 " }),
    ).toEqual({ parameters: {}, job_variables: { pip_packages: ["requests==2.32.3"] }, idempotency_key: "nightly-2026-12-04" });
  });
});

describe("parseParametersJson", () => {
  it("reads an object, and an empty box as no parameters", () => {
    expect(parseParametersJson('{"name": "x", "n": 2}')).toEqual({ value: { name: "x", n: 2 } });
    expect(parseParametersJson("  ")).toEqual({ value: {} });
  });
  it("refuses what is not a JSON object, saying why", () => {
    expect(parseParametersJson("{name: x}")).toMatchObject({ error: expect.stringMatching(/not valid JSON/) });
    expect(parseParametersJson("[1, 2]")).toEqual({ error: 'Parameters must be a JSON object, e.g. {"name": "value"}' });
    expect(parseParametersJson("null")).toMatchObject({ error: expect.stringMatching(/JSON object/) });
  });
});

describe("paged lists", () => {
  it("asks for the total with the first page only, and the cursor after it", () => {
    expect(pageParams(undefined)).toEqual({ limit: PAGE_SIZE, include_total: true });
    expect(pageParams("c2")).toEqual({ limit: PAGE_SIZE, cursor: "c2" });
  });

  it("takes the total from the first page, when the server gave one", () => {
    expect(totalOf(undefined)).toBeUndefined();
    expect(totalOf([{ items: [], next_cursor: null }])).toBeUndefined();
    expect(totalOf([{ items: [], next_cursor: "c", total: 3, total_is_estimate: false }, { items: [], next_cursor: null }])).toEqual({ total: 3, total_is_estimate: false });
  });

  it("says a counted total as it is and an estimate as one", () => {
    expect(totalLabel(undefined, "pools")).toBeNull();
    expect(totalLabel({ total: 12, total_is_estimate: false }, "pools")).toBe("12 pools");
    expect(totalLabel({ total: 120_431, total_is_estimate: true }, "runs")).toBe("about 120,431 runs");
  });
});

describe("pool job template", () => {
  const variables = {
    type: "object",
    properties: {
      image: { type: "string", default: "ferry-engine:latest" },
      pip_packages: { type: "array", items: { type: "string" }, default: [] },
      token: { type: "string", format: "password" },
      key: { type: "string", writeOnly: true, default: "old" },
    },
  };

  it("finds the secret variables and keeps them out of the form's value", () => {
    expect(secretVariables(variables)).toEqual(["token", "key"]);
    expect(withoutSecrets({ image: "x", key: "old" }, ["token", "key"])).toEqual({ image: "x" });
  });

  it("writes changed defaults back into the schema, leaving the rest as it was", () => {
    const next = withDefaults(variables, { pip_packages: ["pandas"], token: "t0k", nope: 1 });
    expect(next.properties.pip_packages).toEqual({ type: "array", items: { type: "string" }, default: ["pandas"] });
    expect(next.properties.token).toEqual({ type: "string", format: "password", default: "t0k" });
    expect(next.properties.image).toBe(variables.properties.image);
    expect(Object.keys(next.properties)).toEqual(["image", "pip_packages", "token", "key"]);
    expect(variables.properties.pip_packages.default).toEqual([]);
    expect(withDefaults(variables, { key: undefined }).properties.key).toEqual({ type: "string", writeOnly: true });
  });

  it("gives the CLI's provision-infra command", () => {
    expect(provisionCommand("acme-pool")).toBe("ferry work-pool provision-infra acme-pool");
  });
});

describe("work pools", () => {
  it("shows in use / limit, unlimited when there is none", () => {
    expect(inUse(2, 5)).toBe("2 / 5");
    expect(inUse(0, null)).toBe("0 / unlimited");
    expect(inUse(0, 0)).toBe("0 / 0");
  });

  it("reads the concurrency limit field", () => {
    expect(parseLimit("")).toBeNull();
    expect(parseLimit(" 4 ")).toBe(4);
    expect(parseLimit("0")).toBe(0);
    expect(parseLimit("-1")).toBe("invalid");
    expect(parseLimit("2.5")).toBe("invalid");
    expect(parseLimit("99999999999")).toBe("invalid");
  });

  it("says what each type needs", () => {
    const base = { description: "", plugin: null, default_base_job_template: { variables: { type: "object" as const, properties: {} }, job_configuration: {} } };
    expect(typeNeeds({ ...base, type: "ferry:managed", managed: true, credentials_type: null })).toMatch(/counts against your tier/);
    expect(typeNeeds({ ...base, type: "acme:push", managed: false, credentials_type: "acme" })).toMatch(/credentials of type acme/);
  });
});

describe("quota figures", () => {
  it("shows used / limit, compute in hours with two decimals", () => {
    const quota: Quota = {
      tier: "free",
      limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
      period_start: "2026-12-01T00:00:00Z",
      usage: { managed_pools: 1, concurrent_managed_runs: 0, queued_managed_runs: 0, compute_seconds: 42 },
    };
    expect(quotaFigures(quota)).toEqual({ computeHours: "0.01 / 10", concurrentRuns: "0 / 1", pools: "1 / 1" });
  });

  it("shows a few seconds of compute as more than none", () => {
    expect(formatNumber(11 / 3600)).toBe("0.0031");
    expect(formatNumber(1 / 3600)).toBe("0.00028");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(18 / 3600)).toBe("0.01");
  });
});
