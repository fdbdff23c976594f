import type { TObject } from "@sinclair/typebox";
import { Ajv } from "ajv";
import { describe, expect, expectTypeOf, it } from "vitest";
import { FLOW_RUN_EVENTS_PATH, ROUTES, routePath, type RouteDef, type RouteInput, type RouteName } from "./routes.js";

const ENTRIES = Object.entries(ROUTES) as [RouteName, RouteDef][];

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}

function schemaParams(route: RouteDef): string[] {
  return Object.keys((route.params as TObject | undefined)?.properties ?? {}).sort();
}

describe("ROUTES", () => {
  it.each(ENTRIES)("%s declares exactly the parameters its path has", (_name, route) => {
    expect(schemaParams(route)).toEqual(pathParams(route.path));
    if (pathParams(route.path).length === 0) expect(route.params).toBeUndefined();
  });

  it.each(ENTRIES.filter(([, r]) => r.params))("%s requires every path parameter to be a string", (_name, route) => {
    const params = route.params as TObject;
    expect([...(params.required ?? [])].sort()).toEqual(pathParams(route.path));
    for (const key of pathParams(route.path)) expect(params.properties[key]!.type).toBe("string");
  });

  it("has no two routes on the same method and path", () => {
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const [name, route] of ENTRIES) {
      // {id} and {name} in the same place are the same route to a router.
      const key = `${route.method} ${route.path.replace(/\{\w+\}/g, "{}")}`;
      if (seen.has(key)) duplicates.push(`${seen.get(key)} and ${name}: ${key}`);
      seen.set(key, name);
    }
    expect(duplicates).toEqual([]);
  });

  it("keeps the event stream's path apart from every JSON route", () => {
    expect(FLOW_RUN_EVENTS_PATH).toBe("/api/flow-runs/{id}/events");
    expect(ENTRIES.filter(([, r]) => r.method === "GET" && r.path === FLOW_RUN_EVENTS_PATH)).toEqual([]);
  });

  it.each(ENTRIES)("%s lives under /api/ with a summary and a success status", (_name, route) => {
    expect(route.path).toMatch(/^\/api\/[a-z0-9/{}-]+$/);
    expect(route.summary.length).toBeGreaterThan(0);
    expect([200, 201]).toContain(route.status);
  });

  it("sends bodies only with POST, PUT and PATCH", () => {
    for (const [name, route] of ENTRIES) {
      if (route.method === "GET" || route.method === "DELETE") expect(route.body, name).toBeUndefined();
    }
    for (const [name, route] of ENTRIES.filter(([, r]) => r.method === "PUT" || r.method === "PATCH")) expect(route.body, name).toBeDefined();
  });

  it("puts operator routes under /api/admin/ and only there", () => {
    for (const [name, route] of ENTRIES) expect(route.tag === "admin", name).toBe(route.path.startsWith("/api/admin/"));
  });

  it("tells API users what a reused idempotency key does: the same run back, or 409 with both requests", () => {
    const body = ROUTES.createFlowRun.body as TObject;
    const description = body.properties.idempotency_key!.description ?? "";
    expect(description).toMatch(/returns the run it made \(`created: false`\)/);
    expect(description).toMatch(/409 `conflict`.*both requests/);
  });

  it("types a call's input from the route", () => {
    expectTypeOf<RouteInput<"getFlowRun">["params"]>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<RouteInput<"getWorkPool">["params"]>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<RouteInput<"listWorkPools">["params"]>().toEqualTypeOf<undefined>();
    expectTypeOf<RouteInput<"createApiKey">["body"]>().toEqualTypeOf<{ name: string }>();
  });
});

