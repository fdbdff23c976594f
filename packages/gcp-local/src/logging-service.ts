import { randomUUID } from "node:crypto";
import type { ExecutionOutput } from "./execution-runner.js";
import { invalidArgument } from "./grpc-error.js";
import type { ServiceMethods } from "./grpc-services.js";
import { matchesLogFilter, parseLogFilter } from "./log-filter.js";
import { timestamp } from "./time.js";

/** A log entry as Cloud Logging keeps a Cloud Run job's container output. */
export interface StoredLogEntry {
  logName: string;
  resource: { type: "cloud_run_job"; labels: { project_id: string; job_name: string; location: string } };
  labels: Record<string, string>;
  severity: "DEFAULT" | "ERROR";
  textPayload: string;
  insertId: string;
  /** ISO 8601, as the filter compares it. */
  timestamp: string;
  timestampMs: number;
}

/** The project's log entries: container output of executions, in the order printed. */
export class LogStore implements ExecutionOutput {
  readonly entries: StoredLogEntry[] = [];

  append({ project, location, job, execution, taskIndex, attempt, line }: Parameters<ExecutionOutput["append"]>[0]): void {
    this.entries.push({
      logName: `projects/${project}/logs/run.googleapis.com%2F${line.stream}`,
      resource: { type: "cloud_run_job", labels: { project_id: project, job_name: job, location } },
      labels: { "run.googleapis.com/execution_name": execution, "run.googleapis.com/task_index": String(taskIndex), "run.googleapis.com/task_attempt": String(attempt) },
      severity: line.stream === "stderr" ? "ERROR" : "DEFAULT",
      textPayload: line.message,
      insertId: randomUUID().replace(/-/g, "").slice(0, 16),
      timestamp: new Date(line.timestamp).toISOString(),
      timestampMs: line.timestamp,
    });
  }
}

/** google.logging.v2.LoggingServiceV2's ListLogEntries over the store (what a crashed run's last lines are read with). */
export function loggingService(store: LogStore, authorize: (project: string, principal: string) => void): ServiceMethods {
  return {
    ListLogEntries: async (request, context) => {
      const resourceNames = (request.resourceNames as string[] | undefined) ?? [];
      if (resourceNames.length === 0) throw invalidArgument("resource_names: name at least one resource, e.g. projects/PROJECT.");
      const projects = resourceNames.map((name) => /^projects\/([^/]+)$/.exec(name)?.[1]);
      for (const project of projects) {
        if (project === undefined) throw invalidArgument(`resource_names: gcp-local reads projects/PROJECT only, not ${resourceNames.join(", ")}.`);
        authorize(project, context.principal);
      }
      const comparisons = parseLogFilter(request.filter as string | undefined);
      const descending = /\bdesc\b/i.test((request.orderBy as string | undefined) ?? "");
      const found = store.entries
        .filter((entry) => projects.includes(entry.resource.labels.project_id))
        .filter((entry) => matchesLogFilter(entry as unknown as Record<string, unknown>, comparisons))
        // Within one millisecond, the order lines arrived in (stored order) breaks the tie, both ways.
        .map((entry, seq) => ({ entry, seq }))
        .sort((a, b) => a.entry.timestampMs - b.entry.timestampMs || a.seq - b.seq)
        .map(({ entry }) => entry);
      if (descending) found.reverse();
      const offset = Number(request.pageToken || 0);
      const pageSize = Math.min(Number(request.pageSize || 1000), 1000);
      const page = found.slice(offset, offset + pageSize);
      return {
        entries: page.map(({ timestampMs, timestamp: _iso, ...entry }) => ({ ...entry, timestamp: timestamp(timestampMs), receiveTimestamp: timestamp(timestampMs) })),
        nextPageToken: offset + pageSize < found.length ? String(offset + pageSize) : "",
      };
    },
  };
}
