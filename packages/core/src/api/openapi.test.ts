import { describe, expect, it } from "vitest";
import { createAjv } from "../json-schema.js";
import { StateSchema } from "../models.js";
import { buildOpenApiDocument, withRefs } from "./openapi.js";
import { REQUEST_EXAMPLES, RESPONSE_EXAMPLES } from "./openapi-examples.js";
import { ROUTES, type RouteDef, type RouteName } from "./routes.js";

type Obj = Record<string, unknown>;
const doc = buildOpenApiDocument({ version: "1.2.3", serverUrl: "https://ferry.example.com" }) as Obj & {
  paths: Record<string, Record<string, Obj & { operationId: string; responses: Record<string, Obj> }>>;
  components: { schemas: Record<string, Obj> };
};
const ENTRIES = Object.entries(ROUTES) as [RouteName, RouteDef][];

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

/** Validates `value` against a schema of the document, its $refs resolved against the document. */
function validator(schema: Obj) {
  const ajv = createAjv();
  ajv.addSchema({ $id: "doc", components: doc.components }, "doc");
  const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as Obj;
  return ajv.compile(rebased);
}

describe("buildOpenApiDocument", () => {
  it("has one operation for every route, at its method and path, with the server's URL", () => {
    for (const [name, route] of ENTRIES) {
      expect(doc.paths[route.path]?.[route.method.toLowerCase()]?.operationId, name).toBe(name);
    }
    expect(doc.servers).toEqual([{ url: "https://ferry.example.com", description: "This Ferry server" }]);
    expect(buildOpenApiDocument({ version: "1" }).servers).toEqual([{ url: "/", description: "This Ferry server" }]);
  });

  it("references named schemas instead of repeating them, and every reference resolves", () => {
    const run = doc.paths["/api/flow-runs/{id}"]!.get!.responses["200"] as { content: Record<string, { schema: Obj }> };
    expect(run.content["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/FlowRun" });
    expect(JSON.stringify(doc.components.schemas.ListFlowRunsResponse)).toContain('"$ref":"#/components/schemas/FlowRun"');
    expect(doc.components.schemas.FlowRun!.$ref).toBeUndefined();
    for (const ref of refs(doc)) {
      const [, kind, name] = /^#\/components\/(\w+)\/(\w+)$/.exec(ref) ?? [];
      expect((doc.components as Record<string, Obj>)[kind!]?.[name!], ref).toBeDefined();
    }
  });

  it("gives every route its error responses in the error shape, and a security requirement", () => {
    for (const [name, route] of ENTRIES) {
      const op = doc.paths[route.path]![route.method.toLowerCase()]!;
      expect(Object.keys(op.responses), name).toEqual(expect.arrayContaining([String(route.status), "400", "4XX", "5XX"]));
      expect(op.security, name).toEqual(route.public ? [] : expect.arrayContaining([expect.any(Object)]));
    }
    const check = validator({ $ref: "#/components/schemas/ErrorResponse" });
    expect(check({ error: { code: "not_found", message: "gone" } })).toBe(true);
    expect(check({ error: { code: "made_up", message: "gone" } })).toBe(false);
  });

  it("describes the event streams as text/event-stream with their event types", () => {
    const stream = doc.paths["/api/flow-runs/{id}/events"]!.get!.responses["200"] as { content: Record<string, Obj> };
    expect(Object.keys(stream.content["text/event-stream"]!["x-sse-events"] as Obj)).toEqual(["state", "log", "end"]);
    expect(doc.paths["/api/events"]!.get!.operationId).toBe("streamWorkspaceEvents");
  });

  it("has examples that the document's own schemas accept", () => {
    for (const [name, example] of Object.entries(REQUEST_EXAMPLES)) {
      const route = ROUTES[name as RouteName] as RouteDef;
      const body = doc.paths[route.path]![route.method.toLowerCase()]!.requestBody as { content: Record<string, { schema: Obj; example: unknown }> };
      const media = body.content["application/json"]!;
      expect(media.example).toEqual(example);
      const check = validator(media.schema);
      expect(check(structuredClone(example)), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
    for (const [name, example] of Object.entries(RESPONSE_EXAMPLES)) {
      const route = ROUTES[name as RouteName] as RouteDef;
      const ok = doc.paths[route.path]![route.method.toLowerCase()]!.responses[String(route.status)] as { content: Record<string, { schema: Obj }> };
      const check = validator(ok.content["application/json"]!.schema);
      expect(check(structuredClone(example)), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
  });
});

describe("withRefs", () => {
  it("turns a nullable copy of a named schema into anyOf with null", () => {
    const nullable = { ...JSON.parse(JSON.stringify(StateSchema)), type: ["object", "null"] };
    expect(withRefs({ type: "object", properties: { s: nullable } } as never)).toEqual({
      type: "object",
      properties: { s: { anyOf: [{ $ref: "#/components/schemas/State" }, { type: "null" }] } },
    });
  });
});
