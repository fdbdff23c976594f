import { describe, expect, it } from "vitest";
import { defaultCloudRunJobConfiguration } from "./cloud-run-template.js";
import { buildCloudRunJob, buildRunJobRequest, CONTAINER_NAME, labelValue } from "./job-builder.js";

const ctx = { flowRunId: "0192f3a4-5b6c-7d8e-9f00-112233445566", deploymentId: "0192f3a4-0000-7000-8000-000000000001", pool: "My Pool" };

describe("buildCloudRunJob", () => {
  it("builds one task of the image with Cloud Run's limits, no retries and the timeout", () => {
    const job = buildCloudRunJob(defaultCloudRunJobConfiguration({ image: "us-docker.pkg.dev/p/r/flows:1" }), ctx);
    const template = job.template!.template!;
    expect(job.template).toMatchObject({ taskCount: 1, parallelism: 1 });
    expect(template.maxRetries).toBe(0);
    expect(template.timeout).toEqual({ seconds: 600 });
    expect(template.containers).toEqual([
      { name: CONTAINER_NAME, image: "us-docker.pkg.dev/p/r/flows:1", env: [], resources: { limits: { cpu: "1000m", memory: "512Mi" } } },
    ]);
    expect(template.serviceAccount).toBeUndefined();
    expect(template.vpcAccess).toBeUndefined();
  });

  it("carries the job variables: command, args, env, secrets, packages, service account, connector, retries", () => {
    const job = buildCloudRunJob(
      defaultCloudRunJobConfiguration({
        command: ["python"],
        args: ["-c", "print(1)"],
        env: { B: "2", A: "1" },
        env_from_secrets: { DB_PASSWORD: { secret: "db-password" }, API: { secret: "projects/other/secrets/api", version: "3" } },
        pip_packages: ["pandas==2.2"],
        service_account_name: "flows@p.iam.gserviceaccount.com",
        vpc_connector_name: "projects/p/locations/us-central1/connectors/c",
        max_retries: 2,
        timeout: 3600,
        cpu: "2",
        memory: "4Gi",
      }),
      ctx,
    );
    const template = job.template!.template!;
    const container = template.containers![0]!;
    expect(container.command).toEqual(["python"]);
    expect(container.args).toEqual(["-c", "print(1)"]);
    expect(container.env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
      { name: "FERRY_PIP_PACKAGES", value: '["pandas==2.2"]' },
      { name: "API", valueSource: { secretKeyRef: { secret: "projects/other/secrets/api", version: "3" } } },
      { name: "DB_PASSWORD", valueSource: { secretKeyRef: { secret: "db-password", version: "latest" } } },
    ]);
    expect(container.resources).toEqual({ limits: { cpu: "2", memory: "4Gi" } });
    expect(template).toMatchObject({ maxRetries: 2, timeout: { seconds: 3600 }, serviceAccount: "flows@p.iam.gserviceaccount.com" });
    expect(template.vpcAccess).toEqual({ connector: "projects/p/locations/us-central1/connectors/c" });
  });

  it("labels the job with the run, the deployment and the pool, in Cloud Run's label alphabet, beside the user's labels", () => {
    const job = buildCloudRunJob(defaultCloudRunJobConfiguration({ labels: { team: "data" } }), ctx);
    expect(job.labels).toEqual({
      team: "data",
      "managed-by": "ferry",
      "ferry-flow-run": ctx.flowRunId,
      "ferry-deployment": ctx.deploymentId,
      "ferry-pool": "my-pool",
    });
    for (const value of Object.values(job.labels!)) expect(value).toMatch(/^[a-z0-9_-]{0,63}$/);
  });

  it("puts nothing of the run's own environment in the job", () => {
    const job = buildCloudRunJob(defaultCloudRunJobConfiguration(), ctx);
    expect(JSON.stringify(job)).not.toMatch(/FERRY_BOOTSTRAP_TOKEN|FERRY_API_URL/);
  });
});

describe("buildRunJobRequest", () => {
  it("gives the run's environment to the container as an override, sorted, with one task and the timeout", () => {
    const request = buildRunJobRequest("projects/p/locations/r/jobs/j", defaultCloudRunJobConfiguration({ timeout: 90 }), {
      FERRY_FLOW_RUN_ID: "run-1",
      FERRY_API_URL: "https://ferry.example",
      FERRY_BOOTSTRAP_TOKEN: "fbt_secret",
    });
    expect(request).toEqual({
      name: "projects/p/locations/r/jobs/j",
      overrides: {
        containerOverrides: [
          {
            name: CONTAINER_NAME,
            env: [
              { name: "FERRY_API_URL", value: "https://ferry.example" },
              { name: "FERRY_BOOTSTRAP_TOKEN", value: "fbt_secret" },
              { name: "FERRY_FLOW_RUN_ID", value: "run-1" },
            ],
          },
        ],
        taskCount: 1,
        timeout: { seconds: 90 },
      },
    });
  });
});

describe("labelValue", () => {
  it("lowers, replaces what Cloud Run refuses, and cuts at 63", () => {
    expect(labelValue("Prod Pool/1")).toBe("prod-pool-1");
    expect(labelValue("x".repeat(80))).toHaveLength(63);
  });
});
