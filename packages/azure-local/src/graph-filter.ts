/**
 * The OData `$filter` clauses Graph callers use to find an app registration or service principal:
 * `displayName eq '…'`, `appId eq '…'`, `id eq '…'`, `startswith(displayName,'…')`,
 * `tags/any(t:t eq '…')`, joined by `and`. Anything else is refused, naming what is served.
 */
export type GraphObject = Record<string, unknown> & { tags?: string[] };

const unquote = (value: string): string => value.replace(/''/g, "'");

export function graphFilter(filter: string | null): (object: GraphObject) => boolean {
  if (filter === null || filter.trim() === "") return () => true;
  const clauses = filter.split(/\s+and\s+/i).map((clause): ((o: GraphObject) => boolean) => {
    const text = clause.trim();
    let m = /^(\w+)\s+eq\s+'((?:[^']|'')*)'$/i.exec(text);
    if (m !== null) {
      const [, property, value] = m;
      return (o) => String(o[property!] ?? "").toLowerCase() === unquote(value!).toLowerCase();
    }
    m = /^startswith\((\w+),\s*'((?:[^']|'')*)'\)$/i.exec(text);
    if (m !== null) {
      const [, property, value] = m;
      return (o) => String(o[property!] ?? "").toLowerCase().startsWith(unquote(value!).toLowerCase());
    }
    m = /^tags\/any\((\w+):\s*\1\s+eq\s+'((?:[^']|'')*)'\)$/i.exec(text);
    if (m !== null) {
      const value = unquote(m[2]!);
      return (o) => (o.tags ?? []).includes(value);
    }
    throw new Error(`Unsupported query: '${text}'. azure-local serves "property eq 'value'", "startswith(property,'value')" and "tags/any(t:t eq 'value')", joined by "and".`);
  });
  return (object) => clauses.every((clause) => clause(object));
}
