import { describe, expect, it } from "vitest";
import { attemptResult, taskEnvironment } from "./execution-runner.js";
import { resolveGcpLocalOptions, NEW_PROJECT_SERVICES } from "./gcp-local-options.js";
import { runPermission } from "./gcp-local-server.js";
import { grpcCodeOf, httpStatusOf } from "./grpc-error.js";
import { matchesLogFilter, parseLogFilter } from "./log-filter.js";
import { page } from "./paging.js";
import { memoryMib } from "./quantity.js";
import { RESOURCE_ID, executionId, parseExecutionName, parseJobName } from "./run-names.js";
import { applyOverrides, withJobDefaults } from "./run-service.js";
import { cpuCount, validateJobTemplate, validateLabels, validateOverrides } from "./validation.js";

describe("Kubernetes memory quantities", () => {
  it.each([
    ["512Mi", 512],
    ["1Gi", 1024],
    ["2G", 1908],
    ["1048576", 1],
    ["0.5Gi", 512],
  ])("%s is %i MiB", (quantity, mib) => expect(memoryMib(quantity)).toBe(mib));
  it("is null for what is not a quantity", () => {
    expect(memoryMib("lots")).toBeNull();
    expect(memoryMib("512mb")).toBeNull();
  });
});

describe("Cloud Run names", () => {
  it("accepts job ids Cloud Run accepts and nothing else", () => {
    expect(RESOURCE_ID.test("flow-run-0a1b")).toBe(true);
    expect(RESOURCE_ID.test("a".repeat(63))).toBe(true);
    for (const bad of ["a".repeat(64), "1abc", "Abc", "abc-", "a_b", ""]) expect(RESOURCE_ID.test(bad)).toBe(false);
  });
  it("parses job and execution names, naming the expected form when wrong", () => {
    expect(parseJobName("projects/p/locations/us-central1/jobs/j")).toEqual({ parent: "projects/p/locations/us-central1", project: "p", location: "us-central1", job: "j" });
    expect(parseExecutionName("projects/p/locations/l/jobs/j/executions/j-abcde")).toMatchObject({ jobName: "projects/p/locations/l/jobs/j", execution: "j-abcde" });
    expect(() => parseJobName("jobs/j")).toThrow(/expected projects\/PROJECT\/locations\/REGION\/jobs\/JOB/);
  });
  it("names executions JOB-xxxxx", () => {
    expect(executionId("job", () => 0)).toBe("job-aaaaa");
    expect(executionId("job")).toMatch(/^job-[a-z0-9]{5}$/);
  });
});

describe("job templates", () => {
  it("fills Cloud Run's defaults and keeps an explicit max_retries of 0", () => {
    const job = withJobDefaults({ template: { containers: [{ image: "i" }], maxRetries: 0, retries: "maxRetries" } });
    expect(job).toMatchObject({ taskCount: 1, template: { maxRetries: 0, timeout: { seconds: "600" }, containers: [{ resources: { limits: { cpu: "1000m", memory: "512Mi" } } }] } });
    expect(withJobDefaults({ template: { containers: [{ image: "i" }] } }).template.maxRetries).toBe(3);
    expect(() => withJobDefaults({ template: { containers: [] } })).toThrow(/needs one container/);
  });
  it("applies a RunJob's overrides: env by name, args, timeout; the job's template is left as it was", () => {
    const template = { containers: [{ image: "i", args: ["a"], env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] }], timeout: { seconds: "600" } };
    const result = applyOverrides(template, { containerOverrides: [{ args: ["b"], env: [{ name: "B", value: "3" }, { name: "C", value: "4" }] }], timeout: { seconds: "60" } });
    expect(result.containers[0]).toMatchObject({ args: ["b"], env: [{ name: "A", value: "1" }, { name: "B", value: "3" }, { name: "C", value: "4" }] });
    expect(result.timeout).toEqual({ seconds: "60" });
    expect(template.containers[0]!.env).toHaveLength(2);
    expect(() => applyOverrides(template, { containerOverrides: [{ name: "other" }] })).toThrow(/does not have/);
  });
});