describe("routePath", () => {
  it("fills in parameters", () => {
    expect(routePath("/api/deployments/{id}/runs", { id: "0195" })).toBe("/api/deployments/0195/runs");
    expect(routePath("/api/work-pools", undefined)).toBe("/api/work-pools");
  });

  it("encodes each parameter as one path segment", () => {
    expect(routePath("/api/work-pools/{name}", { name: "a b/../c?d#e%" })).toBe("/api/work-pools/a%20b%2F..%2Fc%3Fd%23e%25");
  });

  // fetch resolves dot segments: '/api/flow-runs/../cancel' is sent as '/api/cancel', and
  // '/api/flow-runs/.' as '/api/flow-runs/', the list route. A parameter must stay in its segment or be refused.
  it.each([".", "..", "%2e%2e"])("never builds a path that a URL resolves to another route (%j)", (value) => {
    let path: string;
    try {
      path = routePath("/api/flow-runs/{id}/cancel", { id: value });
    } catch (error) {
      expect((error as Error).message).toContain("'id'");
      return;
    }
    expect(new URL(path, "http://127.0.0.1").pathname).toBe(path);
  });

  it("turns numbers into text, including zero", () => {
    expect(routePath("/x/{id}", { id: 0 })).toBe("/x/0");
  });

  it("fills every occurrence and ignores extra parameters", () => {
    expect(routePath("/a/{id}/b/{name}", { id: "1", name: "n", other: "o" })).toBe("/a/1/b/n");
  });

  it.each([
    ["no params", undefined],
    ["an empty object", {}],
    ["an empty string", { id: "" }],
    ["null", { id: null }],
    ["undefined", { id: undefined }],
  ])("refuses a missing parameter (%s)", (_what, params) => {
    expect(() => routePath("/api/flow-runs/{id}", params)).toThrow("missing path parameter 'id'");
  });
});

describe("nullable fields under a coercing validator (the server coerces types for query strings)", () => {
  // The server's own options: see packages/server/src/http/app.ts.
  const ajv = new Ajv({ coerceTypes: "array", useDefaults: true, allErrors: true, strict: false });

  it("keep a JSON null a null and a number a number", () => {
    const validate = ajv.compile(ROUTES.updateWorkPool.body!);
    const cleared = { concurrency_limit: null, credentials: null, description: null };
    expect(validate(cleared)).toBe(true);
    expect(cleared).toEqual({ concurrency_limit: null, credentials: null, description: null });
    const limited: Record<string, unknown> = { concurrency_limit: 3 };
    expect(validate(limited)).toBe(true);
    expect(limited).toEqual({ concurrency_limit: 3 });
    expect(validate({ concurrency_limit: -1 })).toBe(false);
  });

  it("keep a null branch and commit of a deployment's source", () => {
    const validate = ajv.compile(ROUTES.applyDeployment.body!);
    const body = { flow_name: "etl", name: "n", work_pool: "p", entrypoint: "a.py:f", source: { git_url: "https://example.invalid/r.git", branch: null, commit: null, credentials: null } };
    expect(validate(body)).toBe(true);
    expect(body.source).toEqual({ git_url: "https://example.invalid/r.git", branch: null, commit: null, credentials: null });
  });
});

describe("ROUTES roles", () => {
  it.each(ENTRIES)("%s names the weakest role that may call it, unless it is public or the operator's", (_name, route) => {
    const operator = route.path.startsWith("/api/admin/");
    if (route.public || operator) expect(route.role).toBeUndefined();
    else expect(["viewer", "runner", "deployer", "admin"]).toContain(route.role);
  });

  it("lets a viewer only read, a runner only run, a deployer only deploy", () => {
    const byRole = (role: string) => ENTRIES.filter(([, r]) => r.role === role).map(([n]) => n);
    for (const [, r] of ENTRIES.filter(([, r]) => r.role === "viewer")) {
      if (r.method !== "GET") expect(r.path).toBe("/api/session");
    }
    expect(byRole("runner").sort()).toEqual(["cancelFlowRun", "createFlowRun", "retryFlowRun"]);
    expect(byRole("deployer").sort()).toEqual([
      "addDeploymentSchedule",
      "applyDeployment",
      "deleteDeployment",
      "deleteDeploymentSchedule",
      "deleteSecret",
      "deleteVariable",
      "putSecret",
      "putVariable",
      "updateDeploymentSchedule",
    ]);
  });
});
