import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createAjv } from "./json-schema.js";
import { PROJECT_FILE_JSON_SCHEMA as SCHEMA } from "./project-file-schema.js";
import { BUILD_FIELDS, DEPLOYMENT_FIELDS, parseProjectFile, SOURCE_FIELDS, TOP_LEVEL_FIELDS, WORK_POOL_FIELDS } from "./project-file.js";

const validate = createAjv().compile(structuredClone(SCHEMA) as object);
const schemaAccepts = (text: string) => validate(parse(text));
const parserAccepts = (text: string) => {
  try {
    parseProjectFile(text);
    return true;
  } catch {
    return false;
  }
};

const VALID = [
  "deployments:\n  - name: nightly\n    entrypoint: flows/etl.py:etl\n    work_pool: managed\n",
  `name: acme
source: { git_url: https://github.com/acme/flows.git, branch: main, commit: abc1234, credentials: git-token }
pull: [ { git_clone: { repository: https://github.com/acme/flows.git } } ]
build:
  image: registry.example.com/team/etl:v1
  platform: linux/arm64
  requirements: requirements.txt
  build_args: { PIP_INDEX: https://pypi.example.com, RETRIES: 3 }
  registry_credentials: { username_env: REG_USER, password_env: REG_PASS }
deployments:
  - name: nightly
    flow_name: etl
    entrypoint: flows/etl.py:etl
    work_pool: { name: managed, job_variables: { memory_mib: 2048 } }
    parameters: { day: "2026-11-01" }
    parameter_schema: null
    tags: [etl, nightly]
    description: Loads the day's data
    paused: false
`,
];

/** Files both must refuse, each for one reason. */
const INVALID = {
  "no deployments": "name: x\n",
  "an empty deployments list": "deployments: []\n",
  "an unknown top-level field": "deployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p }\nschedules: []\n",
  "an unknown deployment field": "deployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p, image: x }\n",
  "no work_pool": "deployments:\n  - { name: a, entrypoint: f.py:f }\n",
  "a work pool name in capitals": "deployments:\n  - { name: a, entrypoint: f.py:f, work_pool: My_Pool }\n",
  "paused as text": "deployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p, paused: 'yes' }\n",
  "a short commit": "source: { commit: abc }\ndeployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p }\n",
  "a pull step with two keys": "pull: [ { a: {}, b: {} } ]\ndeployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p }\n",
  "both kinds of registry credentials": "build: { registry_credentials: { file: c.json, username_env: U, password_env: P } }\ndeployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p }\n",
  "a bad platform": "build: { platform: amd64 }\ndeployments:\n  - { name: a, entrypoint: f.py:f, work_pool: p }\n",
};

const props = (schema: { properties?: Record<string, unknown> }) => Object.keys(schema.properties ?? {}).sort();

describe("PROJECT_FILE_JSON_SCHEMA", () => {
  it("has exactly the fields the parser knows", () => {
    expect(props(SCHEMA)).toEqual([...TOP_LEVEL_FIELDS].sort());
    expect(props(SCHEMA.properties.build)).toEqual([...BUILD_FIELDS].sort());
    expect(props(SCHEMA.properties.deployments.items)).toEqual([...DEPLOYMENT_FIELDS].sort());
    expect(props(SCHEMA.properties.source)).toEqual([...SOURCE_FIELDS].sort());
    expect(props(SCHEMA.properties.deployments.items.properties.work_pool.anyOf[1]!)).toEqual([...WORK_POOL_FIELDS].sort());
  });

  it.each(VALID.map((text, i) => [i, text]))("accepts what the parser accepts (%i)", (_i, text) => {
    expect(parserAccepts(text)).toBe(true);
    expect(schemaAccepts(text), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(Object.entries(INVALID))("refuses %s, as the parser does", (_why, text) => {
    expect(parserAccepts(text)).toBe(false);
    expect(schemaAccepts(text)).toBe(false);
  });
});
