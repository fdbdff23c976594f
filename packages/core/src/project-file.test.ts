import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { completeDeployments, defaultFlowName, hasEmbeddedSecret, parseImageReference, parseProject, parseProjectFile, type ProjectFileIssue } from "./project-file.js";

const VALID = `
source: { git_url: https://github.com/acme/flows.git, branch: main }
pull:
  - git_clone: { repository: https://github.com/acme/flows.git, branch: main }
deployments:
  - name: nightly
    entrypoint: flows/etl.py:run_etl
    work_pool: { name: my-pool, job_variables: { pip_packages: [pandas] } }
    parameters: { day: "2026-01-01" }
    parameter_schema: { type: object, properties: { day: { type: string } } }
    tags: [etl, nightly]
    description: The nightly load
    paused: false
  - name: backfill
    flow_name: etl
    entrypoint: flows/etl.py:run_etl
    source: { git_url: https://github.com/acme/other.git, commit: 0123abc, credentials: my-git-token }
    pull: []
    work_pool: my-pool
`;

function issuesOf(fn: () => unknown): ProjectFileIssue[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe("validation_failed");
    return ((error as FerryError).details as { issues: ProjectFileIssue[] }).issues;
  }
  throw new Error("expected a validation error");
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

describe("parseProjectFile", () => {
  it("reads a valid file, applying the top-level source and pull steps as defaults", () => {
    const project = parseProjectFile(VALID);
    expect(project.missing).toEqual([]);
    expect(project.deployments).toEqual([
      {
        name: "nightly",
        flow_name: "run-etl",
        entrypoint: "flows/etl.py:run_etl",
        work_pool: "my-pool",
        job_variables: { pip_packages: ["pandas"] },
        source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
        pull_steps: [{ git_clone: { repository: "https://github.com/acme/flows.git", branch: "main" } }],
        parameters: { day: "2026-01-01" },
        parameter_schema: { type: "object", properties: { day: { type: "string" } } },
        tags: ["etl", "nightly"],
        description: "The nightly load",
        paused: false,
      },
      {
        name: "backfill",
        flow_name: "etl",
        entrypoint: "flows/etl.py:run_etl",
        work_pool: "my-pool",
        // A source with its own git_url replaces the default, branch included.
        source: { git_url: "https://github.com/acme/other.git", commit: "0123abc", credentials: "my-git-token" },
        pull_steps: [],
      },
    ]);
    const applied = completeDeployments(project);
    expect(applied.map((d) => d.source.git_url)).toEqual(["https://github.com/acme/flows.git", "https://github.com/acme/other.git"]);
  });

  it("reports a missing git URL instead of guessing, and lets the caller fill it", () => {
    const project = parseProjectFile(`
deployments:
  - name: a
    entrypoint: flows/a.py:a
    work_pool: { name: pool }
  - name: b
    entrypoint: src/b.ts:main
    work_pool: { name: pool }
    source: { branch: dev, credentials: gh }
`);
    expect(project.missing).toEqual([
      { index: 0, deployment: "a/a", field: "source.git_url", path: "deployments[0].source.git_url" },
      { index: 1, deployment: "main/b", field: "source.git_url", path: "deployments[1].source.git_url" },
    ]);
    const applied = completeDeployments(project, { source: { git_url: "https://git.example/x.git", branch: "main" } });
    expect(applied[0]!.source).toEqual({ git_url: "https://git.example/x.git", branch: "main" });
    // The file's own branch and credentials win over the defaults.
    expect(applied[1]!.source).toEqual({ git_url: "https://git.example/x.git", branch: "dev", credentials: "gh" });

    expect(messageOf(() => completeDeployments(project))).toMatch(/deployments\[0\]\.source\.git_url: is required/);

    // A detached HEAD's commit does not pin a deployment that names its own branch.
    const detached = completeDeployments(project, { source: { git_url: "https://git.example/x.git", commit: "0123abc" } });
    expect(detached[0]!.source).toEqual({ git_url: "https://git.example/x.git", commit: "0123abc" });
    expect(detached[1]!.source).toEqual({ git_url: "https://git.example/x.git", branch: "dev", credentials: "gh" });
  });

  it("lays a deployment's source without a URL over the top-level one", () => {
    const project = parseProjectFile(`
source: { git_url: https://github.com/acme/flows.git, branch: main }
deployments:
  - { name: a, entrypoint: a.py:a, work_pool: p, source: { branch: dev } }
`);
    expect(project.deployments[0]!.source).toEqual({ git_url: "https://github.com/acme/flows.git", branch: "dev" });
  });

  it("keeps an all-digit commit hash as text", () => {
    const project = parseProjectFile(`
deployments:
  - { name: a, entrypoint: a.py:a, work_pool: p, source: { git_url: https://x/y.git, commit: 1234567 } }
`);
    expect(project.deployments[0]!.source.commit).toBe("1234567");
  });

  it("names the YAML path and line of each problem", () => {
    const text = `deployments:
  - name: ok
    entrypoint: flows/a.py:a
    work_pool: { name: pool }
  - name: bad
    entrypoint: flows/a.txt:a
    work_pool: { name: pool }
`;
    const issues = issuesOf(() => parseProjectFile(text));
    expect(issues).toEqual([{ path: "deployments[1].entrypoint", line: 6, message: expect.stringMatching(/unsupported file type '\.txt'/) }]);
    expect(messageOf(() => parseProjectFile(text, { fileName: "deploy/ferry.yaml" }))).toMatch(
      /^deploy\/ferry\.yaml:6: deployments\[1\]\.entrypoint: 'flows\/a\.txt:a' has an unsupported file type/,
    );
  });

  it("lists every problem at once", () => {
    const text = `
build: [ { docker: {} } ]
deployments:
  - name: a
    entrypoint: "../outside.py:a"
    work_pool: { name: Bad_Pool, job_variables: [1] }
    tags: [ok, ""]
    paused: "no"
    schedules: [{ cron: "0 9 * * *", timezone: Mars/Olympus }]
    source: { git_url: https://x/y.git, commit: zzz, repo: x }
  - name: a
    entrypoint: a.py:a
    work_pool: p
  - name: a
    entrypoint: a.py:a
    work_pool: p
  - just a string
  - entrypoint: a.py
    work_pool: {}
`;
    const issues = issuesOf(() => parseProjectFile(text));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      build: expect.stringMatching(/must be a mapping .* not a list \(Prefect's list of build steps is not supported\)/),
      "deployments[0].entrypoint": expect.stringMatching(/outside the repository/),
      "deployments[0].work_pool.name": expect.stringMatching(/not a work pool name/),
      "deployments[0].work_pool.job_variables": expect.stringMatching(/must be a mapping of variable: value, not a list/),
      "deployments[0].tags[1]": expect.stringMatching(/non-empty string/),
      "deployments[0].paused": expect.stringMatching(/true or false/),
      "deployments[0].schedules[0]": expect.stringMatching(/'Mars\/Olympus' is not an IANA time zone/),
      "deployments[0].source.commit": expect.stringMatching(/7 to 40 hexadecimal/),
      "deployments[0].source.repo": expect.stringMatching(/not a known field \(known: git_url, branch, commit, credentials\)/),
      "deployments[2]": expect.stringMatching(/repeats deployments\[1\] \(a\/a\)/),
      "deployments[3]": expect.stringMatching(/must be a mapping/),
      "deployments[4].name": "is required",
      "deployments[4].entrypoint": expect.stringMatching(/must name a file and a function/),
      "deployments[4].work_pool.name": "is required",
    });
    expect(issues.find((i) => i.path === "deployments[0].paused")!.line).toBe(8);
    expect(messageOf(() => parseProjectFile(text))).toMatch(/^ferry\.yaml has 14 problems:\n {2}ferry\.yaml:2: build: /);
  });

  it("reports YAML syntax errors with their line", () => {
    const issues = issuesOf(() => parseProjectFile("deployments:\n  - name: a\n   entrypoint: [unclosed\n"));
    expect(issues[0]!.message).toMatch(/^is not valid YAML/);
    expect(issues[0]!.line).toBeGreaterThan(1);
    expect(messageOf(() => parseProjectFile("a: 1\na: 2\n"))).toMatch(/ferry\.yaml:2: is not valid YAML: Map keys must be unique/);
  });

  it("explains an empty file, a wrong root and a missing or empty deployments list", () => {
    expect(messageOf(() => parseProjectFile(""))).toBe("ferry.yaml: is empty; it needs a 'deployments' list");
    expect(messageOf(() => parseProjectFile("- a\n"))).toBe("ferry.yaml:1: must be a mapping with a 'deployments' list, not a list");
    expect(messageOf(() => parseProjectFile("source: { git_url: x }\n"))).toMatch(/deployments: is required/);
    expect(messageOf(() => parseProjectFile("deployments: []\n"))).toMatch(/deployments: must be a non-empty list, not an empty list/);
    expect(messageOf(() => parseProjectFile("deployments:\n  - { name: a, entrypoint: a.py:a }\n"))).toMatch(
      /deployments\[0\]\.work_pool: is required/,
    );
  });

  it("checks pull steps have one key each", () => {
    const issues = issuesOf(() => parseProjectFile("pull: [ { a: {}, b: {} }, { c: 3 } ]\ndeployments: [ { name: a, entrypoint: a.py:a, work_pool: p } ]\n"));
    expect(issues.map((i) => i.path)).toEqual(["pull[0]", "pull[1].c"]);
  });

  it("validates a document that did not come from YAML", () => {
    const project = parseProject({ deployments: [{ name: "a", entrypoint: "a.py:a", work_pool: "p", source: { git_url: "u" } }] });
    expect(project.deployments[0]!.flow_name).toBe("a");
    expect(issuesOf(() => parseProject({ deployments: [{ name: 1 }] }))[0]).toEqual({
      path: "deployments[0].name",
      message: "must be a string, not number 1",
      line: undefined,
    });
  });
});

