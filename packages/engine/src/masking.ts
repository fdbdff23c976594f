export const MASK = "***";

/** Secrets shorter than this are not masked: replacing every "ab" in the output would hide more than it protects. */
const MIN_SECRET_LENGTH = 4;

/**
 * Replaces secrets in every line the engine forwards or prints. Each secret is also masked in the
 * forms a tool may echo it in: URL-encoded (in a clone URL), and inside HTTP basic credentials.
 */
export class SecretMasker {
  private readonly secrets = new Set<string>();
  private ordered: string[] = [];

  constructor(secrets: Iterable<string | null | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | null | undefined, options: { username?: string | null } = {}): void {
    if (!secret || secret.length < MIN_SECRET_LENGTH) return;
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString("base64").replace(/=+$/, "")];
    if (options.username) forms.push(Buffer.from(`${options.username}:${secret}`).toString("base64").replace(/=+$/, ""));
    for (const form of forms) if (form.length >= MIN_SECRET_LENGTH) this.secrets.add(form);
    // Longest first, so a secret containing another is replaced whole.
    this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join(MASK);
    return out;
  }
}

/** A URL as it may be shown: a password written into it (`https://user:pass@host`) is masked. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/i, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
}
