/**
 * Just enough of IAM's evaluation of an identity policy for a test to ask "is this request allowed?":
 * Allow statements, `Action`/`Resource` with `*` and `?` wildcards, and the `StringEquals` and
 * `StringLike` condition operators. Anything else (Deny, NotAction, NotResource, other operators) makes
 * `parsePolicy` throw, so a policy this cannot read is never judged "allowed".
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface AuthorizationRequest {
  /** `service:Operation`, e.g. `ecs:RunTask`. */
  action: string;
  resource: string;
  /** Condition keys known for the request, e.g. `iam:PassedToService`. */
  context?: Record<string, string>;
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value)]);

export function parsePolicy(document: string): PolicyStatement[] {
  const parsed = JSON.parse(document) as { Statement?: unknown };
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  return statements.map((raw) => {
    const s = raw as Record<string, unknown>;
    if (s.Effect !== "Allow") throw new Error(`this evaluator reads Allow statements only, got ${JSON.stringify(s.Effect)}`);
    if ("NotAction" in s || "NotResource" in s || "NotPrincipal" in s) throw new Error(`this evaluator does not read NotAction/NotResource (statement ${String(s.Sid)})`);
    const condition = s.Condition as PolicyStatement["Condition"] | undefined;
    for (const operator of Object.keys(condition ?? {})) {
      if (operator !== "StringEquals" && operator !== "StringLike") throw new Error(`this evaluator does not read the condition operator ${operator}`);
    }
    return { ...(typeof s.Sid === "string" ? { Sid: s.Sid } : {}), Effect: "Allow", Action: list(s.Action), Resource: list(s.Resource), ...(condition ? { Condition: condition } : {}) };
  });
}

function glob(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, caseInsensitive ? "i" : "");
}

function conditionHolds(condition: PolicyStatement["Condition"], context: Record<string, string>): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      if (actual === undefined) return false;
      const ok = list(expected).some((e) => (operator === "StringEquals" ? e === actual : glob(e, false).test(actual)));
      if (!ok) return false;
    }
  }
  return true;
}

/** The statement that allows the request, or null. */
export function allowingStatement(statements: PolicyStatement[], request: AuthorizationRequest): PolicyStatement | null {
  return (
    statements.find(
      (s) =>
        s.Action.some((a) => glob(a, true).test(request.action)) &&
        s.Resource.some((r) => glob(r, false).test(request.resource)) &&
        conditionHolds(s.Condition, request.context ?? {}),
    ) ?? null
  );
}

/** Every action a policy names, as written (wildcards kept). */
export function grantedActions(statements: PolicyStatement[]): string[] {
  return [...new Set(statements.flatMap((s) => s.Action))].sort();
}
