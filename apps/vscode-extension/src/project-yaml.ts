import { isDeepStrictEqual } from "node:util";
import { defaultFlowName, FerryError, formatEntrypoint, isFerryError, parseEntrypoint, parseProject } from "@ferry/core";
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Pair, type YAMLMap, type YAMLSeq } from "yaml";

/**
 * Edits the text of a `ferry.yaml` the way a person would: the change goes where it belongs and every
 * other byte stays as it was (comments, blank lines, quoting, flow or block style, line endings).
 *
 * The change is made twice. Once with the `yaml` Document API on a copy of the parsed file: that copy
 * is what the file must mean afterwards. And once as small splices into the original text, which keep
 * the rest of the file byte-identical. The splices are used only when the text they give parses to
 * exactly the Document's content; otherwise (a layout the splices do not handle, such as a flow-style
 * `deployments: [...]`) the Document is written out whole, reformatting the file but losing no comment.
 */

export interface DeploymentEntry {
  name: string;
  flow_name: string;
  entrypoint: string;
  work_pool: string;
  /** Written only when the deployment is new. */
  parameters?: Record<string, unknown>;
  /** Written only when the deployment is new. */
  description?: string;
}

export interface ProjectYamlOptions {
  /** Shown in error messages; default `ferry.yaml`. */
  fileName?: string;
}

export interface UpsertResult {
  text: string;
  action: "created" | "updated" | "unchanged";
  /** Index of the deployment in the file's `deployments` list. */
  index: number;
}

export interface DeploymentListing {
  name: string;
  /** As core reads it: the `flow_name`, or else the one the entrypoint's function gives. */
  flow_name: string;
  /** Empty when the file has none. */
  entrypoint: string;
  /** The pool's name, from `work_pool: name` or `work_pool: { name: … }`; empty when the file has none. */
  work_pool: string;
  /** 0-based line of the deployment's first key. */
  line: number;
}

const HEADER = [
  "# Deployments of this repository's flows; `ferry deploy` applies them. Without a `source`, a",
  "# deployment runs the code of this repository's origin at the current branch.",
];

/**
 * Adds the deployment to the file, or points the one with the same `flow_name` and `name` at the new
 * entrypoint and work pool (leaving its other fields alone). `null` or blank text gives a new file.
 * Throws core's `validation_failed` error when the entry is not a valid deployment or the file cannot
 * be edited safely (invalid YAML, not a mapping, `deployments` not a list).
 */
export function upsertDeployment(text: string | null, entry: DeploymentEntry, opts: ProjectYamlOptions = {}): UpsertResult {
  const fileName = opts.fileName ?? "ferry.yaml";
  const wanted = checkEntry(entry, fileName);
  if (text === null || text.trim() === "") {
    const eol = text !== null && text.includes("\r\n") ? "\r\n" : "\n";
    const body = ["deployments:", renderItem(newItem(wanted, "flow"), 2, "flow", "\n")].join("\n");
    return { text: [...HEADER, body].join("\n").replace(/\n/g, eol) + eol, action: "created", index: 0 };
  }

  const project = readProject(text, fileName);
  const plan = planChanges(project, wanted);
  if (plan.changes.length === 0) return { text, action: "unchanged", index: plan.index };

  const edited = project.doc.clone();
  for (const change of plan.changes) applyToDocument(edited, change);
  return { text: writeText(project, edited, plan.changes), action: plan.action, index: plan.index };
}

/**
 * The deployments of a file, for a quick pick. Read from the YAML document rather than through
 * `parseProjectFile`, so that one broken deployment (or a missing field) does not hide the others;
 * items without a name are left out. Throws like `upsertDeployment` when the file is not a mapping
 * with a `deployments` list.
 */