describe("hasEmbeddedSecret", () => {
  it("refuses a token in the git URL, which would be stored and shown with the deployment", () => {
    expect(messageOf(() => parseProjectFile("source: { git_url: 'https://x-access-token:ghp_abc@github.com/acme/flows.git' }\ndeployments: [ { name: a, entrypoint: a.py:a, work_pool: p } ]\n"))).toMatch(
      /^ferry\.yaml:1: source\.git_url: contains a password or token; store it with 'ferry credentials create NAME --type git'/,
    );
    expect(hasEmbeddedSecret("https://github.com/acme/flows.git")).toBe(false);
    expect(hasEmbeddedSecret("https://git@github.com/acme/flows.git")).toBe(false);
    expect(hasEmbeddedSecret("git@github.com:acme/flows.git")).toBe(false);
    expect(hasEmbeddedSecret("https://user:pass@example.com/x.git")).toBe(true);
  });
});

describe("defaultFlowName", () => {
  it("uses the function name with dashes", () => {
    expect(defaultFlowName("flows/etl.py:load_daily_sales")).toBe("load-daily-sales");
    expect(defaultFlowName("flows/etl.py:Flows.nightly_run")).toBe("nightly-run");
    expect(defaultFlowName("src/main.ts:main")).toBe("main");
  });
});

