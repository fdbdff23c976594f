import {
  FerryError,
  isFerryError,
  parseProvisionOptions,
  toFerryError,
  type ProvisionedCredentials,
  type ProvisionInput,
  type ProvisionOptionsSchema,
  type ProvisionProgress,
  type ProvisionResult,
  type ProvisionStep,
  type Provisioner,
  type RemovalInput,
  type RemovalProgress,
  type RemovalStep,
} from "@ferry/core";

/**
 * The provisioning step engine. A provider defines its provisioner as: `observe` (reads only) → `plan`
 * (a pure function of the observed state: every step in order of creation, each `create` or `exists`)
 * → one runner per step. The engine checks the options against the schema before anything is touched,
 * reports progress, and on a failure stops with an error naming the failed step and what this run made
 * before it: nothing is rolled back, and a re-run resumes because observing again finds what exists.
 * Removal finds what carries the pool's tag or label, deletes it in the reverse order of creation, and
 * keeps (and says so) what has the expected name but not the tag.
 */
export interface ProvisionerDefinition<Session, State> {
  /** The pool type, e.g. `acme:push`. */
  type: string;
  optionsSchema: ProvisionOptionsSchema;
  /** Step ids in the order of creation: removal goes the other way. */
  creationOrder: readonly string[];
  /** How the pool's tag or label reads in messages, e.g. `ferry:pool=<pool>`. */
  poolTag: (poolName: string) => string;
  /**
   * Opens what the steps talk through (SDK clients with the user's own identity) for the checked
   * options. Import the cloud's SDK here, lazily, so loading the plugin to read its options is cheap.
   */
  open: (options: Record<string, string>, signal: AbortSignal | undefined) => Promise<Session>;
  close?: (session: Session) => void | Promise<void>;
  /** Reads what provisioning would touch: Get, Describe and List calls only. */
  observe: (session: Session, input: StepInput) => Promise<State>;
  /** Pure: the same state gives the same steps. */
  plan: (state: State, input: StepInput) => ProvisionStep[];
  /** Makes what a `create` step stands for; updates `state` with what it made (later steps read it). Returns a message for the progress line. */
  steps: Record<string, (ctx: StepContext<Session, State>) => Promise<string | void>>;
  /** What the pool gets once every step is done (the engine adds the credentials a step made). */
  result: (state: State, input: StepInput) => Omit<ProvisionResult, "credentials">;
  /** Everything removal would consider, owned (tagged for the pool) or not. Reads only. */
  findForRemoval: (session: Session, input: StepInput) => Promise<FoundResource[]>;
  /**
   * Removal's options taken from the pool's job-variable defaults (what `result` wrote there, e.g. the
   * region it provisioned in), under the ones the user gives: removal then looks where provisioning
   * made things, not wherever the user's cloud configuration points today.
   */
  optionsFromPool?: (poolDefaults: Record<string, unknown>) => Record<string, string>;
}

/** A provisioning or removal input with its options checked. */
export interface StepInput {
  poolName: string;
  options: Record<string, string>;
  /** Removal: always false. */
  hasCredentials: boolean;
  signal: AbortSignal | undefined;
}

export interface StepContext<Session, State> {
  session: Session;
  state: State;
  input: StepInput;
  step: ProvisionStep;
  /**
   * Hands over credentials the step made (a new key): stored at once through the input's
   * `saveCredentials`, before the next step can fail, so a re-run never makes a second one. When storing
   * fails, `discard` deletes them again (a key nobody holds is only a liability) and the step fails.
   */
  credentialsMade: (credentials: ProvisionedCredentials, handling: CredentialsHandling) => Promise<void>;
}

export interface CredentialsHandling {
  /** What was made, in messages: "the new access key". */
  description: string;
  /** Deletes them again in the cloud. */
  discard: () => Promise<void>;
  /** What the user must do when deleting fails too: "delete key K of user U by hand". */
  manualFix: string;
}

