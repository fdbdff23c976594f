import type { ProviderLogger } from "../logger.js";
import { texts } from "../secrets.js";

/** A ProviderLogger that keeps every line as text (the object with its errors' messages and causes), for assertions. */
export function captureLogger(): { logger: ProviderLogger; lines(): string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (obj: object, msg: string) => void lines.push(`${level} ${msg} ${texts(obj).join(" ")}`);
  return { logger: { debug: keep("debug"), warn: keep("warn") }, lines: () => [...lines] };
}
