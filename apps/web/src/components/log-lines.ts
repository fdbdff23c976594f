import { LOG_LEVELS, type LogLevel, type LogLine } from "@ferry/core/browser";

/** The lines at or above `level` that contain `search` (case-insensitive). */
export function filterLogLines(lines: LogLine[], level: LogLevel, search: string): LogLine[] {
  const min = LOG_LEVELS.indexOf(level);
  const needle = search.trim().toLowerCase();
  if (min <= 0 && !needle) return lines;
  return lines.filter((l) => LOG_LEVELS.indexOf(l.level) >= min && (!needle || l.message.toLowerCase().includes(needle)));
}

/** A message split around each occurrence of `search` (case-insensitive), for highlighting. */
export function splitMatches(message: string, search: string): { text: string; match: boolean }[] {
  const needle = search.trim().toLowerCase();
  if (!needle) return [{ text: message, match: false }];
  const out: { text: string; match: boolean }[] = [];
  const lower = message.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) {
    if (i > at) out.push({ text: message.slice(at, i), match: false });
    out.push({ text: message.slice(i, i + needle.length), match: true });
    at = i + needle.length;
  }
  if (at < message.length) out.push({ text: message.slice(at), match: false });
  return out;
}