describe("the build section", () => {
  const DEPLOYMENTS = "deployments:\n  - { name: a, entrypoint: a.py:a, work_pool: p }\n";

  it("fills in the defaults", () => {
    expect(parseProjectFile(`build: {}\n${DEPLOYMENTS}`).build).toEqual({
      context: ".",
      platform: "linux/amd64",
      requirements: "requirements.txt",
      base_image: "ferry-engine:latest",
      build_args: {},
    });
    expect(parseProjectFile(DEPLOYMENTS).build).toBeUndefined();
  });

  it("reads every field", () => {
    const text = `
build:
  image: 127.0.0.1:5000/ferry-flows/etl:v1
  context: ..
  platform: linux/arm64
  requirements: deps/requirements.txt
  base_image: registry.example.com/ferry-engine:2
  build_args: { LEVEL: 3, DEBUG: false, NAME: x }
  registry_credentials: { username_env: REG_USER, password_env: REG_PASS }
${DEPLOYMENTS}`;
    expect(parseProjectFile(text).build).toEqual({
      image: "127.0.0.1:5000/ferry-flows/etl:v1",
      context: "..",
      platform: "linux/arm64",
      requirements: "deps/requirements.txt",
      base_image: "registry.example.com/ferry-engine:2",
      build_args: { LEVEL: "3", DEBUG: "false", NAME: "x" },
      registry_credentials: { username_env: "REG_USER", password_env: "REG_PASS" },
    });
    expect(parseProjectFile(`build: { dockerfile: docker/Dockerfile, registry_credentials: { file: ~/.reg.json } }\n${DEPLOYMENTS}`).build).toMatchObject({
      dockerfile: "docker/Dockerfile",
      registry_credentials: { file: "~/.reg.json" },
    });
  });

  it("reports every problem with its YAML path and line", () => {
    const text = `
build:
  image: Acme/ETL:v1
  dockerfile: ../Dockerfile
  platform: amd64
  requirements: reqs.txt
  build_args: { "bad-name": x, OK: [1] }
  registry_credentials: { file: a.json, username_env: U }
  cache: true
${DEPLOYMENTS}`;
    const issues = issuesOf(() => parseProjectFile(text));
    expect(Object.fromEntries(issues.map((i) => [i.path, `${i.line}: ${i.message}`]))).toEqual({
      "build.image": expect.stringMatching(/^3: 'Acme\/ETL:v1' is not an image reference/),
      "build.dockerfile": expect.stringMatching(/^4: .* must be a path inside the build context/),
      "build.platform": expect.stringMatching(/^5: 'amd64' is not a platform such as linux\/amd64/),
      "build.requirements": expect.stringMatching(/^6: is used only by the generated Dockerfile/),
      "build.build_args.bad-name": expect.stringMatching(/^7: is not a build argument name/),
      "build.build_args.OK": expect.stringMatching(/^7: must be a string, a number or a boolean, not a list/),
      "build.registry_credentials": expect.stringMatching(/^8: give either 'file' or 'username_env' and 'password_env'/),
      "build.cache": expect.stringMatching(/^9: is not a known field \(known: image, dockerfile/),
    });
    expect(messageOf(() => parseProjectFile(`build: { image: "r.io/a@sha256:${"a".repeat(64)}" }\n${DEPLOYMENTS}`))).toMatch(
      /build\.image: names a digest; give a repository and a tag to push to, e.g. 'r\.io\/a'/,
    );
  });
});

describe("parseImageReference", () => {
  it("splits registry, repository, tag and digest as Docker reads them", () => {
    expect(parseImageReference("127.0.0.1:5000/ferry-flows/e2e:abc")).toEqual({ registry: "127.0.0.1:5000", repository: "ferry-flows/e2e", tag: "abc", digest: null });
    expect(parseImageReference("ferry-engine:latest")).toEqual({ registry: null, repository: "ferry-engine", tag: "latest", digest: null });
    expect(parseImageReference("acme/etl")).toEqual({ registry: null, repository: "acme/etl", tag: null, digest: null });
    expect(parseImageReference("localhost/etl")).toMatchObject({ registry: "localhost", repository: "etl" });
    const digest = `sha256:${"0".repeat(64)}`;
    expect(parseImageReference(`registry.example.com:5000/ferry-flows/etl@${digest}`)).toEqual({
      registry: "registry.example.com:5000",
      repository: "ferry-flows/etl",
      tag: null,
      digest,
    });
  });

  it("refuses what Docker refuses", () => {
    for (const bad of ["", "Etl", "etl:", "etl:-x", "a//b", "-a/b", "etl@sha256:12", "a b"]) expect(parseImageReference(bad), bad).toBeNull();
  });
});

describe("parseProjectFile: schedules", () => {
  it("reads schedules, the catch-up policy and the deployment's concurrency, as Prefect's prefect.yaml writes them", () => {
    const file = parseProjectFile(`
deployments:
  - name: nightly
    entrypoint: flows/etl.py:etl
    work_pool: managed
    schedules:
      - { cron: "0 2 * * *", timezone: Europe/Berlin }
      - { interval: 3600, active: false }
      - rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"
    catchup_policy: catch_up
    catchup_max_runs: 3
    concurrency_limit: 1
    collision_strategy: cancel_new
    late_after_seconds: 120
`);
    expect(file.deployments[0]).toMatchObject({
      schedules: [
        { cron: "0 2 * * *", timezone: "Europe/Berlin" },
        { interval: 3600, anchor_date: "2020-01-01T00:00:00.000Z", timezone: "UTC", active: false },
        { rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", timezone: "UTC" },
      ],
      catchup_policy: "catch_up",
      catchup_max_runs: 3,
      concurrency_limit: 1,
      collision_strategy: "cancel_new",
      late_after_seconds: 120,
    });
  });

  it("names the fix for a bad schedule and a bad strategy", () => {
    const issues = issuesOf(() =>
      parseProjectFile(`
deployments:
  - name: a
    entrypoint: a.py:a
    work_pool: p
    schedules: [{ cron: "61 * * * *" }, { every: 5 }]
    collision_strategy: drop
`),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath["deployments[0].schedules[0]"]).toMatch(/cron '61 \* \* \* \*' is not a cron expression/);
    expect(byPath["deployments[0].schedules[1].every"]).toMatch(/not a known field/);
    expect(byPath["deployments[0].collision_strategy"]).toMatch(/must be one of enqueue, cancel_new/);
  });
});