export function deploymentsInFile(text: string, opts: ProjectYamlOptions = {}): DeploymentListing[] {
  if (text.trim() === "") return [];
  const { deployments, lineCounter } = readProject(text, opts.fileName ?? "ferry.yaml");
  if (!deployments) return [];
  return deployments.items.flatMap((item): DeploymentListing[] => {
    if (!isMap(item)) return [];
    const name = item.get("name");
    if (typeof name !== "string" || name === "") return [];
    const entrypoint = stringAt(item, "entrypoint") ?? "";
    return [
      {
        name,
        flow_name: flowNameOf(item) ?? "",
        entrypoint,
        work_pool: poolNameOf(item) ?? "",
        line: item.range ? lineCounter.linePos(item.range[0]).line - 1 : 0,
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------------

interface Project {
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** The top-level mapping; null when the file holds only comments. */
  top: YAMLMap | null;
  /** The `deployments` list; null when the file has none yet (absent or empty). */
  deployments: YAMLSeq | null;
  eol: string;
}

type PoolStyle = "string" | "flow" | "block";

type Path = (string | number)[];

/**
 * One edit, in terms both the Document and the splicer understand.
 * - `scalar`: give the existing string scalar at `path` a new value.
 * - `insert`: add `key` to the mapping at `path`, after the key `after` (or last).
 * - `replace`: set `key` of the mapping at `path` (its value is there but of the wrong kind).
 * - `append`: add a deployment at the end of the list, creating the list when needed.
 */
type Change =
  | { kind: "scalar"; path: Path; value: string }
  | { kind: "insert"; path: Path; key: string; value: unknown; style?: PoolStyle; after: string | null }
  | { kind: "replace"; path: Path; key: string; value: unknown; style?: PoolStyle }
  | { kind: "append"; value: Record<string, unknown>; style: PoolStyle };

interface Plan {
  action: "created" | "updated";
  index: number;
  changes: Change[];
}

function readProject(text: string, fileName: string): Project {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const line = (offset: number): number => lineCounter.linePos(offset).line;
  const first = doc.errors[0];
  if (first) {
    const reason = /multiple documents/i.test(first.message)
      ? "holds more than one YAML document ('---'); keep the deployments in one"
      : `is not valid YAML: ${first.message.split("\n")[0]}`;
    const issues = doc.errors.map((e) => ({ path: "", message: e.message.split("\n")[0]!, line: line(e.pos[0]) }));
    throw fileError(fileName, line(first.pos[0]), "", `${reason}; correct it there and try again`, issues);
  }
  const contents = doc.contents;
  let top: YAMLMap | null = null;
  if (isMap(contents)) top = contents;
  else if (contents !== null && !(isScalar(contents) && contents.value === null)) {
    throw fileError(
      fileName,
      contents.range ? line(contents.range[0]) : 1,
      "",
      `must be a mapping with a 'deployments' list, not ${isSeq(contents) ? "a list" : "a single value"}; ` +
        "put the deployments under a top-level 'deployments:' key",
    );
  }
  const node = top?.get("deployments", true);
  let deployments: YAMLSeq | null = null;
  if (isSeq(node)) deployments = node;
  else if (node !== undefined && !(isScalar(node) && node.value === null)) {
    throw fileError(
      fileName,
      node.range ? line(node.range[0]) : 1,
      "deployments",
      `must be a list, not ${isMap(node) ? "a mapping" : "a single value"}; write each deployment as an item starting with '- name: …'`,
    );
  }
  return { text, doc, lineCounter, top, deployments, eol: text.includes("\r\n") ? "\r\n" : "\n" };
}

function fileError(
  fileName: string,
  line: number,
  path: string,
  message: string,
  issues = [{ path, message, line }],
): FerryError {
  return new FerryError("validation_failed", `${fileName}:${line}: ${path ? `${path} ` : ""}${message}`, { details: { issues } });
}

/** Validates the entry with core's rules for a deployment in a project file; returns it normalised. */
function checkEntry(entry: DeploymentEntry, fileName: string): DeploymentEntry {
  const draft: Record<string, unknown> = {
    name: entry.name,
    flow_name: entry.flow_name,
    entrypoint: entry.entrypoint,
    work_pool: { name: entry.work_pool },
  };
  if (entry.parameters !== undefined) draft.parameters = entry.parameters;
  if (entry.description !== undefined) draft.description = entry.description;
  try {
    parseProject({ deployments: [draft] }, { fileName });
  } catch (error) {
    if (!isFerryError(error, "validation_failed")) throw error;
    const issues = (error.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
    const problems = issues.map((i) => `${i.path.replace(/^deployments\[0\]\.?/, "") || "deployment"} ${i.message}`);
    throw new FerryError(
      "validation_failed",
      `cannot write deployment '${entry.flow_name}/${entry.name}' to ${fileName}: ${problems.join("; ") || error.message}`,
      { details: { issues }, cause: error },
    );
  }
  return { ...entry, entrypoint: formatEntrypoint(parseEntrypoint(entry.entrypoint)) };
}

function planChanges(project: Project, entry: DeploymentEntry): Plan {
  const items = project.deployments?.items ?? [];
  const index = items.findIndex((item) => isMap(item) && item.get("name") === entry.name && flowNameOf(item) === entry.flow_name);
  const style = poolStyle(items);
  if (index < 0) return { action: "created", index: items.length, changes: [{ kind: "append", value: newItem(entry, style), style }] };

  const item = items[index] as YAMLMap;
  const at: Path = ["deployments", index];
  const changes: Change[] = [];

  // Without a flow_name, the flow is named after the entrypoint's function: keep it the one asked for.
  if (item.get("flow_name", true) === undefined && defaultFlowName(entry.entrypoint) !== entry.flow_name) {
    changes.push({ kind: "insert", path: at, key: "flow_name", value: entry.flow_name, after: "name" });
  }

  const entrypoint = item.get("entrypoint", true);
  if (isScalar(entrypoint) && typeof entrypoint.value === "string") {
    if (!sameEntrypoint(entrypoint.value, entry.entrypoint)) changes.push({ kind: "scalar", path: [...at, "entrypoint"], value: entry.entrypoint });
  } else if (entrypoint === undefined) {
    changes.push({ kind: "insert", path: at, key: "entrypoint", value: entry.entrypoint, after: item.has("flow_name") ? "flow_name" : "name" });
  } else {
    changes.push({ kind: "replace", path: at, key: "entrypoint", value: entry.entrypoint });
  }

  const pool = item.get("work_pool", true);
  if (isScalar(pool) && typeof pool.value === "string") {
    if (pool.value !== entry.work_pool) changes.push({ kind: "scalar", path: [...at, "work_pool"], value: entry.work_pool });
  } else if (isMap(pool)) {
    const name = pool.get("name", true);
    if (isScalar(name) && typeof name.value === "string") {
      if (name.value !== entry.work_pool) changes.push({ kind: "scalar", path: [...at, "work_pool", "name"], value: entry.work_pool });
    } else if (name === undefined) {
      changes.push({ kind: "insert", path: [...at, "work_pool"], key: "name", value: entry.work_pool, after: null });
    } else {
      changes.push({ kind: "replace", path: [...at, "work_pool"], key: "name", value: entry.work_pool });
    }
  } else if (pool === undefined) {
    changes.push({ kind: "insert", path: at, key: "work_pool", value: poolValue(entry.work_pool, style), style, after: "entrypoint" });
  } else {
    changes.push({ kind: "replace", path: at, key: "work_pool", value: poolValue(entry.work_pool, style), style });
  }
  return { action: "updated", index, changes };
}

function newItem(entry: DeploymentEntry, style: PoolStyle): Record<string, unknown> {
  const item: Record<string, unknown> = {
    name: entry.name,
    flow_name: entry.flow_name,
    entrypoint: entry.entrypoint,
    work_pool: poolValue(entry.work_pool, style),
  };
  if (entry.parameters && Object.keys(entry.parameters).length > 0) item.parameters = entry.parameters;
  if (entry.description) item.description = entry.description;
  return item;
}

function poolValue(name: string, style: PoolStyle): unknown {
  return style === "string" ? name : { name };
}

/** How the file writes its pools, from its first deployment that has one; `{ name: … }` by default, as the docs do. */
function poolStyle(items: readonly unknown[]): PoolStyle {
  for (const item of items) {
    const pool = isMap(item) ? item.get("work_pool", true) : undefined;
    if (isScalar(pool) && typeof pool.value === "string") return "string";
    if (isMap(pool)) return pool.flow ? "flow" : "block";
  }
  return "flow";
}

function flowNameOf(item: YAMLMap): string | undefined {
  const flowName = stringAt(item, "flow_name");
  if (flowName !== undefined) return flowName;
  const entrypoint = stringAt(item, "entrypoint");
  return entrypoint === undefined ? undefined : defaultFlowName(entrypoint);
}

function poolNameOf(item: YAMLMap): string | undefined {
  const pool = item.get("work_pool", true);
  if (isScalar(pool)) return typeof pool.value === "string" ? pool.value : undefined;
  return isMap(pool) ? stringAt(pool, "name") : undefined;
}

function stringAt(map: YAMLMap, key: string): string | undefined {
  const value = map.get(key);
  return typeof value === "string" ? value : undefined;
}

function sameEntrypoint(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return formatEntrypoint(parseEntrypoint(a)) === formatEntrypoint(parseEntrypoint(b));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// The Document: what the file must mean afterwards

function applyToDocument(doc: Document, change: Change): void {
  switch (change.kind) {
    case "scalar": {
      const node = doc.getIn(change.path, true);
      if (isScalar(node)) {
        node.value = change.value;
        // A block scalar would keep its `|` header around a one-line value; a plain one reads the same.
        if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) node.type = Scalar.PLAIN;
      }
      return;
    }
    case "insert": {
      const map = doc.getIn(change.path, true) as YAMLMap;
      const pair = doc.createPair(change.key, valueNode(doc, change.value, change.style));
      const after = change.after === null ? -1 : map.items.findIndex((p) => keyOf(p) === change.after);
      if (after < 0) map.items.push(pair);
      else map.items.splice(after + 1, 0, pair);
      return;
    }
    case "replace": {
      const map = doc.getIn(change.path, true) as YAMLMap;
      map.set(change.key, valueNode(doc, change.value, change.style));
      return;
    }
    case "append": {
      const node = valueNode(doc, change.value, change.style);
      const top = doc.contents;
      if (!isMap(top)) {
        doc.contents = doc.createNode({ deployments: [node] });
        return;
      }
      const list = top.get("deployments", true);
      if (isSeq(list)) {
        // `deployments: []` becomes a block list, as a person would write it.
        if (list.items.length === 0) list.flow = false;
        list.items.push(node);
      } else top.set("deployments", doc.createNode([node]));
      return;
    }
  }
}

/** A node for a value; a pool mapping (alone or in a deployment) in the file's style. */
function valueNode(doc: Document, value: unknown, style: PoolStyle | undefined) {
  const node = doc.createNode(value);
  const pool = isMap(node) && node.has("work_pool") ? node.get("work_pool", true) : node;
  if (isMap(pool) && style !== undefined) pool.flow = style === "flow";
  return node;
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

// ---------------------------------------------------------------------------------------------------
// The text: small splices, checked against the Document

interface Splice {
  start: number;
  end: number;
  text: string;
}

function writeText(project: Project, edited: Document, changes: Change[]): string {
  const expected: unknown = edited.toJS();
  const splices: Splice[] = [];
  for (const change of changes) {
    const more = splicesFor(project, change);
    if (!more) return wholeDocument(project, edited);
    splices.push(...more);
  }
  let out = project.text;
  for (const s of splices.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  const check = parseDocument(out, { uniqueKeys: true });
  if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected)) return out;
  return wholeDocument(project, edited);
}

function wholeDocument(project: Project, edited: Document): string {
  return edited.toString({ lineWidth: 0 }).replace(/\r?\n/g, project.eol);
}

function splicesFor(project: Project, change: Change): Splice[] | null {
  const { doc, text, eol } = project;
  switch (change.kind) {
    case "scalar": {
      const node = doc.getIn(change.path, true);
      if (!isScalar(node) || !node.range) return null;
      const rendered = renderScalar(change.value, node.type);
      return rendered === null ? null : [{ start: node.range[0], end: node.range[1], text: rendered }];
    }
    case "insert": {
      const map = doc.getIn(change.path, true);
      if (!isMap(map) || map.flow || map.items.length === 0) return null;
      const firstKey = map.items[0]!.key;
      const afterPair = (change.after === null ? undefined : map.items.find((p) => keyOf(p) === change.after)) ?? map.items[map.items.length - 1]!;
      const end = pairEnd(afterPair);
      if (!isScalar(firstKey) || !firstKey.range || end === null) return null;
      const indent = " ".repeat(column(project, firstKey.range[0]));
      const at = lineEnd(text, end);
      return [{ start: at, end: at, text: `${eol}${indent}${change.key}: ${renderInline(change.value, change.style)}` }];
    }
    case "replace":
      return null;
    case "append": {
      const list = project.deployments;
      const top = project.top;
      if (top?.flow) return null;
      const firstKey = top?.items[0]?.key;
      const keyColumn = isScalar(firstKey) && firstKey.range ? column(project, firstKey.range[0]) : 0;
      if (list && list.items.length > 0) {
        const last = list.items[list.items.length - 1];
        if (list.flow || !list.range || !isMap(last) || !last.range) return null;
        const at = lineEnd(text, contentEnd(text, last.range[1]));
        return [{ start: at, end: at, text: eol + renderItem(change.value, column(project, list.range[0]), change.style, eol) }];
      }
      const pair = top?.items.find((p) => keyOf(p) === "deployments");
      if (pair) {
        // `deployments:` with nothing after it, or `deployments: []`: the list goes right under the key.
        const value = pair.value;
        if (!isScalar(pair.key) || !pair.key.range) return null;
        const at = lineEnd(text, pair.key.range[1]);
        const item = { start: at, end: at, text: eol + renderItem(change.value, keyColumn + 2, change.style, eol) };
        if (isScalar(value) && value.source === "") return [item];
        if (isSeq(value) && value.range && text.slice(value.range[0], value.range[1]).replace(/\s/g, "") === "[]") {
          return [{ start: contentEnd(text, value.range[0]), end: value.range[1], text: "" }, item];
        }
        return null;
      }
      const separator = text.endsWith("\n") ? "" : eol;
      const block = `${" ".repeat(keyColumn)}deployments:${eol}${renderItem(change.value, keyColumn + 2, change.style, eol)}${eol}`;
      return [{ start: text.length, end: text.length, text: separator + block }];
    }
  }
}

/** A string scalar written in the style of the one it replaces; null for block scalars (left to the Document). */
function renderScalar(value: string, type: Scalar.Type | undefined): string | null {
  if (type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (type === Scalar.PLAIN || type === undefined) return plainSafe(value) ? value : JSON.stringify(value);
  return null;
}

/** Plain in any context (block or flow) and read back as the same string, not a number, boolean or null. */
function plainSafe(value: string): boolean {
  if (!/^[A-Za-z0-9_./-][\w./@+-]*(?::[\w./@+-]+)*$/.test(value)) return false;
  const read = parseDocument(value).contents;
  return isScalar(read) && read.value === value;
}

function renderInline(value: unknown, style: PoolStyle | undefined): string {
  if (typeof value === "string") return renderScalar(value, Scalar.PLAIN)!;
  const doc = new Document();
  doc.contents = valueNode(doc, value, style ?? "flow");
  return doc.toString({ lineWidth: 0 }).trimEnd();
}

/** A deployment as a block sequence item, its `-` at `dashColumn`. */
function renderItem(value: Record<string, unknown>, dashColumn: number, style: PoolStyle, eol: string): string {
  const doc = new Document();
  doc.contents = doc.createNode([valueNode(doc, value, style)]);
  const pad = " ".repeat(dashColumn);
  return doc
    .toString({ lineWidth: 0 })
    .trimEnd()
    .split("\n")
    .map((l) => (l === "" ? l : pad + l))
    .join(eol);
}

/** Where the pair's value (or key) ends in the text; null when the parser gave no positions. */
function pairEnd(pair: Pair): number | null {
  const key = pair.key as { range?: [number, number, number] | null } | null;
  const value = pair.value as { range?: [number, number, number] | null } | null;
  const end = Math.max(key?.range?.[1] ?? -1, value?.range?.[1] ?? -1);
  return end < 0 ? null : end;
}

/** Back from `end` over trailing blank lines and spaces, to just after the last character of the node. */
function contentEnd(text: string, end: number): number {
  let e = end;
  while (e > 0 && /\s/.test(text[e - 1]!)) e--;
  return e;
}

/** The end of the line holding `offset` (before its `\r\n` or `\n`), past any comment on it. */
function lineEnd(text: string, offset: number): number {
  const start = contentEnd(text, offset);
  const nl = text.indexOf("\n", start);
  if (nl < 0) return text.length;
  return text[nl - 1] === "\r" ? nl - 1 : nl;
}

function column(project: Project, offset: number): number {
  return project.lineCounter.linePos(offset).col - 1;
}
