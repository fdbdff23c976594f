import { readFileSync } from "node:fs";
import { isFerryError, parseProjectFile, type FerryError, type ProjectFile } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { deploymentsInFile, upsertDeployment, type DeploymentEntry } from "../src/project-yaml.js";

const exampleFile = readFileSync(new URL("../../../examples/ferry.yaml", import.meta.url), "utf8");

const entry = (overrides: Partial<DeploymentEntry> = {}): DeploymentEntry => ({
  name: "nightly",
  flow_name: "etl",
  entrypoint: "examples/flows/etl.py:etl",
  work_pool: "my-pool",
  ...overrides,
});

/** Parses the output as `ferry deploy` would: it must be a valid project file. */
const parse = (text: string): ProjectFile => parseProjectFile(text);

/** The lines of `after` that differ from `before`, for files whose line count did not change. */
function changedLines(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  expect(b.length).toBe(a.length);
  return b.filter((line, i) => line !== a[i]);
}

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    if (isFerryError(error)) return error;
    throw error;
  }
  throw new Error("expected an error");
}

describe("upsertDeployment: a new file", () => {
  for (const text of [null, "", "  \n\n"]) {
    it(`writes a header and a deployments list from ${JSON.stringify(text)}`, () => {
      const result = upsertDeployment(text, entry({ parameters: { day: "2026-11-01" }, description: "Nightly." }));
      expect(result.action).toBe("created");
      expect(result.index).toBe(0);
      expect(result.text).toMatch(/^# /);
      expect(result.text.endsWith("\n")).toBe(true);
      const project = parse(result.text);
      expect(project.deployments).toEqual([
        {
          name: "nightly",
          flow_name: "etl",
          entrypoint: "examples/flows/etl.py:etl",
          work_pool: "my-pool",
          parameters: { day: "2026-11-01" },
          description: "Nightly.",
          source: {},
        },
      ]);
      expect(project.missing).toHaveLength(1); // the git URL comes from the repository at deploy time
    });
  }

  it("writes the pool as `{ name: … }` and normalises the entrypoint", () => {
    const { text } = upsertDeployment(null, entry({ entrypoint: ".\\examples\\flows\\etl.py:etl" }));
    expect(text).toContain("    work_pool: { name: my-pool }\n");
    expect(text).toContain("    entrypoint: examples/flows/etl.py:etl\n");
    expect(parse(text).deployments[0]?.entrypoint).toBe("examples/flows/etl.py:etl");
  });

  it("keeps CRLF line endings of a blank file", () => {
    const { text } = upsertDeployment("\r\n", entry());
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
    expect(parse(text).deployments).toHaveLength(1);
  });
});

describe("upsertDeployment: adding to a file", () => {
  it("appends after the last deployment, touching nothing else", () => {
    const result = upsertDeployment(exampleFile, entry({ name: "hourly", parameters: { rows: 10 }, description: "Every hour." }));
    expect(result.action).toBe("created");
    expect(result.index).toBe(2);
    expect(result.text.startsWith(exampleFile.trimEnd())).toBe(true);
    expect(result.text.slice(exampleFile.trimEnd().length)).toBe(
      [
        "",
        "  - name: hourly",
        "    flow_name: etl",
        "    entrypoint: examples/flows/etl.py:etl",
        "    work_pool: { name: my-pool }",
        "    parameters:",
        "      rows: 10",
        "    description: Every hour.",
        "",
      ].join("\n"),
    );
    const project = parse(result.text);
    expect(project.deployments.map((d) => `${d.flow_name}/${d.name}`)).toEqual(["etl/nightly", "hello/greet", "etl/hourly"]);
    expect(project.deployments[2]).toMatchObject({ parameters: { rows: 10 }, description: "Every hour." });
  });

  it("adds a deployment of the same name for another flow", () => {
    const result = upsertDeployment(exampleFile, entry({ flow_name: "other-etl" }));
    expect(result).toMatchObject({ action: "created", index: 2 });
    expect(parse(result.text).deployments).toHaveLength(3);
  });

  it("puts it inside the list even when other keys and comments follow, in the file's indentation and pool style", () => {
    const text = [
      "name: acme-flows   # the project",
      "deployments:",
      "- name: a",
      "  entrypoint: flows/a.py:a",
      "  work_pool: pool-a",
      "",
      "# build for every deployment",
      "build:",
      "  image: registry.example.com/acme/flows:v1",
      "",
    ].join("\n");
    const result = upsertDeployment(text, entry({ name: "b", flow_name: "b", entrypoint: "flows/b.py:b", work_pool: "pool-b" }));
    expect(result).toMatchObject({ action: "created", index: 1 });
    expect(result.text).toBe(
      [
        "name: acme-flows   # the project",
        "deployments:",
        "- name: a",
        "  entrypoint: flows/a.py:a",
        "  work_pool: pool-a",
        "- name: b",
        "  flow_name: b",
        "  entrypoint: flows/b.py:b",
        "  work_pool: pool-b",
        "",
        "# build for every deployment",
        "build:",
        "  image: registry.example.com/acme/flows:v1",
        "",
      ].join("\n"),
    );
    const project = parse(result.text);
    expect(project.name).toBe("acme-flows");
    expect(project.build?.image).toBe("registry.example.com/acme/flows:v1");
    expect(project.deployments.map((d) => d.work_pool)).toEqual(["pool-a", "pool-b"]);
  });

  it("writes a block pool mapping when the file does", () => {
    const text = ["deployments:", "  - name: a", "    entrypoint: a.py:a", "    work_pool:", "      name: p", "      job_variables: { cpu: 1 }", ""].join("\n");
    const result = upsertDeployment(text, entry({ name: "b", flow_name: "b", entrypoint: "b.py:b", work_pool: "q" }));
    expect(result.text.endsWith(["  - name: b", "    flow_name: b", "    entrypoint: b.py:b", "    work_pool:", "      name: q", ""].join("\n"))).toBe(true);
    expect(parse(result.text).deployments[1]?.work_pool).toBe("q");
  });

  it("starts the list in a file without one", () => {
    const cases = [
      ["name: acme\n", "name: acme\ndeployments:\n"],
      ["name: acme", "name: acme\ndeployments:\n"],
      ["# only a comment\n", "# only a comment\ndeployments:\n"],
      ["name: acme\ndeployments:\n", "name: acme\ndeployments:\n"],
      ["name: acme\ndeployments:   # none yet\n", "name: acme\ndeployments:   # none yet\n"],
      ["name: acme\ndeployments: []\n", "name: acme\ndeployments:\n"],
      ["deployments:\nname: acme\n", "deployments:\n"],
    ] as const;
    for (const [before, start] of cases) {
      const result = upsertDeployment(before, entry());
      expect(result, before).toMatchObject({ action: "created", index: 0 });
      expect(result.text.startsWith(start), result.text).toBe(true);
      expect(parse(result.text).deployments.map((d) => d.name)).toEqual(["nightly"]);
    }
    expect(upsertDeployment("name: acme\ndeployments:\nbuild: { image: x/y }\n", entry()).text).toBe(
      "name: acme\ndeployments:\n  - name: nightly\n    flow_name: etl\n    entrypoint: examples/flows/etl.py:etl\n    work_pool: { name: my-pool }\nbuild: { image: x/y }\n",
    );
  });

  it("falls back to writing the Document for a flow-style list, keeping comments", () => {
    const text = "# header\ndeployments: [ { name: a, entrypoint: a.py:a, work_pool: p } ]  # inline\n";
    const result = upsertDeployment(text, entry());
    expect(result).toMatchObject({ action: "created", index: 1 });
    expect(result.text).toContain("# header");
    expect(result.text).toContain("# inline");
    expect(parse(result.text).deployments.map((d) => d.name)).toEqual(["a", "nightly"]);
  });
});

describe("upsertDeployment: updating a deployment", () => {
  it("changes only the pool's name inside `work_pool: { name: … }`", () => {
    const result = upsertDeployment(exampleFile, entry({ work_pool: "gpu-pool" }));
    expect(result).toMatchObject({ action: "updated", index: 0 });
    expect(changedLines(exampleFile, result.text)).toEqual(["    work_pool: { name: gpu-pool }"]);
    const nightly = parse(result.text).deployments[0];
    expect(nightly).toMatchObject({ work_pool: "gpu-pool", parameters: { day: "2026-11-01", rows: 3 }, tags: ["example", "python"] });
  });

  it("changes the entrypoint and keeps a plain-string pool a string", () => {
    const text = ["deployments:", "  - name: nightly", "    flow_name: etl", "    entrypoint: flows/old.py:etl  # moved soon", "    work_pool: old-pool", ""].join("\n");
    const result = upsertDeployment(text, entry({ entrypoint: "flows/new.py:etl", work_pool: "new-pool" }));
    expect(result.action).toBe("updated");
    expect(changedLines(text, result.text)).toEqual(["    entrypoint: flows/new.py:etl  # moved soon", "    work_pool: new-pool"]);
  });

  it("keeps the quoting of the values it changes", () => {
    const text = ["deployments:", "  - name: nightly", "    flow_name: etl", '    entrypoint: "flows/old.py:etl"', "    work_pool: { name: 'old-pool' }", ""].join("\n");
    const result = upsertDeployment(text, entry({ entrypoint: "flows/new.py:etl", work_pool: "new-pool" }));
    expect(changedLines(text, result.text)).toEqual(['    entrypoint: "flows/new.py:etl"', "    work_pool: { name: 'new-pool' }"]);
  });

  it("quotes a new value that plain YAML would read differently", () => {
    const text = ["deployments:", "  - name: nightly", "    flow_name: etl", "    entrypoint: flows/old.py:etl", "    work_pool: { name: old }", ""].join("\n");
    const result = upsertDeployment(text, entry({ entrypoint: "my flows/#1, [new].py:etl", work_pool: "old" }));
    expect(changedLines(text, result.text)).toEqual(['    entrypoint: "my flows/#1, [new].py:etl"']);
    expect(parse(result.text).deployments[0]?.entrypoint).toBe("my flows/#1, [new].py:etl");
  });

  it("leaves the deployment's other fields alone and ignores the entry's parameters and description", () => {
    const text = [
      "# Our deployments.",
      "source: { git_url: https://github.com/acme/flows.git, branch: main }",
      "",
      "deployments:",
      "  # the one that matters",
      "  - name: nightly          # runs at night",
      "    flow_name: etl",
      "    entrypoint: 'flows/etl.py:etl'",
      "    work_pool:",
      "      name: my-pool        # the default pool",
      "      job_variables:",
      "        pip_packages: [pandas]",
      "    parameters:",
      "      day: '2026-01-01'",
      "    tags: [a, b]",
      "    description: >-",
      "      Folded",
      "      text.",
      "    source: { branch: dev }",
      "",
      "  - name: other",
      "    entrypoint: flows/other.py:other",
      "    work_pool: { name: my-pool }",
      "",
      "# end",
      "",
    ].join("\n");
    const result = upsertDeployment(text, entry({ work_pool: "big-pool", entrypoint: "flows/etl.py:etl", parameters: { day: "x" }, description: "new" }));
    expect(result).toMatchObject({ action: "updated", index: 0 });
    expect(changedLines(text, result.text)).toEqual(["      name: big-pool        # the default pool"]);
    const [nightly, other] = parse(result.text).deployments;
    expect(nightly).toMatchObject({
      work_pool: "big-pool",
      job_variables: { pip_packages: ["pandas"] },
      parameters: { day: "2026-01-01" },
      tags: ["a", "b"],
      description: "Folded text.",
      source: { git_url: "https://github.com/acme/flows.git", branch: "dev" },
    });
    expect(other).toMatchObject({ name: "other", flow_name: "other", work_pool: "my-pool" });
  });

  it("matches a deployment without flow_name by the flow its entrypoint names", () => {
    const text = ["deployments:", "  - name: nightly", "    entrypoint: flows/load_sales.py:load_sales", "    work_pool: p", ""].join("\n");
    const same = upsertDeployment(text, entry({ flow_name: "load-sales", entrypoint: "flows/v2/load_sales.py:load_sales", work_pool: "p" }));
    expect(same.action).toBe("updated");
    expect(changedLines(text, same.text)).toEqual(["    entrypoint: flows/v2/load_sales.py:load_sales"]);

    // A new function would rename the flow: the file says which flow it stays.
    const renamed = upsertDeployment(text, entry({ flow_name: "load-sales", entrypoint: "flows/sales.py:run", work_pool: "p" }));
    expect(renamed.action).toBe("updated");
    expect(renamed.text).toBe(["deployments:", "  - name: nightly", "    flow_name: load-sales", "    entrypoint: flows/sales.py:run", "    work_pool: p", ""].join("\n"));
    expect(parse(renamed.text).deployments[0]).toMatchObject({ flow_name: "load-sales", entrypoint: "flows/sales.py:run" });
  });

  it("adds a missing work_pool or pool name", () => {
    const noPool = ["deployments:", "  - name: nightly", "    flow_name: etl", "    entrypoint: examples/flows/etl.py:etl", "    tags: [x]", ""].join("\n");
    const a = upsertDeployment(noPool, entry());
    expect(a.action).toBe("updated");
    expect(a.text).toBe(noPool.replace("etl.py:etl\n", "etl.py:etl\n    work_pool: { name: my-pool }\n"));

    const noName = ["deployments:", "  - name: nightly", "    flow_name: etl", "    entrypoint: examples/flows/etl.py:etl", "    work_pool:", "      job_variables: { a: 1 }", ""].join("\n");
    const b = upsertDeployment(noName, entry());
    expect(parse(b.text).deployments[0]).toMatchObject({ work_pool: "my-pool", job_variables: { a: 1 } });

    const nullPool = ["deployments:", "  - name: nightly", "    flow_name: etl", "    entrypoint: examples/flows/etl.py:etl", "    work_pool: ~", ""].join("\n");
    expect(parse(upsertDeployment(nullPool, entry()).text).deployments[0]?.work_pool).toBe("my-pool");
  });

  it("updates a deployment written in flow style", () => {
    const text = "deployments:\n  - { name: nightly, flow_name: etl, entrypoint: a.py:etl, work_pool: { name: p } }  # flow style\n";
    const result = upsertDeployment(text, entry({ work_pool: "q" }));
    expect(result.text).toBe("deployments:\n  - { name: nightly, flow_name: etl, entrypoint: examples/flows/etl.py:etl, work_pool: { name: q } }  # flow style\n");
  });

  it("keeps CRLF line endings", () => {
    const text = "name: proj\r\ndeployments:\r\n  - name: nightly\r\n    entrypoint: flows/etl.py:etl\r\n    work_pool: p # c\r\n";
    const updated = upsertDeployment(text, entry({ entrypoint: "flows/etl2.py:run", work_pool: "q" }));
    expect(updated.text).toBe("name: proj\r\ndeployments:\r\n  - name: nightly\r\n    flow_name: etl\r\n    entrypoint: flows/etl2.py:run\r\n    work_pool: q # c\r\n");
    const created = upsertDeployment(text, entry({ name: "other" }));
    expect(created.text.replace(/\r\n/g, "")).not.toContain("\n");
    expect(parse(created.text).deployments).toHaveLength(2);
  });
});

describe("upsertDeployment: unchanged", () => {
  it("returns the very same text when the deployment already says so", () => {
    for (const e of [
      entry(),
      entry({ parameters: { other: 1 }, description: "ignored for an existing deployment" }),
      entry({ name: "greet", flow_name: "hello", entrypoint: "examples/flows/hello.ts:hello" }),
      entry({ entrypoint: "./examples\\flows/etl.py:etl" }),
    ]) {
      const result = upsertDeployment(exampleFile, e);
      expect(result.action).toBe("unchanged");
      expect(result.text).toBe(exampleFile);
    }
    expect(upsertDeployment(exampleFile, entry({ name: "greet", flow_name: "hello", entrypoint: "examples/flows/hello.ts:hello" })).index).toBe(1);
  });

  it("treats an equivalent entrypoint in the file as unchanged", () => {
    const text = "deployments:\n  - name: nightly\n    flow_name: etl\n    entrypoint: ./examples/flows/etl.py:etl\n    work_pool: my-pool\n";
    expect(upsertDeployment(text, entry())).toEqual({ text, action: "unchanged", index: 0 });
  });
});

describe("upsertDeployment: the round trip through parseProjectFile", () => {
  it("gives a valid project file for every kind of change to the example", () => {
    const entries = [
      entry(),
      entry({ work_pool: "gpu" }),
      entry({ entrypoint: "examples/flows/etl2.py:etl", work_pool: "gpu" }),
      entry({ name: "greet", flow_name: "hello", entrypoint: "examples/flows/hello.mjs:hello", work_pool: "node-pool" }),
      entry({ name: "new", flow_name: "hello", entrypoint: "examples/flows/hello.ts:default", parameters: { name: "x", nested: { list: [1, "two"] } } }),
    ];
    let text = exampleFile;
    for (const e of entries) {
      text = upsertDeployment(text, e).text;
      const project = parse(text);
      const found = project.deployments.find((d) => d.name === e.name && d.flow_name === e.flow_name);
      expect(found).toMatchObject({ entrypoint: e.entrypoint, work_pool: e.work_pool });
    }
    const project = parse(text);
    expect(project.deployments.map((d) => `${d.flow_name}/${d.name}@${d.work_pool}`)).toEqual(["etl/nightly@gpu", "hello/greet@node-pool", "hello/new@my-pool"]);
    expect(project.deployments[2]?.parameters).toEqual({ name: "x", nested: { list: [1, "two"] } });
    // Running the last upsert of each deployment again changes nothing.
    for (const e of entries.slice(2)) expect(upsertDeployment(text, e).action).toBe("unchanged");
  });
});

describe("upsertDeployment: errors", () => {
  it("names the file and line of invalid YAML", () => {
    const error = thrown(() => upsertDeployment("deployments:\n  - name: a\n    tags: [x\n", entry(), { fileName: "flows/ferry.yaml" }));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^flows\/ferry\.yaml:\d+: is not valid YAML: .+; correct it there and try again$/);
  });

  it("names the line of a duplicate key", () => {
    const error = thrown(() => upsertDeployment("name: a\ndeployments: []\nname: b\n", entry()));
    expect(error.message).toMatch(/^ferry\.yaml:3: is not valid YAML: .*unique/);
  });

  it("refuses a file that is not a mapping", () => {
    expect(thrown(() => upsertDeployment("- name: a\n- name: b\n", entry())).message).toBe(
      "ferry.yaml:1: must be a mapping with a 'deployments' list, not a list; put the deployments under a top-level 'deployments:' key",
    );
    expect(thrown(() => upsertDeployment("# comment\n\njust text\n", entry())).message).toMatch(/^ferry\.yaml:3: must be a mapping .* not a single value/);
  });

  it("refuses `deployments` that is not a list", () => {
    const error = thrown(() => upsertDeployment("name: x\ndeployments:\n  nightly:\n    entrypoint: a.py:f\n", entry()));
    expect(error.message).toBe("ferry.yaml:3: deployments must be a list, not a mapping; write each deployment as an item starting with '- name: …'");
    expect(thrown(() => upsertDeployment("deployments: nightly\n", entry())).message).toMatch(/^ferry\.yaml:1: deployments must be a list, not a single value/);
  });

  it("refuses more than one YAML document", () => {
    expect(thrown(() => upsertDeployment("deployments: []\n---\nname: b\n", entry())).message).toMatch(/^ferry\.yaml:\d+: holds more than one YAML document/);
  });

  it("checks the entry with core's rules before touching the file", () => {
    const error = thrown(() => upsertDeployment(exampleFile, entry({ entrypoint: "../etl.py:etl", work_pool: "My Pool" })));
    expect(isFerryError(error, "validation_failed")).toBe(true);
    expect(error.message).toContain("cannot write deployment 'etl/nightly' to ferry.yaml");
    expect(error.message).toContain("outside the repository");
    expect(error.message).toContain("work_pool.name 'My Pool' is not a work pool name");
    expect(thrown(() => upsertDeployment(null, entry({ name: "" }))).message).toContain("name is required");
  });
});

