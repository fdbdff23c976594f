import { renderJobConfiguration, resolveJobVariables, validateBaseJobTemplate } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { CLOUD_RUN_BASE_JOB_TEMPLATE, defaultCloudRunJobConfiguration, parseCloudRunJobConfiguration } from "./cloud-run-template.js";

describe("the cloud-run:push template", () => {
  it("has the issue's defaults: us-central1, 1000m, 512Mi, 600 s, no retries, jobs deleted", () => {
    const config = defaultCloudRunJobConfiguration();
    expect(config).toMatchObject({
      region: "us-central1",
      project: null,
      cpu: "1000m",
      memory: "512Mi",
      timeout: 600,
      max_retries: 0,
      env: {},
      env_from_secrets: {},
      args: null,
      service_account_name: null,
      vpc_connector_name: null,
      labels: {},
      keep_job: false,
      pip_packages: [],
      npm_packages: [],
    });
    expect(config.image).toBeTruthy();
  });

  it("is a valid base job template", () => {
    expect(() => validateBaseJobTemplate(CLOUD_RUN_BASE_JOB_TEMPLATE)).not.toThrow();
  });

  it.each([
    [{ timeout: 0 }, /timeout/],
    [{ timeout: 604_801 }, /timeout/],
    [{ max_retries: -1 }, /max_retries/],
    [{ labels: { Team: "x" } }, /labels/],
    [{ labels: { team: "Data" } }, /labels/],
    [{ region: "US Central" }, /region/],
    [{ env_from_secrets: { A: { version: "1" } } }, /env_from_secrets|secret/],
  ])("refuses %j when a run is created", (variables, field) => {
    expect(() => resolveJobVariables(CLOUD_RUN_BASE_JOB_TEMPLATE, variables)).toThrow(field);
  });

  it("holds cpu and memory to Cloud Run's limits when the rendered configuration is read", () => {
    const render = (variables: Record<string, unknown>) => renderJobConfiguration(CLOUD_RUN_BASE_JOB_TEMPLATE, resolveJobVariables(CLOUD_RUN_BASE_JOB_TEMPLATE, variables));
    expect(() => parseCloudRunJobConfiguration(render({ memory: "128Mi" }))).toThrow(/between '512Mi' and '32Gi'/);
    expect(() => parseCloudRunJobConfiguration(render({ memory: "1GB" }))).toThrow(/not a Kubernetes quantity/);
    expect(parseCloudRunJobConfiguration(render({ memory: "2Gi", cpu: "2" }))).toMatchObject({ memory: "2Gi", cpu: "2" });
  });

  it("fills what an edited template left out, and ignores extra keys", () => {
    expect(parseCloudRunJobConfiguration({ image: "img", extra: 1 })).toMatchObject({ image: "img", region: "us-central1", max_retries: 0 });
  });
});
