import { AwsError } from "./aws-error.js";

/** Reads of a JSON 1.1 request body; a missing required member is the service's validation error. */
export class JsonInput {
  constructor(
    readonly body: Record<string, unknown>,
    private readonly invalid: (message: string) => AwsError = (message) => new AwsError("InvalidParameterException", message),
  ) {}

  string(name: string): string | undefined {
    const value = this.body[name];
    return typeof value === "string" ? value : undefined;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") throw this.invalid(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  number(name: string): number | undefined {
    const value = this.body[name];
    return typeof value === "number" ? value : undefined;
  }

  boolean(name: string): boolean | undefined {
    const value = this.body[name];
    return typeof value === "boolean" ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.body[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  }

  /** `[{ key|Key, value|Value }]` (ECS, ECR) or `{ k: v }` (Logs) as a record. */
  tags(name = "tags"): Record<string, string> {
    const value = this.body[name];
    if (Array.isArray(value)) {
      return Object.fromEntries(value.map((t: Record<string, string>) => [t.key ?? t.Key ?? "", t.value ?? t.Value ?? ""]));
    }
    if (value !== null && typeof value === "object") return { ...(value as Record<string, string>) };
    return {};
  }
}