describe("deploymentsInFile", () => {
  it("lists the example's deployments with their 0-based lines", () => {
    expect(deploymentsInFile(exampleFile)).toEqual([
      { name: "nightly", flow_name: "etl", entrypoint: "examples/flows/etl.py:etl", work_pool: "my-pool", line: 3 },
      { name: "greet", flow_name: "hello", entrypoint: "examples/flows/hello.ts:hello", work_pool: "my-pool", line: 10 },
    ]);
  });

  it("reads both pool forms and the flow name core would give", () => {
    const text = [
      "deployments:",
      "  - name: a",
      "    entrypoint: flows/a.py:load_sales",
      "    work_pool: pool-a",
      "  - { name: b, flow_name: bee, entrypoint: b.ts:b, work_pool: { name: pool-b } }",
      "  - name: c",
      "  - just a string",
      "  - entrypoint: no/name.py:x",
      "",
    ].join("\r\n");
    expect(deploymentsInFile(text)).toEqual([
      { name: "a", flow_name: "load-sales", entrypoint: "flows/a.py:load_sales", work_pool: "pool-a", line: 1 },
      { name: "b", flow_name: "bee", entrypoint: "b.ts:b", work_pool: "pool-b", line: 4 },
      { name: "c", flow_name: "", entrypoint: "", work_pool: "", line: 5 },
    ]);
  });

  it("lists nothing for a file without deployments", () => {
    expect(deploymentsInFile("")).toEqual([]);
    expect(deploymentsInFile("# nothing yet\n")).toEqual([]);
    expect(deploymentsInFile("name: x\ndeployments:\n")).toEqual([]);
  });

  it("throws the same errors as upsertDeployment", () => {
    expect(thrown(() => deploymentsInFile("- a\n", { fileName: "x/ferry.yaml" })).message).toMatch(/^x\/ferry\.yaml:1: must be a mapping/);
    expect(thrown(() => deploymentsInFile("deployments: {}\n")).message).toMatch(/^ferry\.yaml:1: deployments must be a list/);
    expect(thrown(() => deploymentsInFile("deployments: [\n")).code).toBe("validation_failed");
  });

  it("agrees with parseProjectFile on a valid file", () => {
    const text = upsertDeployment(exampleFile, entry({ name: "third", flow_name: "third", entrypoint: "x.mjs:default" })).text;
    const listed = deploymentsInFile(text).map(({ line: _line, ...rest }) => rest);
    const parsed = parse(text).deployments.map((d) => ({ name: d.name, flow_name: d.flow_name, entrypoint: d.entrypoint, work_pool: d.work_pool }));
    expect(listed).toEqual(parsed);
  });
});
