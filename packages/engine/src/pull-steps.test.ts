import { describe, expect, it } from "vitest";
import { EngineError } from "./errors.js";
import { describeStep, planPullSteps, type SourceDefaults } from "./pull-steps.js";

const source: SourceDefaults = { git_url: "https://github.com/acme/flows.git", branch: "main", commit: null };

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("invalid_pull_step");
    return (error as EngineError).message;
  }
  throw new Error("expected the steps to be refused");
}

describe("planPullSteps", () => {
  it("clones the source when the deployment has no pull steps", () => {
    const clone = { kind: "git_clone", repository: source.git_url, branch: "main", commit: null };
    expect(planPullSteps(null, source)).toEqual([clone]);
    expect(planPullSteps([], source)).toEqual([clone]);
  });

  it("fills git_clone's options from the source", () => {
    expect(planPullSteps([{ git_clone: {} }], { ...source, commit: "abc1234" })).toEqual([
      { kind: "git_clone", repository: source.git_url, branch: "main", commit: "abc1234" },
    ]);
    expect(planPullSteps([{ git_clone: null }], source)[0]).toMatchObject({ repository: source.git_url, branch: "main" });
  });

  it("gives another repository neither the source's branch nor its commit", () => {
    expect(planPullSteps([{ git_clone: { repository: "https://github.com/acme/other.git" } }], { ...source, commit: "abc1234" })).toEqual([
      { kind: "git_clone", repository: "https://github.com/acme/other.git", branch: null, commit: null },
    ]);
  });

  it("lets a step's branch or commit replace the source's branch and commit", () => {
    expect(planPullSteps([{ git_clone: { branch: "dev" } }], { ...source, commit: "abc1234" })[0]).toMatchObject({ branch: "dev", commit: null });
    expect(planPullSteps([{ git_clone: { commit: 1234567 } }], source)[0]).toMatchObject({ branch: null, commit: "1234567" });
  });

  it("clones the source first when the steps clone nothing", () => {
    const plan = planPullSteps([{ pip_install_requirements: {} }, { npm_install: { directory: "web" } }], source);
    expect(plan.map((s) => s.kind)).toEqual(["git_clone", "pip_install_requirements", "npm_install"]);
    expect(plan[1]).toEqual({ kind: "pip_install_requirements", requirementsFile: "requirements.txt", directory: null });
    expect(plan[2]).toEqual({ kind: "npm_install", directory: "web" });
  });

  it("keeps the steps' order", () => {
    const plan = planPullSteps(
      [
        { git_clone: { branch: "main" } },
        { set_working_directory: { directory: "flows" } },
        { run_shell_script: { script: "make deps", directory: "tools" } },
        { pip_install_requirements: { requirements_file: "reqs/prod.txt", directory: "..", id: "deps", stream_output: false } },
      ],
      source,
    );
    expect(plan).toEqual([
      { kind: "git_clone", repository: source.git_url, branch: "main", commit: null },
      { kind: "set_working_directory", directory: "flows" },
      { kind: "run_shell_script", script: "make deps", directory: "tools" },
      { kind: "pip_install_requirements", requirementsFile: "reqs/prod.txt", directory: ".." },
    ]);
  });

  it("names every problem, with the step's position", () => {
    const message = problem(() =>
      planPullSteps(
        [
          { git_pull: {} },
          { git_clone: { depth: 1, commit: "not-a-hash" } },
          { set_working_directory: {} },
          { run_shell_script: { script: 42 } },
          { a: 1, b: 2 },
          { npm_install: "web" },
        ],
        source,
      ),
    );
    expect(message).toContain("pull step 1 'git_pull' is not a known step (known: git_clone, pip_install_requirements, npm_install, set_working_directory, run_shell_script)");
    expect(message).toContain("pull step 2 (git_clone): 'depth' is not a known option (known: repository, branch, commit)");
    expect(message).toContain("pull step 2 (git_clone): 'commit' must be a commit hash of 7 to 40 hexadecimal characters");
    expect(message).toContain("pull step 3 (set_working_directory): 'directory' is required");
    expect(message).toContain("pull step 4 (run_shell_script): 'script' must be a string");
    expect(message).toContain("pull step 5 must be a mapping with one key naming the step");
    expect(message).toContain("pull step 6 (npm_install) must have a mapping of options");
  });

  it("says where Prefect's token options went", () => {
    expect(problem(() => planPullSteps([{ git_clone: { access_token: "{{ secret }}" } }], source))).toContain(
      "'access_token' is not supported: the token comes from the credentials named in the deployment's source",
    );
  });
});

describe("planPullSteps for a blob source (downloaded before the steps)", () => {
  it("clones nothing by default, and wants a repository for a git_clone step", () => {
    expect(planPullSteps(null, null)).toEqual([]);
    expect(planPullSteps([{ pip_install_requirements: {} }], null)).toEqual([{ kind: "pip_install_requirements", requirementsFile: "requirements.txt", directory: null }]);
    expect(planPullSteps([{ git_clone: { repository: "https://x.dev/lib.git" } }], null)).toEqual([{ kind: "git_clone", repository: "https://x.dev/lib.git", branch: null, commit: null }]);
    expect(() => planPullSteps([{ git_clone: {} }], null)).toThrow(/'repository' is required: the deployment's source is a blob store/);
  });
});

describe("describeStep", () => {
  it("names a step the way the run's logs show it, without a password written into a URL", () => {
    expect(describeStep({ kind: "git_clone", repository: "https://x.dev/a.git", branch: "main", commit: null })).toBe("git_clone (https://x.dev/a.git, branch main)");
    expect(describeStep({ kind: "git_clone", repository: "https://u:pw@x.dev/a.git", branch: null, commit: "abc1234" })).toBe(
      "git_clone (https://u:***@x.dev/a.git at abc1234)",
    );
    expect(describeStep({ kind: "run_shell_script", script: "\n  echo one\necho two", directory: null })).toBe("run_shell_script (echo one)");
    expect(describeStep({ kind: "pip_install_requirements", requirementsFile: "requirements.txt", directory: "app" })).toBe(
      "pip_install_requirements (app/requirements.txt)",
    );
  });
});
