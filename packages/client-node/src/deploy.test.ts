import { describe, expect, it } from "vitest";
import { parseProjectFile } from "@ferry/core";
import { deploymentLabel, selectDeployments } from "./deploy.js";

const project = parseProjectFile(`
deployments:
  - { name: nightly, entrypoint: flows/etl.py:etl, work_pool: p }
  - { name: adhoc, entrypoint: flows/etl.py:etl, work_pool: p }
  - { name: nightly, flow_name: report, entrypoint: flows/report.py:report, work_pool: p }
`);

const labels = (list: { flow_name: string; name: string }[]) => list.map(deploymentLabel);

describe("selectDeployments", () => {
  it("takes all with --all, and names by name or flow/name", () => {
    expect(labels(selectDeployments(project, [], true, "ferry.yaml"))).toEqual(["etl/nightly", "etl/adhoc", "report/nightly"]);
    expect(labels(selectDeployments(project, ["adhoc", "report/nightly"], false, "ferry.yaml"))).toEqual(["etl/adhoc", "report/nightly"]);
  });

  it("asks for names when the file has several and none is given", () => {
    expect(() => selectDeployments(project, [], false, "ferry.yaml")).toThrow(
      "ferry.yaml has 3 deployments (etl/nightly, etl/adhoc, report/nightly); name the ones to deploy, or pass --all",
    );
  });

  it("takes the only deployment without a name", () => {
    const one = parseProjectFile("deployments:\n  - { name: only, entrypoint: a.py:a, work_pool: p }\n");
    expect(labels(selectDeployments(one, [], false, "ferry.yaml"))).toEqual(["a/only"]);
  });

  it("refuses an ambiguous or unknown name, listing what the file has", () => {
    expect(() => selectDeployments(project, ["nightly"], false, "ferry.yaml")).toThrow(
      "'nightly' matches etl/nightly and report/nightly in ferry.yaml; give it as FLOW/NAME",
    );
    expect(() => selectDeployments(project, ["weekly"], false, "ferry.yaml")).toThrow("ferry.yaml has no deployment 'weekly'; it has etl/nightly, etl/adhoc, report/nightly");
    expect(() => selectDeployments(project, ["adhoc"], true, "ferry.yaml")).toThrow("give deployment names or --all, not both");
  });
});
