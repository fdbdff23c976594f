import { afterEach, describe, expect, it, vi } from "vitest";
import { FerryError, type ValidationIssue } from "./errors.js";
import { schemaCacheStats } from "./json-schema.js";
import {
  placeholders,
  renderJobConfiguration,
  resolveJobVariables,
  resolveJobVariablesWith,
  templateDefaults,
  validateBaseJobTemplate,
  validateJobVariables,
  type BaseJobTemplate,
} from "./job-template.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

function issuesOf(error: FerryError): ValidationIssue[] {
  return (error.details as { issues: ValidationIssue[] }).issues;
}

/** A template like a push pool's: required, typed, defaulted and free-form variables. */
function pushTemplate(): BaseJobTemplate {
  return {
    variables: {
      type: "object",
      required: ["cluster"],
      properties: {
        cluster: { type: "string", minLength: 1 },
        cpu: { type: "integer", minimum: 256, default: 1024 },
        memory: { type: "integer", default: 2048 },
        image: { type: "string", default: "ferry-engine:latest" },
        env: { type: "object", additionalProperties: { type: "string" }, default: {} },
        command: { type: "array", items: { type: "string" } },
        subnets: { type: "array", items: { type: "string" }, default: [] },
        assign_public_ip: { type: "boolean", default: true },
        launch_type: { type: "string", enum: ["STANDARD", "RESERVED"], default: "STANDARD" },
        role_arn: { type: "string" },
      },
    },
    job_configuration: {
      cluster: "{{ cluster }}",
      task_definition: {
        cpu: "{{cpu}}",
        memory: "{{ memory }}",
        family: "ferry-{{ cluster }}",
        container: { image: "{{ image }}", environment: "{{ env }}", command: "{{ command }}" },
      },
      network: { subnets: "{{ subnets }}", public_ip: "{{ assign_public_ip }}" },
      launch_type: "{{ launch_type }}",
      task_role_arn: "{{ role_arn }}",
    },
  };
}

describe("validateBaseJobTemplate", () => {
  it("returns a valid template unchanged", () => {
    const template = pushTemplate();
    expect(validateBaseJobTemplate(template)).toEqual(pushTemplate());
  });

  it.each([[null], ["template"], [42], [[]], [[{ variables: {} }]]])("refuses %j as a template", (value) => {
    const error = thrown(() => validateBaseJobTemplate(value));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("base_job_template must be an object with 'variables' and 'job_configuration'");
  });

  it("reports a bad variables schema and a bad job configuration together", () => {
    const error = thrown(() => validateBaseJobTemplate({ variables: { type: "array" }, job_configuration: ["a"] }));
    expect(error.message).toBe(
      "invalid base_job_template: /variables must be a JSON Schema of type 'object' with 'properties'; /job_configuration must be an object",
    );
    expect(issuesOf(error)).toEqual([
      { path: "/variables", message: "must be a JSON Schema of type 'object' with 'properties'" },
      { path: "/job_configuration", message: "must be an object" },
    ]);
  });

  it.each([
    ["missing variables", { job_configuration: {} }, "/variables"],
    ["variables without properties", { variables: { type: "object" }, job_configuration: {} }, "/variables"],
    ["null job configuration", { variables: { type: "object", properties: {} }, job_configuration: null }, "/job_configuration"],
    ["missing job configuration", { variables: { type: "object", properties: {} } }, "/job_configuration"],
  ])("refuses %s", (_what, value, path) => {
    const error = thrown(() => validateBaseJobTemplate(value));
    expect(error.code).toBe("validation_failed");
    expect(issuesOf(error).map((i) => i.path)).toEqual([path]);
  });

  it("refuses a variables schema that is not valid JSON Schema", () => {
    const error = thrown(() =>
      validateBaseJobTemplate({ variables: { type: "object", properties: { cpu: { type: "integr" } } }, job_configuration: {} }),
    );
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^base_job_template\.variables is not a valid JSON Schema: /);
  });

  it("names every placeholder that is not a declared variable", () => {
    const error = thrown(() =>
      validateBaseJobTemplate({
        variables: { type: "object", properties: { image: { type: "string" } } },
        job_configuration: { image: "{{ image }}", args: ["--region={{ region }}"], nested: { a: { b: "{{zone}}" } } },
      }),
    );
    expect(error.message).toBe(
      "invalid base_job_template: /job_configuration refers to '{{ region }}', which is not a declared variable; " +
        "/job_configuration refers to '{{ zone }}', which is not a declared variable",
    );
  });

  // Ajv and the renderer read variables as plain properties, so an unset variable called `constructor`
  // sees Object.prototype.constructor: every run of such a pool fails with "/constructor must be string".
  // The template has to be refused when it is saved, naming the variable to rename.
  it.each(["constructor", "toString", "hasOwnProperty", "__proto__"])("refuses a variable named %s, which every object already has", (name) => {
    const template = {
      variables: { type: "object", properties: JSON.parse(`{"${name}": {"type": "string"}}`) as Record<string, unknown> },
      job_configuration: { a: `{{ ${name} }}` },
    };
    const error = thrown(() => validateBaseJobTemplate(template));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain(`'${name}'`);
  });

  it("accepts an empty template", () => {
    expect(validateBaseJobTemplate({ variables: { type: "object", properties: {} }, job_configuration: {} })).toEqual({
      variables: { type: "object", properties: {} },
      job_configuration: {},
    });
  });
});

