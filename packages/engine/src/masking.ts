import { storableText } from "@ferry/core";

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
    // JSON-escaped too: a flow that prints json.dumps(...) of a secret with a quote or backslash in it.
    const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString("base64").replace(/=+$/, "")];
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

  /**
   * Where a line that is still arriving can be cut, at most `max` characters in: no secret may
   * straddle the cut, neither one wholly in `text` nor one that `text` only begins. Masking the part
   * before it then gives what masking the whole line would.
   */
  cutPoint(text: string, max: number): number {
    const longest = this.ordered[0]?.length ?? 0;
    // A secret that starts in the last `longest - 1` characters may go on in what has not arrived yet.
    let cut = Math.max(0, Math.min(max, text.length - Math.max(0, longest - 1)));
    for (let moved = true; moved && cut > 0; ) {
      moved = false;
      for (const secret of this.ordered) {
        const at = text.indexOf(secret, Math.max(0, cut - secret.length + 1));
        if (at !== -1 && at < cut && at + secret.length > cut) {
          cut = at;
          moved = true;
        }
      }
    }
    return cut;
  }

  /**
   * A value to be stored or shown (a flow's return value): every string in it masked, object keys
   * too, and made storable (no NUL character, no lone surrogate). Should a secret still show in the
   * JSON (a number that is a secret, say), the value is replaced by its masked JSON text.
   */
  maskValue(value: unknown): unknown {
    const masked = this.maskStrings(value, 0);
    const json = JSON.stringify(masked);
    if (json === undefined || !this.ordered.some((secret) => json.includes(secret))) return masked;
    return this.mask(json);
  }

  private maskStrings(value: unknown, depth: number): unknown {
    if (typeof value === "string") return storableText(this.mask(value));
    // The value came from JSON that the flow's shim wrote, so it is a tree; the bound is for safety.
    if (value === null || typeof value !== "object" || depth > 1000) return value;
    if (Array.isArray(value)) return value.map((item) => this.maskStrings(item, depth + 1));
    // fromEntries defines each key, "__proto__" included, as JSON.parse did.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(this.mask(key)), this.maskStrings(item, depth + 1)]));
  }
}

/** A URL as it may be shown: a password written into it (`https://user:pass@host`) is masked. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/i, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
}
