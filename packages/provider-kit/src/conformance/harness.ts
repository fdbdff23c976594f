import type { ComputeProvider, Provisioner } from "@ferry/core";

/** One check of a suite, runnable outside `describe` too: the kit's own tests run them against broken implementations. */
export interface ConformanceCheck<H> {
  name: string;
  run(setup: () => Promise<H>): Promise<void>;
}

/** What a provider's test gives the ComputeProvider suite: the provider, on its cloud's local stand-in (or fake). */
export interface ProviderConformanceHarness {
  provider: ComputeProvider;
  /** A new instance on the same cloud that shares nothing in memory with `provider`: a restarted server. */
  restart(): ComputeProvider;
  /** Job variables of the jobs the suite runs. */
  jobs: {
    /** Exits 0 soon. */
    quick: Record<string, unknown>;
    /** Runs until cancelled. */
    long: Record<string, unknown>;
    /** Exits soon with the non-zero `exitCode`. */
    failing: { variables: Record<string, unknown>; exitCode: number };
    /** The cloud cannot start it (e.g. its image is not there); `reason` matches the failed status's message. */
    unstartable: { variables: Record<string, unknown>; reason: RegExp };
    /** The cloud refuses it at submission (e.g. it names a cluster that does not exist). */
    refused: Record<string, unknown>;
  };
  /** The pool's credentials, holding `secret`; null for a type without credentials. */
  credentials: Record<string, string> | null;
  /** A recognisable secret inside `credentials`: it must never appear in an error or a log line. */
  secret: string;
  /** Credentials holding `secret` that the cloud refuses (a wrong key). Omit for a type without credentials. */
  badCredentials?: Record<string, string>;
  /** How many jobs the cloud has started so far, by any provider instance. */
  startedJobs(): Promise<number>;
  /** From now, the cloud answers the next `calls` calls with its throttling error (0: none; replaces what is pending). */
  throttle(calls: number): void | Promise<void>;
  /**
   * From now, the cloud refuses the next `calls` stop requests with an error that retrying does not fix
   * (e.g. access denied); 0: none (replaces what is pending). A provider whose cancel resolves anyway
   * lets the server record a run as cancelled while it goes on running.
   */
  refuseCancel(calls: number): void | Promise<void>;
  /** What the provider logged (its logger captured, see captureLogger). Omit when the provider has no logger. */
  logLines?(): string[];
  /** How long a quick job may take on this cloud; default 30 s. */
  timeoutMs?: number;
  cleanup?(): void | Promise<void>;
}

/** What a provider's test gives the Provisioner suite: a provisioner on a fresh, empty fake account. */
export interface ProvisionerConformanceHarness {
  provisioner: Provisioner;
  /** Every resource of the fake account, comparable with toEqual (ids, names, tags). */
  snapshot(): Promise<unknown>;
  /** Makes the step with this id fail the next time it runs (e.g. the cloud refuses its first write). */
  failAt(stepId: string): void | Promise<void>;
  /** Adds resources provisioning must leave alone: some without any pool's tag, some tagged for another pool. */
  seedForeign(): Promise<void>;
  /** Options given to every call; default none. */
  options?: Record<string, string>;
  cleanup?(): void | Promise<void>;
}
