import type { Message } from "./run-state.js";

/**
 * Secret Manager values a job's env may reference (`valueSource.secretKeyRef`). gcp-local serves no
 * Secret Manager API: a test gives the values with `secrets` or `setSecret`, by name; every version of a
 * secret has the same value.
 */
export class SecretValues {
  private readonly values = new Map<string, string>();

  constructor(
    private readonly projectId: string,
    private readonly projectNumber: string,
    initial: Record<string, string> = {},
  ) {
    for (const [name, value] of Object.entries(initial)) this.set(name, value);
  }

  /** `NAME` or `projects/PROJECT/secrets/NAME` (a secret of this project). */
  set(name: string, value: string): void {
    this.values.set(this.shortName(name) ?? name, value);
  }

  private shortName(secret: string): string | null {
    const match = /^projects\/([^/]+)\/secrets\/([^/]+)$/.exec(secret);
    if (match === null) return /^[\w-]+$/.test(secret) ? secret : null;
    return match[1] === this.projectId || match[1] === this.projectNumber ? match[2]! : null;
  }

  value(ref: Message): string | undefined {
    const name = this.shortName((ref.secret as string | undefined) ?? "");
    return name === null ? undefined : this.values.get(name);
  }

  /** Cloud Run's refusal of a container whose env names a secret that is not there, or null when all are. */
  missing(container: Message, containerIndex = 0): string | null {
    const env = (container.env as Message[] | undefined) ?? [];
    for (const [index, variable] of env.entries()) {
      const ref = variable.valueSource?.secretKeyRef as Message | undefined;
      if (ref === undefined || this.value(ref) !== undefined) continue;
      const name = this.shortName((ref.secret as string | undefined) ?? "") ?? ref.secret;
      return `spec.template.spec.containers[${containerIndex}].env[${index}].value_from.secret_key_ref.name: Secret projects/${this.projectNumber}/secrets/${name as string}/versions/${(ref.version as string | undefined) || "latest"} was not found`;
    }
    return null;
  }
}