/** One resource removal found. */
export interface FoundResource {
  /** The creation step that makes it: decides the order of removal. */
  createdBy: string;
  id: string;
  resource: string;
  name: string;
  /** Whether it carries the pool's tag or label: only then is it deleted. */
  owned: boolean;
  detail?: string;
  remove: () => Promise<void>;
}

/** Makes a core `Provisioner` of a definition. */
export function defineProvisioner<Session, State>(definition: ProvisionerDefinition<Session, State>): Provisioner {
  const order = new Map(definition.creationOrder.map((id, i) => [id, i]));
  for (const id of definition.creationOrder) {
    if (typeof definition.steps[id] !== "function") throw new FerryError("internal", `provisioner ${definition.type}: step '${id}' has no runner`);
  }

  const fromPool = (input: ProvisionInput | RemovalInput): Record<string, string> => {
    if (!("poolDefaults" in input) || !input.poolDefaults || !definition.optionsFromPool) return {};
    parseProvisionOptions(definition, input.options); // the user's own typos are named as theirs
    return Object.fromEntries(Object.entries(definition.optionsFromPool(input.poolDefaults)).filter(([, v]) => typeof v === "string" && v !== ""));
  };

  const withSession = async <T>(options: Record<string, string>, signal: AbortSignal | undefined, fn: (session: Session) => Promise<T>): Promise<T> => {
    const session = await definition.open(options, signal);
    try {
      return await fn(session);
    } finally {
      await definition.close?.(session);
    }
  };

  const checked = (input: ProvisionInput | RemovalInput): StepInput => ({
    poolName: input.poolName,
    // Before anything is touched: a typo in a key, or a name the cloud would refuse, is a 400 here.
    options: parseProvisionOptions(definition, { ...fromPool(input), ...input.options }),
    hasCredentials: "hasCredentials" in input ? input.hasCredentials : false,
    signal: input.signal,
  });

  const found = async (session: Session, input: StepInput): Promise<{ step: RemovalStep; remove: () => Promise<void> }[]> => {
    const all = await definition.findForRemoval(session, input);
    const rank = (r: FoundResource) => {
      const at = order.get(r.createdBy);
      if (at === undefined) throw new FerryError("internal", `provisioner ${definition.type}: removal found a ${r.resource} made by an unknown step '${r.createdBy}'`);
      return at;
    };
    const tag = definition.poolTag(input.poolName);
    return all
      .map((r, i) => ({ r, i, rank: rank(r) }))
      .sort((a, b) => b.rank - a.rank || a.i - b.i)
      .map(({ r }) => ({
        step: {
          id: r.id,
          resource: r.resource,
          name: r.name,
          action: r.owned ? ("delete" as const) : ("keep" as const),
          ...(r.owned ? (r.detail ? { detail: r.detail } : {}) : { detail: r.detail ?? `not tagged ${tag}: left alone` }),
        },
        remove: r.remove,
      }));
  };

  return {
    type: definition.type,
    optionsSchema: definition.optionsSchema,

    async plan(raw) {
      const input = checked(raw);
      return withSession(input.options, input.signal, async (session) => definition.plan(await definition.observe(session, input), input));
    },

    async apply(raw, onProgress) {
      const input = checked(raw);
      return withSession(input.options, input.signal, async (session) => {
        const state = await definition.observe(session, input);
        const steps = definition.plan(state, input);
        const made: ProvisionStep[] = [];
        let credentials: ProvisionedCredentials | undefined;
        const credentialsMade = async (c: ProvisionedCredentials, handling: CredentialsHandling) => {
          if (raw.saveCredentials) {
            try {
              await raw.saveCredentials(c);
            } catch (error) {
              const why = (error as Error)?.message ?? String(error);
              try {
                await handling.discard();
              } catch (discardError) {
                throw new FerryError(
                  "provider_error",
                  `could not store ${handling.description} (${why}), and could not delete it either (${(discardError as Error)?.message ?? String(discardError)}): ${handling.manualFix}`,
                  { cause: error },
                );
              }
              throw new FerryError("provider_error", `could not store ${handling.description}, so it was deleted again: ${why}`, { cause: error });
            }
          }
          credentials = c;
        };
        for (const step of steps) {
          if (input.signal?.aborted) {
            throw stoppedAt(new FerryError("provider_error", "provisioning was interrupted", { cause: input.signal.reason, retryable: true }), step, made);
          }
          if (step.action === "exists") {
            onProgress(progress(step, "skipped", step.detail));
            continue;
          }
          onProgress(progress(step, "started"));
          let message: string | void;
          try {
            const run = definition.steps[step.id];
            if (!run) throw new FerryError("internal", `provisioner ${definition.type}: the plan has a step '${step.id}' without a runner`);
            message = await run({ session, state, input, step, credentialsMade });
          } catch (error) {
            const cause = isFerryError(error) ? error : toFerryError(error, "provider_error");
            onProgress(progress(step, "failed", cause.message));
            throw stoppedAt(cause, step, made);
          }
          made.push(step);
          onProgress(progress(step, "done", message || undefined));
        }
        return { ...definition.result(state, input), ...(credentials ? { credentials } : {}) };
      });
    },

    async planRemoval(raw) {
      const input = checked(raw);
      return withSession(input.options, input.signal, async (session) => (await found(session, input)).map((f) => f.step));
    },

    async remove(raw, onProgress) {
      const input = checked(raw);
      return withSession(input.options, input.signal, async (session) => {
        const items = await found(session, input);
        const removed: RemovalStep[] = [];
        for (const { step, remove } of items) {
          if (step.action === "keep") {
            onProgress(removalProgress(step, "skipped", step.detail));
            continue;
          }
          if (input.signal?.aborted) {
            throw removalStoppedAt(new FerryError("provider_error", "removal was interrupted", { cause: input.signal.reason, retryable: true }), step, removed);
          }
          onProgress(removalProgress(step, "started"));
          try {
            await remove();
          } catch (error) {
            const cause = isFerryError(error) ? error : toFerryError(error, "provider_error");
            onProgress(removalProgress(step, "failed", cause.message));
            throw removalStoppedAt(cause, step, removed);
          }
          removed.push(step);
          onProgress(removalProgress(step, "done"));
        }
        return removed;
      });
    },
  };
}

