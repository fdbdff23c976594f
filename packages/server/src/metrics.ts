import { isTerminal, type StateType, type Store } from "@ferry/core";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of one server process, in their own registry (no global state across servers in one test). */
export class Metrics {
  readonly registry = new Registry();
  readonly transitions = new Counter({
    name: "ferry_flow_run_transitions_total",
    help: "Flow-run state changes, by the state entered",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly runsCreated = new Counter({
    name: "ferry_flow_runs_created_total",
    help: "Flow runs created",
    labelNames: ["pool_type"] as const,
    registers: [this.registry],
  });
  readonly dispatchLatency = new Histogram({
    name: "ferry_dispatch_latency_seconds",
    help: "Time from a run's creation to its provider accepting it",
    labelNames: ["pool_type"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly providerErrors = new Counter({
    name: "ferry_provider_errors_total",
    help: "Errors returned by compute providers, by pool type, operation and error code",
    labelNames: ["pool_type", "operation", "code"] as const,
    registers: [this.registry],
  });
  readonly sweepPickups = new Counter({
    name: "ferry_dispatch_sweep_pickups_total",
    help: "Runs a dispatcher's periodic sweep found that nothing in this process was driving (a wake-up was lost, or another process created them)",
    labelNames: ["dispatcher"] as const,
    registers: [this.registry],
  });
  readonly sweepFailures = new Counter({
    name: "ferry_dispatch_sweep_failures_total",
    help: "Sweeps of a dispatcher's pending work that failed (each is retried at the next interval)",
    labelNames: ["dispatcher"] as const,
    registers: [this.registry],
  });
  readonly bootstrapRefusals = new Counter({
    name: "ferry_run_bootstrap_refusals_total",
    help: "Refused exchanges of a run's bootstrap token, by reason; 'used' means a second exchange: a restarted engine, or someone who read the run's environment",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "ferry_http_request_duration_seconds",
    help: "HTTP request durations by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly runsByState = new Gauge({
    name: "ferry_flow_runs",
    help: "Flow runs by current state type, across workspaces (the final states' counts may be up to a minute old)",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "ferry_process_" });
  }
}

/**
 * The `ferry_flow_runs` gauge's figures, without counting every run at every scrape: the unfinished
 * states (few runs, the ones that move) are read at each scrape through their index; the final states
 * (nearly every run of a long-lived store) only grow as runs end, and are counted over all runs at
 * most once per `finalEveryMs`. A scrape therefore sees final counts up to that old.
 */
export class RunStateCounts {
  private finals: { at: number; counts: Partial<Record<StateType, number>> } | null = null;

  constructor(
    private readonly store: Pick<Store, "countFlowRunsByState">,
    private readonly finalEveryMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<Partial<Record<StateType, number>>> {
    if (this.finals === null || this.now() - this.finals.at >= this.finalEveryMs) {
      const all = await this.store.countFlowRunsByState();
      this.finals = { at: this.now(), counts: Object.fromEntries(Object.entries(all).filter(([state]) => isTerminal(state as StateType))) };
      return all;
    }
    return { ...this.finals.counts, ...(await this.store.countFlowRunsByState({ unfinishedOnly: true })) };
  }
}
