import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { parseEngineHandoff } from "@ferry/core";
import { EngineError } from "./errors.js";

/**
 * A warm engine (`FERRY_ENGINE_WARM=1`) is started before its run exists, with the interpreter up and
 * the bundle loaded, and waits here for the one hand-off line its runner backend writes to its stdin:
 * the run's whole environment (run id, bootstrap token, the user's env), which then stands in for the
 * process's own. Null when stdin ends first: the server that made it is gone, and there is no run.
 */
export async function readHandoff(input: Readable): Promise<Record<string, string> | null> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      try {
        return parseEngineHandoff(line);
      } catch (error) {
        throw new EngineError("invalid_config", `the engine cannot start: ${(error as Error).message}`);
      }
    }
    return null;
  } finally {
    lines.close();
    input.destroy();
  }
}
