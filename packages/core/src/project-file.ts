import { isNode, LineCounter, parseDocument, type Document } from "yaml";
import type { DeploymentApply } from "./api/routes.js";
import { parseEntrypoint } from "./entrypoint.js";
import { FerryError } from "./errors.js";
import type { DeploymentSource, PullStep } from "./models.js";
import { isSlug } from "./names.js";
import { CATCHUP_POLICIES, COLLISION_STRATEGIES, validateSchedule, type ScheduleSpec } from "./schedules.js";

/**
 * `ferry.yaml`: the deployments of a repository, close to Prefect's `prefect.yaml`.
 *
 * ```yaml
 * source: { git_url: https://github.com/acme/flows.git, branch: main }  # default for every deployment
 * pull: [ { git_clone: { repository: …, branch: … } } ]                  # default pull steps
 * deployments:
 *   - name: nightly
 *     entrypoint: flows/etl.py:etl
 *     work_pool: { name: my-pool, job_variables: { pip_packages: [pandas] } }
 * ```
 *
 * Parsing never touches git or the network: what the file leaves out (a deployment's git URL) is
 * reported in `missing`, and the caller fills it in with `completeDeployments`.
 */

/** A deployment as the file describes it; its source may still lack the git URL. */
export type DeploymentDraft = Omit<DeploymentApply, "source"> & { source: Partial<DeploymentSource> };

export interface MissingField {
  /** Index of the deployment in the file. */
  index: number;
  /** `flow_name/name` of the deployment. */
  deployment: string;
  field: "source.git_url";
  /** Where it would go in the file, e.g. `deployments[0].source.git_url`. */
  path: string;
}

export interface ProjectFile {
  deployments: DeploymentDraft[];
  /** What the caller must supply before the drafts can be applied. */
  missing: MissingField[];
  /** The image to build for every deployment, when the file has a `build` section; defaults filled in. */
  build?: ProjectBuild;
  /** The file's top-level `name`, when it has one. */
  name?: string;
}

/**
 * The top-level `build` section: one image, built on the engine image with the project's requirements
 * and pushed, that every deployment of the file runs on (its `image` job variable).
 *
 * ```yaml
 * build:
 *   image: registry.example.com/ferry-flows/etl:v1   # default: the profile's namespace
 *   requirements: requirements.txt    # what the generated Dockerfile installs
 *   platform: linux/amd64
 * ```
 */
export interface ProjectBuild {
  /** `[registry/]repository[:tag]`; unset, the caller names it in its default namespace. */
  image?: string;
  /** A Dockerfile of the project (relative to `context`); unset, one is generated from `base_image` and `requirements`. */
  dockerfile?: string;
  /** The build context, relative to the project file's directory. Default `.`. */
  context: string;
  /** Default `linux/amd64`: what the clouds' container services run unless told otherwise. */
  platform: string;
  /** For the generated Dockerfile; relative to `context`. Default `requirements.txt`. */
  requirements: string;
  /** For the generated Dockerfile. Default `ferry-engine:latest`. */
  base_image: string;
  build_args: Record<string, string>;
  /** How to log in to a registry other than ECR; unset, anonymously. */
  registry_credentials?: RegistryCredentialsSpec;
}

/** A JSON file `{"username", "password"}` (or `{"auths": {...}}` as Docker writes it), or two variables. */
export type RegistryCredentialsSpec = { file: string } | { username_env: string; password_env: string };

export const BUILD_DEFAULTS = {
  context: ".",
  platform: "linux/amd64",
  requirements: "requirements.txt",
  base_image: "ferry-engine:latest",
} as const;

/** An image reference split into its parts; `registry` is null for Docker Hub's short names. */
export interface ImageReference {
  registry: string | null;
  repository: string;
  tag: string | null;
  digest: string | null;
}

