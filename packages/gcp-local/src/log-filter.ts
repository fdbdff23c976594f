import { invalidArgument } from "./grpc-error.js";

/** One comparison of Cloud Logging's query language: `resource.labels.job_name="j"`, `timestamp>="..."`. */
export interface Comparison {
  path: string[];
  op: "=" | "!=" | ">" | "<" | ">=" | "<=" | ":";
  value: string;
}

const SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"];
const SUPPORTED = "comparisons (=, !=, <, <=, >, >=, :) of fields such as resource.type, resource.labels.job_name, labels.\"run.googleapis.com/execution_name\", logName, severity and timestamp, joined by AND";

function tokenize(filter: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|>=|<=|!=|[=<>:()]|[^\s"=<>:!()]+)/y;
  let index = 0;
  while (index < filter.length) {
    if (/^\s*$/.test(filter.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(filter);
    if (match === null) throw invalidArgument(`Unparseable filter near '${filter.slice(index, index + 20)}': gcp-local understands ${SUPPORTED}.`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

function unquote(token: string): string {
  return token.startsWith('"') ? (JSON.parse(token) as string) : token;
}

/** A field path token: dotted segments, any of which may be quoted (`labels."run.googleapis.com/x"`). */
function parsePath(token: string): string[] {
  const segments: string[] = [];
  const pattern = /("(?:[^"\\]|\\.)*"|[^."]+)(?:\.|$)/y;
  let index = 0;
  while (index < token.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(token);
    if (match === null) throw invalidArgument(`Unparseable field '${token}' in filter: gcp-local understands ${SUPPORTED}.`);
    segments.push(unquote(match[1]!));
    index = pattern.lastIndex;
  }
  return segments;
}

/** Parses the subset of the logging query language Ferry uses; anything else is INVALID_ARGUMENT naming the subset. */
export function parseLogFilter(filter: string | undefined): Comparison[] {
  const tokens = tokenize(filter ?? "");
  const comparisons: Comparison[] = [];
  for (let i = 0; i < tokens.length; ) {
    const token = tokens[i]!;
    if (token === "AND") {
      i += 1;
      continue;
    }
    if (token === "OR" || token === "NOT" || token === "(" || token === ")" || token === "-") throw invalidArgument(`The filter uses '${token}': gcp-local understands ${SUPPORTED}.`);
    // A path token may have been split where a quoted segment follows a dot: glue `labels.` `"x"` back.
    let pathToken = token;
    while (pathToken.endsWith(".") && tokens[i + 1]?.startsWith('"')) {
      pathToken += tokens[i + 1]!;
      i += 1;
    }
    const op = tokens[i + 1];
    const value = tokens[i + 2];
    if (op === undefined || value === undefined || !["=", "!=", ">", "<", ">=", "<=", ":"].includes(op)) throw invalidArgument(`The filter term '${pathToken}' is not a comparison: gcp-local understands ${SUPPORTED}.`);
    comparisons.push({ path: parsePath(pathToken), op: op as Comparison["op"], value: unquote(value) });
    i += 3;
  }
  return comparisons;
}

function lookup(entry: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = entry;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function compare(left: string, right: string, path: string[]): number {
  if (path.length === 1 && path[0] === "timestamp") return Date.parse(left) - Date.parse(right);
  if (path.length === 1 && path[0] === "severity") return SEVERITIES.indexOf(left) - SEVERITIES.indexOf(right.toUpperCase());
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Whether an entry (with `timestamp` as an ISO string) satisfies every comparison. */
export function matchesLogFilter(entry: Record<string, unknown>, comparisons: Comparison[]): boolean {
  return comparisons.every(({ path, op, value }) => {
    const found = lookup(entry, path);
    if (found === undefined || found === null) return op === "!=";
    const text = String(found);
    if (op === ":") return text.includes(value);
    const order = compare(text, value, path);
    switch (op) {
      case "=":
        return order === 0;
      case "!=":
        return order !== 0;
      case ">":
        return order > 0;
      case "<":
        return order < 0;
      case ">=":
        return order >= 0;
      default:
        return order <= 0;
    }
  });
}
