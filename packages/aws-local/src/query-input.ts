import type { AwsError } from "./aws-error.js";

/** A form-encoded query-protocol request body made into a tree: `Filter.1.Value.2=x` → `{ Filter: [{ Value: [, "x"] }] }`. */
export type QueryTree = { [key: string]: QueryNode };
export type QueryNode = string | QueryTree | QueryNode[];

export function parseQueryBody(body: string): QueryTree {
  const root: QueryTree = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (key === "Action" || key === "Version") continue;
    insert(root, key.split("."), value);
  }
  return compact(root) as QueryTree;
}

function insert(container: QueryTree | QueryNode[], path: string[], value: string): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const index = /^\d+$/.test(head) ? Number(head) - 1 : null;
  const nextIsIndex = rest[0] !== undefined && /^\d+$/.test(rest[0]);
  const read = (): QueryNode | undefined => (index !== null && Array.isArray(container) ? container[index] : (container as QueryTree)[head]);
  const write = (v: QueryNode): void => {
    if (index !== null && Array.isArray(container)) container[index] = v;
    else (container as QueryTree)[head] = v;
  };
  if (rest.length === 0) return write(value);
  let child = read();
  if (child === undefined || typeof child === "string") {
    child = nextIsIndex ? [] : {};
    write(child);
  }
  insert(child as QueryTree | QueryNode[], rest, value);
}

function compact(node: QueryNode): QueryNode {
  if (typeof node === "string") return node;
  if (Array.isArray(node)) return node.filter((v) => v !== undefined).map(compact);
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, compact(v)]));
}

/**
 * Typed reads of a query request. `list` accepts both encodings of a list: EC2's flattened
 * `Name.1` and the query protocol's `Name.member.1`.
 */
export class QueryInput {
  constructor(
    readonly tree: QueryTree,
    private readonly missing: (name: string) => AwsError,
  ) {}

  static of(node: QueryNode | undefined, missing: (name: string) => AwsError): QueryInput {
    return new QueryInput(node !== undefined && typeof node === "object" && !Array.isArray(node) ? node : {}, missing);
  }

  string(name: string): string | undefined {
    const value = this.tree[name];
    return typeof value === "string" ? value : undefined;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") throw this.missing(name);
    return value;
  }

  integer(name: string): number | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : Number(value);
  }

  boolean(name: string): boolean | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : value === "true";
  }

  child(name: string): QueryInput {
    return QueryInput.of(this.tree[name], this.missing);
  }

  list(name: string): QueryNode[] {
    const value = this.tree[name];
    if (Array.isArray(value)) return value;
    if (value !== undefined && typeof value === "object") {
      const members = value.member ?? value.item;
      if (Array.isArray(members)) return members;
    }
    return [];
  }

  strings(name: string): string[] {
    return this.list(name).filter((v): v is string => typeof v === "string");
  }

  objects(name: string): QueryInput[] {
    return this.list(name).map((v) => QueryInput.of(v, this.missing));
  }
}