// The grammar of github.com/distribution/reference, without its Docker Hub rewriting.
const REF_DOMAIN = String.raw`(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*\.?|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?`;
const REF_COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const IMAGE_REFERENCE = new RegExp(
  String.raw`^(?:(${REF_DOMAIN})/)?(${REF_COMPONENT}(?:/${REF_COMPONENT})*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/**
 * Splits `registry/repository:tag@digest`, or returns null when it is not a valid reference. The first
 * part is a registry only when it looks like a host (a dot, a port or `localhost`), as Docker reads it.
 */
export function parseImageReference(reference: string): ImageReference | null {
  if (reference.length > 512) return null;
  const m = IMAGE_REFERENCE.exec(reference);
  if (!m) return null;
  let registry = m[1] ?? null;
  let repository = m[2]!;
  if (registry !== null && !/[.:]|^localhost$|^\[/.test(registry)) {
    // `acme/etl`: a Docker Hub namespace, not a host.
    if (registry !== registry.toLowerCase()) return null;
    repository = `${registry}/${repository}`;
    registry = null;
  }
  if (repository.length > 255) return null;
  return { registry, repository, tag: m[3] ?? null, digest: m[4] ?? null };
}


export interface ProjectFileOptions {
  /** Shown in error messages; default `ferry.yaml`. */
  fileName?: string;
}

/** One problem in the file: where (a YAML path such as `deployments[1].entrypoint`, and the line) and what. */
export interface ProjectFileIssue {
  path: string;
  message: string;
  line?: number;
}

type Path = (string | number)[];
type Locate = (path: Path) => number | undefined;

/** @internal Also the JSON Schema's properties (project-file-schema.ts). */
export const TOP_LEVEL_FIELDS = ["name", "source", "pull", "build", "deployments"];
/** @internal Also the JSON Schema's properties (project-file-schema.ts). */
export const BUILD_FIELDS = ["image", "dockerfile", "context", "platform", "requirements", "base_image", "build_args", "registry_credentials"];
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** @internal Also the JSON Schema's properties (project-file-schema.ts). */
export const DEPLOYMENT_FIELDS = [
  "name",
  "flow_name",
  "entrypoint",
  "source",
  "pull",
  "work_pool",
  "parameters",
  "parameter_schema",
  "tags",
  "description",
  "paused",
  "schedules",
  "catchup_policy",
  "catchup_max_runs",
  "concurrency_limit",
  "collision_strategy",
  "late_after_seconds",
  "retries",
  "retry_delay_seconds",
  "retry_on_crash",
];
const SCHEDULE_FIELDS = ["cron", "interval", "anchor_date", "rrule", "timezone", "active"];
/** @internal Also the JSON Schema's properties (project-file-schema.ts). */
export const SOURCE_FIELDS = ["git_url", "branch", "commit", "credentials"];
/** @internal Also the JSON Schema's properties (project-file-schema.ts). */
export const WORK_POOL_FIELDS = ["name", "job_variables"];

/** Keys Prefect users bring along, with what to do instead. */
const UNSUPPORTED_HINTS: Record<string, string> = {
  push: "is not needed: 'ferry deploy' pushes the image the top-level 'build' section describes; remove it",
  schedule: "is Prefect's old single schedule; write 'schedules:', a list of {cron, timezone} | {interval} | {rrule}",
};

const COMMIT = /^[0-9a-fA-F]{7,40}$/;
const MAX_TAGS = 50;

/** Parses and validates the text of a project file. Throws one `validation_failed` error listing every problem. */
export function parseProjectFile(text: string, options: ProjectFileOptions = {}): ProjectFile {
  const fileName = options.fileName ?? "ferry.yaml";
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw projectFileError(
      fileName,
      doc.errors.map((e) => ({
        path: "",
        message: `is not valid YAML: ${e.message.split("\n")[0]}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw projectFileError(fileName, [{ path: "", message: `is not valid YAML: ${(error as Error).message}` }]);
  }
  return parseProject(value, { fileName, locate: locator(doc, lineCounter) });
}

/** Validates an already-parsed project document (from YAML or JSON). */
export function parseProject(value: unknown, options: ProjectFileOptions & { locate?: Locate } = {}): ProjectFile {
  const fileName = options.fileName ?? "ferry.yaml";
  const checker = new Checker(options.locate ?? (() => undefined));
  const result = checker.project(value);
  if (checker.issues.length) throw projectFileError(fileName, checker.issues);
  return result;
}

