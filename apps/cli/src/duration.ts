import { InvalidArgumentError } from "commander";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * `90s`, `10m`, `1h30m`, `2d` (or a bare number of seconds) as seconds. Commander's argument parser:
 * a bad value is a usage error that shows the accepted forms.
 */
export function parseDuration(value: string): number {
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
    throw new InvalidArgumentError(`'${value}' is not a duration; use e.g. 90s, 10m, 1h30m or 2d`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_SECONDS[unit!]!, 0);
}

/** An ISO 8601 date-time (with a time zone, or read as local time) as an ISO string in UTC. */
export function parseDateTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(value.trim())) {
    throw new InvalidArgumentError(`'${value}' is not an ISO 8601 date-time; use e.g. 2026-01-01T09:00:00Z or 2026-01-01T09:00+02:00`);
  }
  const time = new Date(value.trim().replace(" ", "T"));
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError(`'${value}' is not a valid date-time`);
  return time.toISOString();
}