describe("placeholders", () => {
  it("finds names in strings, arrays and nested objects, with or without spaces", () => {
    expect([...placeholders({ a: "{{a}}", b: ["x {{ b }} y {{c}}"], d: { e: { f: "{{  d  }}" } }, n: 3, t: true, z: null })].sort()).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("ignores text that only looks like a placeholder", () => {
    expect([...placeholders(["{{ 1abc }}", "{{ a.b }}", "{ a }", "{{}}"])]).toEqual([]);
  });
});

describe("validateJobVariables", () => {
  it("returns the values as given, without defaults", () => {
    expect(validateJobVariables(pushTemplate(), { cpu: 512 })).toEqual({ cpu: 512 });
  });

  it("lets a partial set through (required is checked when the run is resolved)", () => {
    expect(validateJobVariables(pushTemplate(), { image: "python:3.12" })).toEqual({ image: "python:3.12" });
  });

  it("treats missing variables as none", () => {
    expect(validateJobVariables(pushTemplate(), undefined)).toEqual({});
    expect(validateJobVariables(pushTemplate(), null)).toEqual({});
  });

  it.each([[["cpu", 1]], "cpu=1", 7])("refuses %j, naming what was expected", (value) => {
    const error = thrown(() => validateJobVariables(pushTemplate(), value, "job variables for pool 'p'"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("job variables for pool 'p' must be an object of name: value");
  });

  it("refuses an unknown key and lists the known variables", () => {
    const error = thrown(() => validateJobVariables(pushTemplate(), { cpus: 2 }));
    expect(error.message).toBe(
      "job variables are invalid (known variables: assign_public_ip, cluster, command, cpu, env, image, launch_type, memory, role_arn, subnets): " +
        "/cpus is not a known field",
    );
    expect(issuesOf(error)).toEqual([{ path: "/cpus", message: "is not a known field" }]);
  });

  it("refuses an unknown key even when the template allows additional properties", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", additionalProperties: true, properties: { image: { type: "string" } } },
      job_configuration: { image: "{{ image }}" },
    };
    const error = thrown(() => validateJobVariables(template, { imgae: "python:3.12" }, "job variables for pool 'p'"));
    expect(error.message).toBe("job variables for pool 'p' are invalid (known variables: image): /imgae is not a known field");
  });

  it("says 'none' when the template declares no variables", () => {
    const template: BaseJobTemplate = { variables: { type: "object", properties: {} }, job_configuration: {} };
    expect(thrown(() => validateJobVariables(template, { x: 1 })).message).toBe(
      "job variables are invalid (known variables: none): /x is not a known field",
    );
  });

  it("reports every wrong type with its path", () => {
    const error = thrown(() =>
      validateJobVariables(pushTemplate(), { cpu: "1024", env: { DEBUG: 1 }, command: "python main.py", launch_type: "LAMBDA" }),
    );
    expect(error.code).toBe("validation_failed");
    expect(issuesOf(error)).toEqual(
      expect.arrayContaining([
        { path: "/cpu", message: "must be integer" },
        { path: "/env/DEBUG", message: "must be string" },
        { path: "/command", message: "must be array" },
        { path: "/launch_type", message: 'must be one of "STANDARD", "RESERVED"' },
      ]),
    );
    expect(issuesOf(error)).toHaveLength(4);
  });

  it("does not coerce types", () => {
    expect(() => validateJobVariables(pushTemplate(), { assign_public_ip: "true" })).toThrow(/\/assign_public_ip must be boolean/);
  });

  it("does not modify or share the object it is given", () => {
    const input = { env: { A: "1" } };
    const out = validateJobVariables(pushTemplate(), input);
    expect(input).toEqual({ env: { A: "1" } });
    expect(out.env).not.toBe(input.env);
  });
});

describe("resolveJobVariables", () => {
  it("fills every default and keeps what the layers set", () => {
    expect(resolveJobVariables(pushTemplate(), { cluster: "prod" })).toEqual({
      cluster: "prod",
      cpu: 1024,
      memory: 2048,
      image: "ferry-engine:latest",
      env: {},
      subnets: [],
      assign_public_ip: true,
      launch_type: "STANDARD",
    });
  });

  it("lets a later layer win (pool < deployment < run), replacing objects whole", () => {
    const out = resolveJobVariables(
      pushTemplate(),
      { cluster: "pool-cluster", cpu: 512, env: { A: "pool", B: "pool" } },
      { cluster: "deploy-cluster", env: { A: "deployment" } },
      { cpu: 2048 },
    );
    expect(out).toMatchObject({ cluster: "deploy-cluster", cpu: 2048, env: { A: "deployment" } });
  });

  it("skips missing layers and undefined values", () => {
    expect(resolveJobVariables(pushTemplate(), null, { cluster: "c", cpu: 512 }, undefined, { cpu: undefined })).toMatchObject({ cluster: "c", cpu: 512 });
  });

  it("refuses a run whose required variables are still missing", () => {
    const error = thrown(() => resolveJobVariables(pushTemplate(), { cpu: 512 }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("job variables are incomplete or invalid: must have required property 'cluster'");
  });

  it("refuses unknown keys and wrong types in any layer", () => {
    expect(thrown(() => resolveJobVariables(pushTemplate(), { cluster: "c" }, { clutser: "d" })).message).toBe(
      "job variables are incomplete or invalid: /clutser is not a known field",
    );
    expect(thrown(() => resolveJobVariables(pushTemplate(), { cluster: "c", cpu: 100 })).message).toBe(
      "job variables are incomplete or invalid: /cpu must be >= 256",
    );
  });

  it("gives each run its own copy of an object default", () => {
    const first = resolveJobVariables(pushTemplate(), { cluster: "c" });
    (first.env as Record<string, string>).LEAK = "yes";
    (first.subnets as string[]).push("subnet-1");
    const second = resolveJobVariables(pushTemplate(), { cluster: "c" });
    expect(second.env).toEqual({});
    expect(second.subnets).toEqual([]);
    expect(templateDefaults(pushTemplate()).env).toEqual({});
  });

  // A deployment's stored job_variables are passed in as a layer; filling nested defaults must not write into them.
  it("does not modify the layers it is given", () => {
    const template: BaseJobTemplate = {
      variables: {
        type: "object",
        properties: {
          resources: { type: "object", properties: { cpu: { type: "string", default: "1" }, memory: { type: "string", default: "2Gi" } } },
        },
      },
      job_configuration: { resources: "{{ resources }}" },
    };
    const deployment = { resources: { memory: "4Gi" } };
    const out = resolveJobVariables(template, deployment);
    expect(out).toEqual({ resources: { cpu: "1", memory: "4Gi" } });
    expect(deployment).toEqual({ resources: { memory: "4Gi" } });
  });
});

describe("renderJobConfiguration", () => {
  it("renders a whole configuration from resolved variables", () => {
    const template = pushTemplate();
    const variables = resolveJobVariables(template, { cluster: "prod", env: { LEVEL: "debug" }, command: ["python", "-m", "flow"] });
    expect(renderJobConfiguration(template, variables)).toEqual({
      cluster: "prod",
      task_definition: {
        cpu: 1024,
        memory: 2048,
        family: "ferry-prod",
        container: { image: "ferry-engine:latest", environment: { LEVEL: "debug" }, command: ["python", "-m", "flow"] },
      },
      network: { subnets: [], public_ip: true },
      launch_type: "STANDARD",
    });
  });

  it("keeps the type of a whole placeholder's value", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", properties: {} },
      job_configuration: { n: "{{ n }}", b: "{{b}}", o: "{{ o }}", a: "{{ a }}", z: "{{ z }}", s: "{{ s }}" },
    };
    expect(renderJobConfiguration(template, { n: 0, b: false, o: { x: [1] }, a: [1, "2"], z: null, s: "" })).toEqual({
      n: 0,
      b: false,
      o: { x: [1] },
      a: [1, "2"],
      z: null,
      s: "",
    });
  });

  it("interpolates values as text inside longer strings", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", properties: {} },
      job_configuration: { s: "{{ name }}:{{ port }} {{ on }} {{ obj }} [{{ nothing }}] [{{ nil }}] {{ name }}" },
    };
    expect(renderJobConfiguration(template, { name: "api", port: 8080, on: true, obj: { a: 1 }, nil: null })).toEqual({
      s: 'api:8080 true {"a":1} [] [] api',
    });
  });

  it("does not treat $ patterns in a value as replacement syntax", () => {
    const template: BaseJobTemplate = { variables: { type: "object", properties: {} }, job_configuration: { s: "pw={{ v }}" } };
    expect(renderJobConfiguration(template, { v: "$&$1$$" })).toEqual({ s: "pw=$&$1$$" });
  });

  it("leaves out a key whose whole placeholder is unset, and such an array item", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", properties: {} },
      job_configuration: { keep: "x", role: "{{ role }}", nested: { role: "{{ role }}", other: 1 }, args: ["a", "{{ role }}", "b", "{{ flag }}"] },
    };
    expect(renderJobConfiguration(template, { flag: "--debug" })).toEqual({ keep: "x", nested: { other: 1 }, args: ["a", "b", "--debug"] });
  });

  it("renders placeholders inside arrays of objects", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", properties: {} },
      job_configuration: { containers: [{ name: "flow-{{ id }}", ports: ["{{ port }}"] }] },
    };
    expect(renderJobConfiguration(template, { id: "r1", port: 80 })).toEqual({ containers: [{ name: "flow-r1", ports: [80] }] });
  });

  it("copies values, so a rendered job does not alias the variables or the template", () => {
    const template = pushTemplate();
    const variables = resolveJobVariables(template, { cluster: "prod" });
    const rendered = renderJobConfiguration(template, variables) as { task_definition: { container: { environment: Record<string, string> } } };
    rendered.task_definition.container.environment.X = "1";
    expect(variables.env).toEqual({});
    expect(template.job_configuration).toEqual(pushTemplate().job_configuration);
  });

  it("keeps literal values that are not strings", () => {
    const template: BaseJobTemplate = { variables: { type: "object", properties: {} }, job_configuration: { n: 1, b: true, z: null, l: [2, false] } };
    expect(renderJobConfiguration(template, {})).toEqual({ n: 1, b: true, z: null, l: [2, false] });
  });

});