function progress(step: ProvisionStep, status: ProvisionProgress["status"], message?: string): ProvisionProgress {
  return { step, status, ...(message ? { message } : {}) };
}

function removalProgress(step: RemovalStep, status: RemovalProgress["status"], message?: string): RemovalProgress {
  return { step, status, ...(message ? { message } : {}) };
}

const listed = (steps: { resource: string; name: string }[]) => (steps.length ? steps.map((s) => `${s.resource} ${s.name}`).join(", ") : "nothing");

/** Says what failed, what this run made before it, and that a re-run resumes; keeps the cause's code. */
export function stoppedAt(cause: FerryError, step: ProvisionStep, made: ProvisionStep[]): FerryError {
  return new FerryError(
    cause.code,
    `provisioning stopped at the ${step.resource} ${step.name}: ${cause.message}. Made by this run before that: ${listed(made)}. ` +
      "Nothing is rolled back: run the same command again to resume, what exists is detected and skipped.",
    {
      cause,
      retryable: cause.retryable,
      details: { failed_step: step.id, made: made.map((s) => ({ id: s.id, resource: s.resource, name: s.name })) },
    },
  );
}

function removalStoppedAt(cause: FerryError, step: RemovalStep, removed: RemovalStep[]): FerryError {
  return new FerryError(cause.code, `removal stopped at the ${step.resource} ${step.name}: ${cause.message}. Removed before that: ${listed(removed)}. Run it again to go on.`, {
    cause,
    retryable: cause.retryable,
    details: { failed_step: step.id, removed: removed.map((s) => ({ id: s.id, resource: s.resource, name: s.name })) },
  });
}