describe("attempts", () => {
  it("words an exit as Cloud Run does", () => {
    expect(attemptResult(0, false, false, "512Mi")).toEqual({ message: "", result: { exitCode: 0, status: { code: 0, message: "" } } });
    expect(attemptResult(1, false, false, "512Mi").result).toEqual({ exitCode: 1, status: { code: 2, message: "The container exited with an error." } });
    expect(attemptResult(143, false, true, "512Mi").result).toMatchObject({ termSignal: 15, status: { code: 4, message: "The task timed out and was terminated." } });
    expect(attemptResult(137, true, false, "1Gi").message).toBe("Memory limit of 1Gi exceeded. Consider increasing the memory limit.");
  });
  it("gives the container Cloud Run's variables after the template's", () => {
    const env = taskEnvironment({ env: [{ name: "A", value: "1" }, { name: "S", valueSource: {} }] }, { name: "x/executions/j-abcde", job: "j", taskCount: 2 }, { index: 1 }, 0);
    expect(env).toEqual({ A: "1", CLOUD_RUN_JOB: "j", CLOUD_RUN_EXECUTION: "j-abcde", CLOUD_RUN_TASK_INDEX: "1", CLOUD_RUN_TASK_ATTEMPT: "0", CLOUD_RUN_TASK_COUNT: "2" });
  });
});

describe("the logging filter", () => {
  const entry = {
    logName: "projects/p/logs/run.googleapis.com%2Fstdout",
    resource: { type: "cloud_run_job", labels: { job_name: "j", project_id: "p", location: "l" } },
    labels: { "run.googleapis.com/execution_name": "j-abcde" },
    severity: "ERROR",
    timestamp: "2026-12-04T19:00:00.000Z",
  };
  const matches = (filter: string) => matchesLogFilter(entry, parseLogFilter(filter));
  it("matches fields, quoted label keys, timestamps and severities", () => {
    expect(matches('resource.type="cloud_run_job" AND resource.labels.job_name="j"')).toBe(true);
    expect(matches('labels."run.googleapis.com/execution_name"="j-abcde"')).toBe(true);
    expect(matches('labels."run.googleapis.com/execution_name" = "j-other"')).toBe(false);
    expect(matches('timestamp >= "2026-12-04T18:00:00Z" timestamp<"2026-12-04T20:00:00Z"')).toBe(true);
    expect(matches('timestamp > "2026-12-04T19:00:00Z"')).toBe(false);
    expect(matches("severity>=WARNING")).toBe(true);
    expect(matches('logName:"stdout"')).toBe(true);
    expect(matches("")).toBe(true);
  });
  it("refuses what it does not understand, saying what it does", () => {
    expect(() => parseLogFilter('a="b" OR c="d"')).toThrow(/gcp-local understands comparisons/);
    expect(() => parseLogFilter("justaword")).toThrow(/is not a comparison/);
  });
});

describe("options and codes", () => {
  it("checks options and names the fix", () => {
    expect(resolveGcpLocalOptions({ enabledServices: NEW_PROJECT_SERVICES }).enabledServices).not.toContain("run.googleapis.com");
    expect(resolveGcpLocalOptions().enabledServices).toContain("run.googleapis.com");
    expect(() => resolveGcpLocalOptions({ projectId: "Bad" })).toThrow(/6 to 30 lower-case letters/);
    expect(() => resolveGcpLocalOptions({ grpcPort: 70000 })).toThrow(/use 0/);
  });
  it("maps gRPC codes and HTTP statuses both ways", () => {
    expect(grpcCodeOf(429)).toBe(8);
    expect(grpcCodeOf("UNAVAILABLE")).toBe(14);
    expect(grpcCodeOf(13)).toBe(13);
    expect(httpStatusOf(8)).toBe(429);
    expect(() => grpcCodeOf("NOPE")).toThrow(/unknown gRPC status/);
  });
});