describe("templateDefaults", () => {
  it("lists the declared defaults and nothing else", () => {
    expect(templateDefaults(pushTemplate())).toEqual({
      cpu: 1024,
      memory: 2048,
      image: "ferry-engine:latest",
      env: {},
      subnets: [],
      assign_public_ip: true,
      launch_type: "STANDARD",
    });
  });

  it("keeps falsy defaults", () => {
    const template: BaseJobTemplate = {
      variables: { type: "object", properties: { a: { default: 0 }, b: { default: false }, c: { default: null }, d: { default: "" } } },
      job_configuration: {},
    };
    expect(templateDefaults(template)).toEqual({ a: 0, b: false, c: null, d: "" });
  });

  it("returns copies, not the template's own objects", () => {
    const template = pushTemplate();
    const defaults = templateDefaults(template);
    (defaults.env as Record<string, string>).X = "1";
    expect(template.variables.properties.env).toEqual({ type: "object", additionalProperties: { type: "string" }, default: {} });
  });
});

describe("a template's compiled schemas, found by the template's cache key", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("are compiled once for many runs, and the template's schema is never serialised to find them", () => {
    const template = pushTemplate();
    const key = `pool-${Math.random()}:hash-1`;
    const before = schemaCacheStats();
    const stringify = vi.spyOn(JSON, "stringify");
    for (let i = 0; i < 50; i++) {
      const run = validateJobVariables(template, { cpu: 256 + i }, "job variables", { cacheKey: key });
      resolveJobVariablesWith(template, [{ cluster: "prod" }, run], { cacheKey: key });
    }
    const after = schemaCacheStats();
    // The two schemas (without and with 'required') compiled on the first run only.
    expect(after.misses - before.misses).toBe(2);
    expect(after.hits - before.hits).toBe(98);
    const schemaSerialised = stringify.mock.calls.filter(([value]) => {
      const v = value as { properties?: unknown } | null;
      return typeof v === "object" && v !== null && v.properties === template.variables.properties;
    });
    // Once per schema, on its compilation (its size is checked then), and never again.
    expect(schemaSerialised).toHaveLength(2);
  });

  it("follow the key: a changed template under a new key is compiled anew and validated by its new schema", () => {
    const template = pushTemplate();
    const pool = `pool-${Math.random()}`;
    expect(validateJobVariables(template, { cpu: 512 }, "job variables", { cacheKey: `${pool}:v1` })).toEqual({ cpu: 512 });
    const changed: BaseJobTemplate = {
      ...template,
      variables: { ...template.variables, properties: { ...template.variables.properties, cpu: { type: "string" } } },
    };
    const before = schemaCacheStats();
    expect(() => validateJobVariables(changed, { cpu: 512 }, "job variables", { cacheKey: `${pool}:v2` })).toThrow(/cpu/);
    expect(schemaCacheStats().misses - before.misses).toBe(1);
  });

  it("without a key, are still found by content", () => {
    const before = schemaCacheStats();
    resolveJobVariables(pushTemplate(), { cluster: "c" });
    resolveJobVariables(pushTemplate(), { cluster: "c" });
    expect(schemaCacheStats().misses - before.misses).toBeLessThanOrEqual(1);
    expect(schemaCacheStats().hits - before.hits).toBeGreaterThanOrEqual(1);
  });
});
