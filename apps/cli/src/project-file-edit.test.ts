import { describe, expect, it } from "vitest";
import { parseProjectFile } from "@ferry/core";
import { upsertDeployment } from "./project-file-edit.js";

const entry = { name: "nightly", entrypoint: "flows/etl.py:etl", work_pool: "managed", parameters: { day: "2026-01-01", n: 3 }, schedules: [{ cron: "0 9 * * *", timezone: "Europe/Paris" }] };

describe("upsertDeployment", () => {
  it("writes a new ferry.yaml that the project file parser reads back", () => {
    const text = upsertDeployment(null, entry);
    expect(text).toMatch(/^# Ferry project file/);
    const project = parseProjectFile(text);
    expect(project.deployments).toEqual([
      expect.objectContaining({ name: "nightly", flow_name: "etl", entrypoint: "flows/etl.py:etl", work_pool: "managed", parameters: { day: "2026-01-01", n: 3 } }),
    ]);
    expect(project.deployments[0]!.schedules).toEqual([expect.objectContaining({ cron: "0 9 * * *", timezone: "Europe/Paris" })]);
  });

  it("adds a deployment to an existing file, keeping its comments and other deployments", () => {
    const before = [
      "# our flows",
      "source: { git_url: https://github.com/acme/flows.git, branch: main }  # default source",
      "deployments:",
      "  # the hourly one",
      "  - name: hourly",
      "    entrypoint: flows/etl.py:etl",
      "    work_pool: { name: managed }",
      "",
    ].join("\n");
    const after = upsertDeployment(before, entry);
    expect(after).toContain("# our flows");
    expect(after).toContain("# default source");
    expect(after).toContain("# the hourly one");
    expect(parseProjectFile(after).deployments.map((d) => d.name)).toEqual(["hourly", "nightly"]);
  });

  it("replaces the deployment of the same flow and name, keeping the keys it does not ask about", () => {
    const before = [
      "deployments:",
      "  - name: nightly  # the main one",
      "    entrypoint: flows/old.py:etl",
      "    work_pool: { name: old-pool, job_variables: { pip_packages: [pandas] } }",
      "    tags: [etl]",
      "    parameters: { day: old }",
      "  - name: nightly",
      "    flow_name: other",
      "    entrypoint: flows/other.py:main",
      "    work_pool: { name: managed }",
      "",
    ].join("\n");
    const after = upsertDeployment(before, { name: "nightly", entrypoint: "flows/etl.py:etl", work_pool: "managed" });
    expect(after).toContain("# the main one");
    const [first, second] = parseProjectFile(after).deployments;
    expect(first).toMatchObject({ name: "nightly", entrypoint: "flows/etl.py:etl", work_pool: "managed", job_variables: { pip_packages: ["pandas"] }, tags: ["etl"] });
    expect(first!.parameters).toBeUndefined();
    expect(second).toMatchObject({ flow_name: "other", entrypoint: "flows/other.py:main" });
  });

  it("leaves a file it cannot edit safely unchanged, saying why", () => {
    expect(() => upsertDeployment("deployments: [\n", entry)).toThrow(/not valid YAML, so it was not changed/);
    expect(() => upsertDeployment("- a\n- b\n", entry)).toThrow(/not a mapping/);
    expect(() => upsertDeployment("deployments: nope\n", entry)).toThrow(/'deployments' is not a list/);
  });
});
