import { describe, expect, it } from "vitest";
import { JOB_ID, jobIdFor, jobName, jobNameOf, parseExecutionName } from "./names.js";

describe("jobIdFor", () => {
  it("names a run's job from its id: lower case, a letter first", () => {
    const id = "0192f3a4-5b6c-7d8e-9f00-112233445566";
    expect(jobIdFor(id)).toBe(`ferry-${id}`);
    expect(jobIdFor(id)).toMatch(JOB_ID);
    expect(jobIdFor(id)).toBe(jobIdFor(id));
  });

  it("keeps every id within Cloud Run's rule, unique by a hash when it had to change it", () => {
    for (const id of ["0192F3A4-5B6C-7D8E-9F00-112233445566", "run_with_underscores", "x".repeat(200), "trailing-", "a--b"]) {
      const name = jobIdFor(id);
      expect(name, id).toMatch(JOB_ID);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    expect(jobIdFor("x".repeat(200))).not.toBe(jobIdFor(`${"x".repeat(199)}y`));
    expect(jobIdFor("A")).not.toBe(jobIdFor("a"));
  });
});

describe("execution names", () => {
  it("parses an execution's resource name, and gives its job", () => {
    const parsed = parseExecutionName("projects/p1/locations/us-central1/jobs/ferry-x/executions/ferry-x-abcde");
    expect(parsed).toEqual({ project: "p1", region: "us-central1", job: "ferry-x", execution: "ferry-x-abcde" });
    expect(jobNameOf(parsed!)).toBe(jobName("p1", "us-central1", "ferry-x"));
  });

  it.each(["does-not-exist-1", "projects/p/locations/r/jobs/j", "projects/p/locations/r/jobs/j/executions/", "cluster::arn"])("'%s' is not one", (name) => {
    expect(parseExecutionName(name)).toBeNull();
  });
});