/**
 * Turns drafts into what `applyDeployment` takes, filling a missing git URL (and a branch, if the file
 * names none) from `defaults.source`, typically the current repository's origin and branch.
 */
export function completeDeployments(
  project: ProjectFile,
  defaults: { source?: DeploymentSource | null } = {},
  options: ProjectFileOptions = {},
): DeploymentApply[] {
  const issues: ProjectFileIssue[] = [];
  const out = project.deployments.map((draft, index): DeploymentApply => {
    let source: Partial<DeploymentSource> = draft.source;
    if (!draft.source.git_url) {
      const own = withoutUndefined(draft.source);
      const base: Partial<DeploymentSource> = withoutUndefined<Partial<DeploymentSource>>(defaults.source ?? {});
      // A branch or commit in the file replaces what the defaults point at instead of mixing with it.
      if (own.branch !== undefined || own.commit !== undefined) {
        delete base.branch;
        delete base.commit;
      }
      source = { ...base, ...own };
    }
    if (!source.git_url) {
      issues.push({
        path: `deployments[${index}].source.git_url`,
        message: "is required: add 'source: { git_url: … }' or deploy from a git repository with an 'origin' remote",
      });
    }
    return { ...draft, source: source as DeploymentSource };
  });
  if (issues.length) throw projectFileError(options.fileName ?? "ferry.yaml", issues);
  return out;
}

/** The flow name a deployment gets when it names none: the entrypoint's function, `_` written as `-`. */
export function defaultFlowName(entrypoint: string): string {
  const fn = entrypoint.slice(entrypoint.lastIndexOf(":") + 1);
  return fn.slice(fn.lastIndexOf(".") + 1).replace(/_/g, "-");
}

export function formatYamlPath(path: Path): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

function projectFileError(fileName: string, issues: ProjectFileIssue[]): FerryError {
  const lines = issues.map((i) => {
    const where = i.line === undefined ? fileName : `${fileName}:${i.line}`;
    return `${where}: ${i.path ? `${i.path}: ` : ""}${i.message}`;
  });
  const message =
    lines.length === 1 ? lines[0]! : `${fileName} has ${lines.length} problems:\n${lines.map((l) => `  ${l}`).join("\n")}`;
  return new FerryError("validation_failed", message, { details: { issues } });
}

