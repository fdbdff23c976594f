import type { FerryError, InfrastructureLogLine } from "@ferry/core";

/**
 * When a run crashes, the server shows the last lines the job printed on the cloud's own log service
 * (`ComputeProvider.logs`). Every provider reads them the same way: a bounded number, oldest first so
 * the newest is last, and no error when the job wrote nothing yet (its log stream does not exist).
 */
export interface FinalLogLinesOptions {
  /** What the caller asked for; clamped to [1, maxLimit]. */
  limit: number;
  /** The most a provider reads in one call; default 10,000. */
  maxLimit?: number;
  /** The provider's classifier: a `provider_not_found` answer means "no logs yet". */
  classify: (error: unknown) => FerryError;
}

/** Reads the job's last lines through `read(limit)` (the cloud call); see FinalLogLinesOptions. */
export async function finalLogLines(read: (limit: number) => Promise<readonly InfrastructureLogLine[]>, options: FinalLogLinesOptions): Promise<InfrastructureLogLine[]> {
  const limit = Math.max(1, Math.min(Math.floor(options.limit) || 1, options.maxLimit ?? 10_000));
  let lines: readonly InfrastructureLogLine[];
  try {
    lines = await read(limit);
  } catch (error) {
    const classified = options.classify(error);
    if (classified.code === "provider_not_found") return [];
    throw classified;
  }
  return lines
    .map((line, index) => ({ line: { timestamp: line.timestamp, message: line.message.replace(/\r?\n$/, "") }, index }))
    .sort((a, b) => (a.line.timestamp < b.line.timestamp ? -1 : a.line.timestamp > b.line.timestamp ? 1 : a.index - b.index))
    .slice(-limit)
    .map(({ line }) => line);
}
