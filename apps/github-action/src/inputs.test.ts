import { describe, expect, it } from "vitest";
import { ActionInputError, parseInputs, parseObject, splitList } from "./inputs.js";

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? "";
const base = { "api-url": "https://ferry.example.com/", "api-key": "fy_x", command: "deploy" };

describe("parseInputs", () => {
  it("fills defaults and trims the URL", () => {
    const inputs = parseInputs(reader(base));
    expect(inputs).toMatchObject({ apiUrl: "https://ferry.example.com", command: "deploy", file: "ferry.yaml", deployments: [], wait: true, timeoutSeconds: null, githubToken: null });
  });

  it("takes no api-key (OIDC then), with the default audience", () => {
    const inputs = parseInputs(reader({ ...base, "api-key": "", workspace: "0191d2a0-0000-7000-8000-000000000001" }));
    expect(inputs).toMatchObject({ apiKey: null, workspace: "0191d2a0-0000-7000-8000-000000000001", oidcAudience: "ferry" });
    expect(parseInputs(reader({ ...base, "oidc-audience": "https://ferry.acme.dev" })).oidcAudience).toBe("https://ferry.acme.dev");
  });

  it.each([
    [{ "api-url": "" }, /input 'api-url' is required/],
    [{ "api-url": "ferry.example.com" }, /input 'api-url' must be an http\(s\) URL/],
    [{ workspace: "acme" }, /input 'workspace' 'acme' must be the workspace's id/],
    [{ command: "ship" }, /input 'command' must be 'deploy', 'run' or 'delete', not 'ship'/],
    [{ command: "run" }, /input 'deployment' is required with command 'run'/],
    [{ command: "run", deployment: "nightly" }, /input 'deployment' 'nightly' must be FLOW_NAME\/DEPLOYMENT_NAME/],
    [{ timeout: "soon" }, /input 'timeout' must be a positive number of seconds/],
    [{ wait: "yes" }, /input 'wait' must be true or false/],
    [{ parameters: "[1, 2]" }, /input 'parameters' must be a mapping/],
    [{ "job-variables": "{bad" }, /input 'job-variables' is not valid JSON or YAML/],
    [{ "allow-pr-deploy": "maybe" }, /input 'allow-pr-deploy' must be true or false/],
    [{ name: "etl pr 12" }, /input 'name' 'etl pr 12' must be letters, digits/],
    [{ command: "run", deployment: "etl/nightly", name: "x" }, /input 'name' is for 'deploy' and 'delete'/],
    [{ matrix: "[1]" }, /input 'matrix' must be a JSON object/],
  ])("rejects %j naming the input", (over, message) => {
    const call = () => parseInputs(reader({ ...base, ...over }));
    expect(call).toThrow(ActionInputError);
    expect(call).toThrow(message);
  });
});

describe("matrix", () => {
  it("reads toJSON(matrix), and treats no matrix (null, unset, an unrendered default) as {}", () => {
    expect(parseInputs(reader({ ...base, matrix: '{"python": "3.12", "shard": 1}' })).matrix).toEqual({ python: "3.12", shard: 1 });
    for (const none of ["", "null", "${{ toJSON(matrix) }}"]) expect(parseInputs(reader({ ...base, matrix: none })).matrix).toEqual({});
  });
});

describe("parseObject", () => {
  it("reads JSON and YAML mappings alike, empty as {}", () => {
    expect(parseObject("parameters", '{"day": "2026-01-01", "n": 3}')).toEqual({ day: "2026-01-01", n: 3 });
    expect(parseObject("parameters", "day: '2026-01-01'\nn: 3\nitems: [a, b]")).toEqual({ day: "2026-01-01", n: 3, items: ["a", "b"] });
    expect(parseObject("parameters", "  \n")).toEqual({});
  });
});

describe("splitList", () => {
  it("splits on commas and newlines, dropping blanks", () => {
    expect(splitList("etl/nightly, hourly\n\n  other ,")).toEqual(["etl/nightly", "hourly", "other"]);
  });
});
