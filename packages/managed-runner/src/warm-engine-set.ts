import { randomBytes } from "node:crypto";
import {
  FerryError,
  warmEngineFits,
  type RunnerLaunchSpec,
  type RunnerStarted,
  type RunnerWarmEngine,
  type RunnerWarmEngines,
  type RunnerWarmSpec,
} from "@ferry/core";
import { validateLaunchSpec } from "./launch-spec.js";

/** What a backend knows of one of its warm engines; `ended` once it went away on its own. */
export interface WarmEngineHandle {
  id: string;
  spec: RunnerWarmSpec;
  ended: boolean;
}

/** Warm engines' ids (and the names of their containers and directories) start with this. */
export const WARM_ID_PREFIX = "warm-";

/**
 * The bookkeeping every backend's warm engines share: the engines this process made, by id; what
 * before the first prepare is left of an earlier server's; which engine a claim may take, and the
 * errors the `RunnerWarmEngines` contract gives when none may. A backend says only how an engine is
 * started, handed its run and ended.
 */
export abstract class WarmEngineSet<W extends WarmEngineHandle> implements RunnerWarmEngines {
  private readonly engines = new Map<string, W>();
  /** Shared by prepares that overlap, so leftovers are removed once, before any new engine starts. */
  private sweep: Promise<void> | null = null;

  /** Starts the engine `id` for runs like `spec`, and resolves once it waits. */
  protected abstract start(id: string, spec: RunnerWarmSpec): Promise<W>;
  /**
   * Hands `warm` its run (which fits it). Calls `forget` once the engine is the run's; when the run
   * had an instance already, returns that and the engine stays.
   */
  protected abstract handOver(warm: W, spec: RunnerLaunchSpec): Promise<RunnerStarted>;
  /** Ends an engine and removes what it left (it is already forgotten). */
  protected abstract end(warm: W): Promise<void>;
  /** Removes what warm engines of a server gone away left (containers, directories). */
  protected abstract removeLeftovers(): Promise<void>;

  async prepare(spec: RunnerWarmSpec): Promise<RunnerWarmEngine> {
    const id = `${WARM_ID_PREFIX}${randomBytes(8).toString("hex")}`;
    validateLaunchSpec({ ...spec, flowRunId: id, env: {} });
    this.sweep ??= this.removeLeftovers().catch((error: unknown) => {
      this.sweep = null; // tried again at the next prepare
      throw error;
    });
    await this.sweep;
    const warm = await this.start(id, { ...spec });
    // One that ended while it started is the caller's to see gone (list, claim), not to keep.
    if (!warm.ended) this.engines.set(id, warm);
    return { id, spec: { ...spec } };
  }

  async claim(warmId: string, spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    validateLaunchSpec(spec);
    const warm = this.engines.get(warmId);
    if (!warm || warm.ended) {
      this.engines.delete(warmId);
      throw warmEngineNotFound(warmId);
    }
    if (!warmEngineFits(warm.spec, spec)) {
      throw new FerryError("conflict", `warm engine ${warmId} was made for another workspace, image, cache or limits than run ${spec.flowRunId}; start the run instead`);
    }
    return this.handOver(warm, spec);
  }

  async discard(warmId: string): Promise<void> {
    const warm = this.engines.get(warmId);
    if (!warm) return;
    this.engines.delete(warmId);
    await this.end(warm);
  }

  async list(): Promise<RunnerWarmEngine[]> {
    return [...this.engines.values()].filter((w) => !w.ended).map((w) => ({ id: w.id, spec: { ...w.spec } }));
  }

  /** The engine is no longer this set's: handed its run, or gone. */
  protected forget(warmId: string): void {
    this.engines.delete(warmId);
  }
}

export function warmEngineNotFound(id: string): FerryError {
  return new FerryError("not_found", `warm engine '${id}' was not found: it ended, was discarded or was claimed; start the run instead`);
}
