/** A google.protobuf.Timestamp or Duration as proto-loader decodes it (seconds as a string). */
export interface Timestamp {
  seconds?: string | number;
  nanos?: number;
}

export function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function timestampMs(value: Timestamp | undefined): number | null {
  if (value === undefined || value === null) return null;
  return Number(value.seconds ?? 0) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}

/** A Duration in whole seconds; `fallback` when absent. */
export function durationSeconds(value: Timestamp | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  return Number(value.seconds ?? 0) + (value.nanos ?? 0) / 1e9;
}