describe("paging", () => {
  it("pages with a token until the last page, and all at once without a size", () => {
    const items = [1, 2, 3, 4, 5];
    const first = page(items, { pageSize: 2 });
    expect(first.items).toEqual([1, 2]);
    const second = page(items, { pageSize: 2, pageToken: first.nextPageToken });
    expect(second.items).toEqual([3, 4]);
    expect(page(items, { pageSize: 2, pageToken: second.nextPageToken })).toEqual({ items: [5], nextPageToken: "" });
    expect(page(items, {})).toEqual({ items, nextPageToken: "" });
    expect(() => page(items, { pageToken: "!!" })).toThrow(/next_page_token/);
  });
});

describe("Cloud Run's limits", () => {
  const template = (task: object = {}, container: object = {}) => withJobDefaults({ template: { containers: [{ image: "i", ...container }], ...task } });
  it("accepts a job Ferry makes", () => {
    expect(() => validateJobTemplate(template({ maxRetries: 0, timeout: { seconds: "604800" } }, { resources: { limits: { cpu: "2", memory: "8Gi" } }, env: [{ name: "A", value: "1" }] }))).not.toThrow();
  });
  it("refuses what Cloud Run refuses, naming the limit", () => {
    expect(() => validateJobTemplate(template({ maxRetries: 11 }))).toThrow(/max_retries: 11 is out of range: use 0 to 10/);
    expect(() => validateJobTemplate(template({ timeout: { seconds: "604801" } }))).toThrow(/use 1s to 604800s/);
    expect(() => validateJobTemplate(template({}, { resources: { limits: { memory: "5Gi" } } }))).toThrow(/For 1 CPU, memory must be between 128Mi and 4Gi inclusive/);
    expect(() => validateJobTemplate(template({}, { resources: { limits: { memory: "lots" } } }))).toThrow(/is not a quantity/);
    expect(() => validateJobTemplate(template({}, { resources: { limits: { cpu: "16" } } }))).toThrow(/not a CPU count/);
    expect(() => validateJobTemplate(template({}, { env: [{ name: "CLOUD_RUN_TASK_INDEX", value: "1" }] }))).toThrow(/is reserved/);
    expect(() => validateOverrides({ containerOverrides: [{ env: [{ name: "CLOUD_RUN_JOB", value: "x" }] }] })).toThrow(/is reserved/);
    expect(() => validateOverrides({ timeout: { seconds: "0" } })).toThrow(/out of range/);
  });
  it("checks labels as Google Cloud does", () => {
    expect(() => validateLabels({ "ferry-pool": "my_pool-1", "flow-run": "0a1b" }, "job.labels")).not.toThrow();
    expect(() => validateLabels({ "ferry.pool": "p" }, "job.labels")).toThrow(/label key 'ferry.pool' is invalid/);
    expect(() => validateLabels({ pool: "My Pool" }, "job.labels")).toThrow(/label value 'My Pool'/);
    expect(() => validateLabels({ pool: "x".repeat(64) }, "job.labels")).toThrow(/label value/);
    expect(() => validateLabels({ "run.googleapis.com/x": "y" }, "job.labels")).toThrow(/reserved/);
  });
  it("reads CPU quantities", () => {
    expect(cpuCount("1000m")).toBe(1);
    expect(cpuCount("2")).toBe(2);
    expect(cpuCount("x")).toBeNull();
  });
});

describe("Cloud Run permissions", () => {
  it.each([
    ["GetJob", "run.jobs.get"],
    ["RunJob", "run.jobs.run"],
    ["ListExecutions", "run.executions.list"],
    ["CancelExecution", "run.executions.cancel"],
    ["ListTasks", "run.tasks.list"],
  ])("%s needs %s", (method, permission) => expect(runPermission(method)).toBe(permission));
});