function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path) => {
    // A missing field has no node: point at the closest enclosing one that exists.
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** `https://user:token@host/…`: a secret that would be stored and shown with the deployment. */
export function hasEmbeddedSecret(gitUrl: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(gitUrl);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

class Checker {
  readonly issues: ProjectFileIssue[] = [];
  constructor(private readonly locate: Locate) {}

  private fail(path: Path, message: string): void {
    this.issues.push({ path: formatYamlPath(path), message, line: this.locate(path) });
  }

  private fields(value: Record<string, unknown>, path: Path, known: string[]): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      this.fail([...path, key], UNSUPPORTED_HINTS[key] ?? `is not a known field (known: ${known.join(", ")})`);
    }
  }

  project(value: unknown): ProjectFile {
    if (value === null || value === undefined) {
      this.fail([], "is empty; it needs a 'deployments' list");
      return { deployments: [], missing: [] };
    }
    if (!isMapping(value)) {
      this.fail([], `must be a mapping with a 'deployments' list, not ${describe(value)}`);
      return { deployments: [], missing: [] };
    }
    this.fields(value, [], TOP_LEVEL_FIELDS);
    if (value.name !== undefined && typeof value.name !== "string") this.fail(["name"], "must be a string");
    const defaultSource = value.source === undefined ? {} : this.source(value.source, ["source"]);
    const defaultPull = value.pull === undefined ? undefined : this.pull(value.pull, ["pull"]);
    const build = value.build === undefined ? undefined : this.build(value.build, ["build"]);

    const list = value.deployments;
    if (list === undefined || list === null) {
      this.fail(["deployments"], "is required: list the deployments, each with a name, an entrypoint and a work_pool");
      return { deployments: [], missing: [] };
    }
    if (!Array.isArray(list) || list.length === 0) {
      this.fail(["deployments"], `must be a non-empty list, not ${Array.isArray(list) ? "an empty list" : describe(list)}`);
      return { deployments: [], missing: [] };
    }

    const deployments: DeploymentDraft[] = [];
    const missing: MissingField[] = [];
    const seen = new Map<string, number>();
    list.forEach((item, index) => {
      const draft = this.deployment(item, ["deployments", index], defaultSource, defaultPull);
      if (!draft) return;
      const key = `${draft.flow_name}/${draft.name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.fail(["deployments", index], `repeats deployments[${first}] (${key}); flow_name and name together must be unique`);
        return;
      }
      seen.set(key, index);
      if (!draft.source.git_url) {
        missing.push({ index, deployment: key, field: "source.git_url", path: `deployments[${index}].source.git_url` });
      }
      deployments.push(draft);
    });
    const out: ProjectFile = { deployments, missing };
    if (build) out.build = build;
    if (typeof value.name === "string" && value.name) out.name = value.name;
    return out;
  }

  private build(value: unknown, path: Path): ProjectBuild | undefined {
    if (!isMapping(value)) {
      const prefect = Array.isArray(value) ? " (Prefect's list of build steps is not supported)" : "";
      this.fail(path, `must be a mapping such as '{ image: registry/name:tag, requirements: requirements.txt }', not ${describe(value)}${prefect}`);
      return undefined;
    }
    const before = this.issues.length;
    this.fields(value, path, BUILD_FIELDS);
    const out: ProjectBuild = { ...BUILD_DEFAULTS, build_args: {} };
    const text = (key: string, maxLength = 1000): string | undefined =>
      value[key] === undefined ? undefined : this.requiredString(value[key], [...path, key], maxLength);

    const image = text("image", 512);
    if (image !== undefined) {
      const ref = parseImageReference(image);
      if (!ref) this.fail([...path, "image"], `'${image}' is not an image reference such as 'registry.example.com/team/name:tag' (lowercase repository)`);
      else if (ref.digest) this.fail([...path, "image"], `names a digest; give a repository and a tag to push to, e.g. '${image.split("@")[0]}'`);
      else out.image = image;
    }
    for (const key of ["dockerfile", "context", "requirements"] as const) {
      const v = text(key);
      if (v === undefined) continue;
      const escapes = /^([/\\]|[A-Za-z]:)/.test(v) || v.replace(/\\/g, "/").split("/").includes("..");
      if (key !== "context" && escapes) {
        this.fail([...path, key], `'${v}' must be a path inside the build context, relative to it`);
      } else out[key] = v;
    }
    const platform = text("platform", 100);
    if (platform !== undefined) {
      if (PLATFORM.test(platform)) out.platform = platform;
      else this.fail([...path, "platform"], `'${platform}' is not a platform such as linux/amd64 or linux/arm64`);
    }
    const base = text("base_image", 512);
    if (base !== undefined) {
      if (parseImageReference(base)) out.base_image = base;
      else this.fail([...path, "base_image"], `'${base}' is not an image reference such as ferry-engine:latest`);
    }
    if (value.dockerfile !== undefined) {
      // Only the generated Dockerfile reads these: a silent no-op would be worse than a refusal.
      for (const key of ["requirements", "base_image"] as const) {
        if (value[key] !== undefined) this.fail([...path, key], `is used only by the generated Dockerfile; with build.dockerfile, install from your Dockerfile instead and remove it`);
      }
    }
    if (value.build_args !== undefined && value.build_args !== null) {
      const args = this.mapping(value.build_args, [...path, "build_args"], "a mapping of NAME: value");
      for (const [k, v] of Object.entries(args ?? {})) {
        if (!ENV_NAME.test(k)) this.fail([...path, "build_args", k], "is not a build argument name (letters, digits and _)");
        else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.build_args[k] = String(v);
        else this.fail([...path, "build_args", k], `must be a string, a number or a boolean, not ${describe(v)}`);
      }
    }
    if (value.registry_credentials !== undefined) {
      const creds = this.registryCredentials(value.registry_credentials, [...path, "registry_credentials"]);
      if (creds) out.registry_credentials = creds;
    }
    return this.issues.length === before ? out : undefined;
  }

  private registryCredentials(value: unknown, path: Path): RegistryCredentialsSpec | undefined {
    const what = "a mapping with 'file: path/to/credentials.json', or 'username_env' and 'password_env' naming variables";
    const map = this.mapping(value, path, what);
    if (!map) return undefined;
    this.fields(map, path, ["file", "username_env", "password_env"]);
    if (map.file !== undefined) {
      if (map.username_env !== undefined || map.password_env !== undefined) {
        this.fail(path, "give either 'file' or 'username_env' and 'password_env', not both");
        return undefined;
      }
      const file = this.requiredString(map.file, [...path, "file"]);
      return file === undefined ? undefined : { file };
    }
    const names: string[] = [];
    for (const key of ["username_env", "password_env"] as const) {
      const v = this.requiredString(map[key], [...path, key], 200);
      if (v !== undefined && !ENV_NAME.test(v)) this.fail([...path, key], `'${v}' is not an environment variable name`);
      else if (v !== undefined) names.push(v);
    }
    return names.length === 2 ? { username_env: names[0]!, password_env: names[1]! } : undefined;
  }

  private deployment(
    value: unknown,
    path: Path,
    defaultSource: Partial<DeploymentSource>,
    defaultPull: PullStep[] | undefined,
  ): DeploymentDraft | undefined {
    if (!isMapping(value)) {
      this.fail(path, `must be a mapping with name, entrypoint and work_pool, not ${describe(value)}`);
      return undefined;
    }
    const before = this.issues.length;
    this.fields(value, path, DEPLOYMENT_FIELDS);

    const name = this.requiredString(value.name, [...path, "name"], 200);
    const entrypoint = this.requiredString(value.entrypoint, [...path, "entrypoint"]);
    if (entrypoint !== undefined) {
      try {
        parseEntrypoint(entrypoint);
      } catch (error) {
        this.fail([...path, "entrypoint"], (error as Error).message.replace(/^entrypoint /, ""));
      }
    }
    let flowName = entrypoint === undefined ? undefined : defaultFlowName(entrypoint);
    if (value.flow_name !== undefined) flowName = this.requiredString(value.flow_name, [...path, "flow_name"], 200);

    let source = defaultSource;
    if (value.source !== undefined) {
      const own = this.source(value.source, [...path, "source"]);
      // A source naming its own repository replaces the default; one without a URL refines it (a branch, credentials).
      source = own.git_url ? own : { ...defaultSource, ...own };
    }
    const pull = value.pull === undefined ? defaultPull : this.pull(value.pull, [...path, "pull"]);
    const pool = this.workPool(value.work_pool, [...path, "work_pool"]);

    const draft: DeploymentDraft = {
      flow_name: flowName ?? "",
      name: name ?? "",
      entrypoint: entrypoint ?? "",
      work_pool: pool?.name ?? "",
      source,
    };
    if (pool?.job_variables) draft.job_variables = pool.job_variables;
    if (pull !== undefined) draft.pull_steps = pull;
    if (value.parameters !== undefined) {
      const parameters = this.mapping(value.parameters, [...path, "parameters"]);
      if (parameters) draft.parameters = parameters;
    }
    if (value.parameter_schema !== undefined) {
      if (value.parameter_schema === null) draft.parameter_schema = null;
      else {
        const schema = this.mapping(value.parameter_schema, [...path, "parameter_schema"], "a JSON Schema mapping");
        if (schema) draft.parameter_schema = schema;
      }
    }
    if (value.tags !== undefined) {
      const tags = this.tags(value.tags, [...path, "tags"]);
      if (tags) draft.tags = tags;
    }
    if (value.description !== undefined) {
      if (value.description === null || (typeof value.description === "string" && value.description.length <= 5000)) {
        draft.description = value.description;
      } else {
        this.fail([...path, "description"], typeof value.description === "string" ? "must be at most 5000 characters" : "must be a string");
      }
    }
    if (value.paused !== undefined) {
      if (typeof value.paused === "boolean") draft.paused = value.paused;
      else this.fail([...path, "paused"], `must be true or false, not ${describe(value.paused)}`);
    }
    this.scheduling(value, path, draft);
    return this.issues.length === before ? draft : undefined;
  }

  /** schedules, the catch-up policy and the deployment's concurrency, checked by the same rules as the API. */
  private scheduling(value: Record<string, unknown>, path: Path, draft: DeploymentDraft): void {
    if (value.schedules !== undefined) {
      if (!Array.isArray(value.schedules)) {
        this.fail([...path, "schedules"], `must be a list of {cron, timezone} | {interval} | {rrule} mappings, not ${describe(value.schedules)}`);
      } else {
        const schedules: NonNullable<DeploymentDraft["schedules"]> = [];
        value.schedules.forEach((item: unknown, i) => {
          const at = [...path, "schedules", i];
          if (!isMapping(item)) return this.fail(at, `must be a mapping such as {cron: "0 9 * * *", timezone: "Europe/Berlin"}, not ${describe(item)}`);
          this.fields(item, at, SCHEDULE_FIELDS);
          const { active, ...spec } = item;
          if (active !== undefined && typeof active !== "boolean") return this.fail([...at, "active"], `must be true or false, not ${describe(active)}`);
          try {
            const normal = validateSchedule(spec as ScheduleSpec, formatYamlPath(at));
            schedules.push({ ...normal, ...(active === undefined ? {} : { active }) });
          } catch (error) {
            this.fail(at, (error as Error).message.replace(`${formatYamlPath(at)} `, "").replace(`${formatYamlPath(at)}.`, ""));
          }
        });
        draft.schedules = schedules;
      }
    }
    const oneOf = (key: "catchup_policy" | "collision_strategy", allowed: readonly string[]) => {
      if (value[key] === undefined) return;
      if (typeof value[key] === "string" && allowed.includes(value[key])) (draft as Record<string, unknown>)[key] = value[key];
      else this.fail([...path, key], `must be one of ${allowed.join(", ")}, not ${describe(value[key])}`);
    };
    oneOf("catchup_policy", CATCHUP_POLICIES);
    oneOf("collision_strategy", COLLISION_STRATEGIES);
    const integer = (
      key: "catchup_max_runs" | "late_after_seconds" | "concurrency_limit" | "retries" | "retry_delay_seconds",
      min: number,
      max: number,
      nullable = false,
    ) => {
      const v = value[key];
      if (v === undefined) return;
      if ((v === null && nullable) || (Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) (draft as Record<string, unknown>)[key] = v;
      else this.fail([...path, key], `must be a whole number from ${min} to ${max}${nullable ? " (or null: no limit)" : ""}, not ${describe(v)}`);
    };
    integer("catchup_max_runs", 0, 1000);
    integer("late_after_seconds", 0, 86_400);
    integer("concurrency_limit", 1, 2_147_483_647, true);
    integer("retries", 0, 10);
    integer("retry_delay_seconds", 0, 86_400);
    if (value.retry_on_crash !== undefined) {
      if (typeof value.retry_on_crash === "boolean") draft.retry_on_crash = value.retry_on_crash;
      else this.fail([...path, "retry_on_crash"], `must be true or false, not ${describe(value.retry_on_crash)}`);
    }
  }

  private requiredString(value: unknown, path: Path, maxLength = 1000): string | undefined {
    if (value === undefined || value === null || value === "") {
      this.fail(path, "is required");
      return undefined;
    }
    if (typeof value !== "string") {
      this.fail(path, `must be a string, not ${describe(value)}`);
      return undefined;
    }
    if (value.length > maxLength) {
      this.fail(path, `must be at most ${maxLength} characters`);
      return undefined;
    }
    return value;
  }

  private mapping(value: unknown, path: Path, what = "a mapping"): Record<string, unknown> | undefined {
    if (isMapping(value)) return value;
    this.fail(path, `must be ${what}, not ${describe(value)}`);
    return undefined;
  }

  private source(value: unknown, path: Path): Partial<DeploymentSource> {
    const map = this.mapping(value, path, "a mapping with git_url and optionally branch, commit, credentials");
    if (!map) return {};
    this.fields(map, path, SOURCE_FIELDS);
    const out: Partial<DeploymentSource> = {};
    if (map.git_url !== undefined) {
      const url = this.requiredString(map.git_url, [...path, "git_url"], 2000);
      if (url !== undefined && hasEmbeddedSecret(url)) {
        this.fail(
          [...path, "git_url"],
          "contains a password or token; store it with 'ferry credentials create NAME --type git' and name it in source.credentials",
        );
      } else if (url !== undefined) out.git_url = url;
    }
    for (const key of ["branch", "credentials"] as const) {
      const v = map[key];
      if (v === undefined) continue;
      if (v === null) out[key] = null;
      else if (typeof v !== "string" || v === "") this.fail([...path, key], `must be a non-empty string, not ${describe(v)}`);
      else if (key === "credentials" && !isSlug(v)) this.fail([...path, key], `'${v}' is not a credentials name (lowercase letters, digits and dashes)`);
      else out[key] = v;
    }
    if (map.commit !== undefined) {
      // YAML reads an all-digit hash as a number; accept it as the text it was.
      const commit = typeof map.commit === "number" ? String(map.commit) : map.commit;
      if (commit === null) out.commit = null;
      else if (typeof commit !== "string" || !COMMIT.test(commit)) {
        this.fail([...path, "commit"], "must be a commit hash of 7 to 40 hexadecimal characters");
      } else out.commit = commit;
    }
    return out;
  }

  private pull(value: unknown, path: Path): PullStep[] | undefined {
    if (!Array.isArray(value)) {
      this.fail(path, `must be a list of steps such as '- git_clone: { repository: … }', not ${describe(value)}`);
      return undefined;
    }
    const steps: PullStep[] = [];
    value.forEach((step, i) => {
      if (!isMapping(step) || Object.keys(step).length !== 1) {
        this.fail([...path, i], "must be a mapping with exactly one key naming the step, e.g. '- git_clone: { … }'");
        return;
      }
      const [stepName, options] = Object.entries(step)[0]!;
      if (options !== null && !isMapping(options)) {
        this.fail([...path, i, stepName], `must be a mapping of the step's options, not ${describe(options)}`);
        return;
      }
      steps.push(step);
    });
    return steps;
  }

  private workPool(value: unknown, path: Path): { name: string; job_variables?: Record<string, unknown> } | undefined {
    if (value === undefined || value === null) {
      this.fail(path, "is required: give the pool as 'work_pool: { name: my-pool }'");
      return undefined;
    }
    const map = typeof value === "string" ? { name: value } : this.mapping(value, path, "a mapping with a name and optionally job_variables");
    if (!map) return undefined;
    this.fields(map, path, WORK_POOL_FIELDS);
    const name = this.requiredString(map.name, [...path, "name"], 63);
    if (name !== undefined && !isSlug(name)) {
      this.fail([...path, "name"], `'${name}' is not a work pool name (lowercase letters, digits and dashes)`);
    }
    let jobVariables: Record<string, unknown> | undefined;
    if (map.job_variables !== undefined && map.job_variables !== null) {
      jobVariables = this.mapping(map.job_variables, [...path, "job_variables"], "a mapping of variable: value");
    }
    return name === undefined ? undefined : { name, ...(jobVariables ? { job_variables: jobVariables } : {}) };
  }

  private tags(value: unknown, path: Path): string[] | undefined {
    if (!Array.isArray(value)) {
      this.fail(path, `must be a list of strings, not ${describe(value)}`);
      return undefined;
    }
    if (value.length > MAX_TAGS) this.fail(path, `must have at most ${MAX_TAGS} tags`);
    const bad = value.findIndex((t) => typeof t !== "string" || t.length === 0 || t.length > 100);
    if (bad >= 0) {
      this.fail([...path, bad], "must be a non-empty string of at most 100 characters");
      return undefined;
    }
    return value as string[];
  }
}
