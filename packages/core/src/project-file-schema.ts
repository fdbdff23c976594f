/**
 * A JSON Schema (draft-07, what editors' YAML and JSON support speaks) of `ferry.yaml`, for completion
 * and errors while editing: the VS Code extension writes it to its package at build time. The parser
 * (project-file.ts) stays the authority, with rules a schema cannot say (entrypoint syntax, duplicate
 * deployments, a token in a git URL); project-file-schema.test.ts checks the two agree on every field.
 */
const SLUG = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$";
const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";

const nonEmpty = (maxLength: number, description: string) => ({ type: "string", minLength: 1, maxLength, description });

const source = {
  type: "object",
  description: "Where the flow's code is: a git repository. Unset git_url: the current repository's origin.",
  additionalProperties: false,
  properties: {
    git_url: nonEmpty(2000, "The repository's URL, without a password or token (store those with 'ferry credentials create NAME --type git')"),
    branch: { type: ["string", "null"], minLength: 1, description: "The branch to run; default the current branch" },
    commit: { type: ["string", "null"], pattern: "^[0-9a-fA-F]{7,40}$", description: "A commit hash to pin the code to" },
    credentials: { type: ["string", "null"], pattern: SLUG, description: "Name of git credentials for a private repository" },
  },
};

const pull = {
  type: "array",
  description: "Steps that fetch the code before a run, as in prefect.yaml",
  items: {
    type: "object",
    minProperties: 1,
    maxProperties: 1,
    additionalProperties: { type: ["object", "null"] },
    description: "One key naming the step, e.g. '- git_clone: { repository: … }'",
  },
};

const deployment = {
  type: "object",
  required: ["name", "entrypoint", "work_pool"],
  additionalProperties: false,
  properties: {
    name: nonEmpty(200, "The deployment's name, unique with flow_name"),
    flow_name: nonEmpty(200, "Default: the entrypoint's function name"),
    entrypoint: nonEmpty(1000, "The flow function: path/to/file.py:function (or .ts/.js)"),
    source,
    pull,
    work_pool: {
      description: "The pool the deployment runs on: its name, or { name, job_variables }",
      anyOf: [
        { type: "string", pattern: SLUG },
        {
          type: "object",
          required: ["name"],
          additionalProperties: false,
          properties: {
            name: { type: "string", pattern: SLUG, description: "A work pool name (lowercase letters, digits and dashes)" },
            job_variables: { type: ["object", "null"], description: "Overrides of the pool's job template variables" },
          },
        },
      ],
    },
    parameters: { type: "object", description: "Default parameters of the flow" },
    parameter_schema: { type: ["object", "null"], description: "A JSON Schema of the parameters; default: from the flow's signature" },
    tags: { type: "array", maxItems: 50, items: { type: "string", minLength: 1, maxLength: 100 } },
    description: { type: ["string", "null"], maxLength: 5000 },
    paused: { type: "boolean" },
    schedules: {
      type: "array",
      maxItems: 50,
      description: "When the server creates runs on its own: cron (with timezone), interval or rrule",
      items: {
        type: "object",
        additionalProperties: false,
        properties: {
          cron: nonEmpty(200, "Cron expression, e.g. '0 9 * * 1-5'"),
          interval: { type: "integer", minimum: 10, description: "Seconds between runs, from anchor_date" },
          anchor_date: { type: "string", format: "date-time" },
          rrule: nonEmpty(2000, "An RFC 5545 RRULE, e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9'"),
          timezone: nonEmpty(100, "An IANA time zone, e.g. Europe/Berlin (default UTC)"),
          active: { type: "boolean", description: "false: paused" },
        },
        oneOf: [{ required: ["cron"] }, { required: ["interval"] }, { required: ["rrule"] }],
      },
    },
    catchup_policy: { enum: ["skip", "catch_up"], description: "Runs missed while no server ran: skip (default) or catch_up" },
    catchup_max_runs: { type: "integer", minimum: 0, maximum: 1000, description: "With catch_up: at most this many missed runs (default 1)" },
    concurrency_limit: { type: ["integer", "null"], minimum: 1, description: "Runs of this deployment at once" },
    collision_strategy: { enum: ["enqueue", "cancel_new"], description: "A run past concurrency_limit waits (enqueue) or is cancelled (cancel_new)" },
    late_after_seconds: { type: "integer", minimum: 0, maximum: 86400, description: "A run not started this long after its time is Late (default 60)" },
    retries: { type: "integer", minimum: 0, maximum: 10, description: "Further attempts of a FAILED run, as attempts of the same run (default 0)" },
    retry_delay_seconds: { type: "integer", minimum: 0, maximum: 86400, description: "Seconds between an attempt's end and the next (default 0)" },
    retry_on_crash: { type: "boolean", description: "Retry CRASHED attempts too (default false)" },
  },
};

const build = {
  type: "object",
  description: "One image, built on the engine image and pushed, that every deployment of the file runs on",
  additionalProperties: false,
  properties: {
    image: nonEmpty(512, "[registry/]repository[:tag] to push; default the profile's namespace"),
    dockerfile: nonEmpty(1000, "A Dockerfile of the project, relative to context; default: generated"),
    context: nonEmpty(1000, "The build context, relative to this file; default '.'"),
    platform: { type: "string", pattern: "^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$", description: "Default linux/amd64" },
    requirements: nonEmpty(1000, "What the generated Dockerfile installs; default requirements.txt"),
    base_image: nonEmpty(512, "For the generated Dockerfile; default ferry-engine:latest"),
    build_args: {
      type: ["object", "null"],
      propertyNames: { pattern: ENV_NAME },
      additionalProperties: { type: ["string", "number", "boolean"] },
    },
    registry_credentials: {
      description: "How to log in to the registry: a JSON file, or two environment variables",
      oneOf: [
        { type: "object", required: ["file"], additionalProperties: false, properties: { file: nonEmpty(1000, "{\"username\", \"password\"} or a Docker config.json") } },
        {
          type: "object",
          required: ["username_env", "password_env"],
          additionalProperties: false,
          properties: {
            username_env: { type: "string", pattern: ENV_NAME, maxLength: 200 },
            password_env: { type: "string", pattern: ENV_NAME, maxLength: 200 },
          },
        },
      ],
    },
  },
};

export const PROJECT_FILE_JSON_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://ferry.dev/schemas/ferry.yaml.json",
  title: "ferry.yaml",
  description: "The deployments of a repository, deployed with 'ferry deploy'",
  type: "object",
  required: ["deployments"],
  additionalProperties: false,
  properties: {
    name: { type: "string", description: "The project's name" },
    source: { ...source, description: "The default source of every deployment" },
    pull: { ...pull, description: "The default pull steps of every deployment" },
    build,
    deployments: { type: "array", minItems: 1, items: deployment, description: "Each with a name, an entrypoint and a work_pool" },
  },
} as const;
