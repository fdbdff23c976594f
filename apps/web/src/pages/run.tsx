import { useEffect, useState, type ReactNode } from "react";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import { isTerminal, type FlowRun } from "@ferry/core/browser";
import { isNotFound } from "../api/errors.js";
import { fetchWholeLog, useCancelRun, useRetryRun, useRun, useRunHistory, useRunStream, type StreamStatus } from "../api/runs.js";
import { logFileName, mergeHistory, withLatestState } from "../api/run-events.js";
import { Button } from "../components/button.js";
import { Details, Section } from "../components/details.js";
import { ConfirmDialog } from "../components/dialog.js";
import { LogViewer } from "../components/log-viewer.js";
import { PageHeader } from "../components/page-header.js";
import { formatDuration, formatSeconds } from "../components/run-format.js";
import { EndReason, JsonBlock, StateTimeline } from "../components/run-parts.js";
import { StateBadge } from "../components/state-badge.js";
import { ErrorState, FormError, Loading, NotFound } from "../components/states.js";
import { Time } from "../components/time.js";

/** Pools whose runs Ferry itself computes (and counts compute time for). */
const MANAGED_POOL_TYPE = "ferry:managed";

const STATUS_TEXT: Record<StreamStatus, string> = {
  connecting: "Connecting to the live log…",
  live: "Live",
  reconnecting: "Connection lost; reconnecting…",
  ended: "The run has ended",
  unsupported: "Live updates need a browser with EventSource",
};

export default function RunPage() {
  const { id } = useParams({ from: "/app/runs/$id" });
  // Keyed by id: a new run gets a new stream and an empty log.
  return <RunFollower key={id} id={id} />;
}

function RunFollower({ id }: { id: string }) {
  const run = useRun(id);
  const history = useRunHistory(id);
  const { events, status } = useRunStream(id);
  if (run.isPending) return <Loading label="Loading the run…" />;
  if (run.isError) {
    return isNotFound(run.error) ? (
      <NotFound what="This flow run" back={{ to: "/runs", label: "Back to flow runs" }} />
    ) : (
      <ErrorState error={run.error} retry={() => void run.refetch()} />
    );
  }
  const current = withLatestState(run.data, events.states);
  return (
    <RunView
      run={current}
      history={mergeHistory(history.data ?? [], events.states)}
      historyError={history.error}
      logs={events.logs}
      status={STATUS_TEXT[status]}
    />
  );
}

function CancelRun({ run }: { run: FlowRun }) {
  const [open, setOpen] = useState(false);
  const cancel = useCancelRun(run.id);
  if (isTerminal(run.state.type) || run.state.type === "CANCELLING") return null;
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Cancel run
      </Button>
      <ConfirmDialog
        open={open}
        onOpenChange={(next) => {
          setOpen(next);
          if (!next) cancel.reset();
        }}
        title="Cancel this run?"
        description={`${run.name} will be stopped; a run that already started goes through Cancelling while its infrastructure is stopped.`}
        confirmLabel="Cancel the run"
        cancelLabel="Keep running"
        pending={cancel.isPending}
        error={cancel.error}
        onConfirm={() => cancel.mutate(undefined, { onSuccess: () => setOpen(false) })}
      />
    </>
  );
}

/** A finished run can be run again, as a new run with its parameters and the commit it ran. */
function RetryRun({ run }: { run: FlowRun }) {
  const retry = useRetryRun(run.id);
  const navigate = useNavigate();
  if (!isTerminal(run.state.type)) return null;
  return (
    <span className="inline-flex flex-col items-end gap-1">
      <Button
        onClick={() => retry.mutate(undefined, { onSuccess: (result) => void navigate({ to: "/runs/$id", params: { id: result.flow_run.id } }) })}
        disabled={retry.isPending}
      >
        {retry.isPending ? "Starting…" : "Run again"}
      </Button>
      <FormError error={retry.error} />
    </span>
  );
}

/** Now, every second while `running`: the duration of a run in progress counts up. */
function useNow(running: boolean): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}

function RunView(props: { run: FlowRun; history: Parameters<typeof StateTimeline>[0]["history"]; historyError: unknown; logs: Parameters<typeof LogViewer>[0]["lines"]; status: string }) {
  const { run } = props;
  const now = useNow(run.start_time !== null && run.end_time === null);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const download = async () => {
    setDownloading(true);
    setDownloadError(null);
    try {
      const text = await fetchWholeLog(run.id);
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = logFileName(run.name);
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1_000);
    } catch (error) {
      setDownloadError(error);
    } finally {
      setDownloading(false);
    }
  };
  return (
    <>
      <EndReason run={run} />
      <PageHeader
        title={run.name}
        description={
          <span className="inline-flex items-center gap-2">
            State <StateBadge state={run.state} testId="run-state" />
          </span>
        }
        actions={
          <>
            <CancelRun run={run} />
            <RetryRun run={run} />
          </>
        }
      />
      <Details
        items={[
          [
            "Deployment",
            <Link to="/deployments/$id" params={{ id: run.deployment_id }} className="underline">
              {run.flow_name}/{run.deployment_name}
            </Link>,
          ],
          [
            "Work pool",
            <Link to="/work-pools/$name" params={{ name: run.work_pool }} className="underline">
              {run.work_pool}
            </Link>,
          ],
          ["Created", <Time iso={run.created_at} />],
          ["Started", <Time iso={run.start_time} fallback="Not yet" />],
          ["Ended", <Time iso={run.end_time} fallback={isTerminal(run.state.type) ? "—" : "Not yet"} />],
          ["Duration", formatDuration(run.start_time, run.end_time, now)],
          ...(run.work_pool_type === MANAGED_POOL_TYPE ? ([["Compute time", formatSeconds(run.compute_seconds)]] as [string, string][]) : []),
          ["Infrastructure", <span className="font-mono break-all">{run.infrastructure_id ?? "Not submitted yet"}</span>],
          ["Pool type", <span className="font-mono">{run.work_pool_type}</span>],
          ...(run.retries > 0 ? ([["Attempt", `${run.attempt} of ${run.retries + 1}`]] as [string, string][]) : []),
          ...(run.source_commit ? ([["Commit", <span className="font-mono">{run.source_commit.slice(0, 12)}</span>]] as [string, ReactNode][]) : []),
          ...(run.rerun_of
            ? ([["Re-run of", <Link to="/runs/$id" params={{ id: run.rerun_of }} className="underline font-mono">{run.rerun_of.slice(0, 8)}</Link>]] as [string, ReactNode][])
            : []),
          ["Idempotency key", run.idempotency_key ? <span className="font-mono break-all">{run.idempotency_key}</span> : "None"],
          ...(run.tags.length ? ([["Tags", run.tags.join(", ")]] as [string, string][]) : []),
        ]}
      />
      <Section title="Logs">
        <FormError error={downloadError} />
        <LogViewer lines={props.logs} status={props.status} onDownload={() => void download()} downloading={downloading} />
      </Section>
      <Section title="State timeline">
        {props.historyError ? <ErrorState error={props.historyError} /> : <StateTimeline history={props.history} />}
      </Section>
      <Section title="Parameters">
        <JsonBlock value={run.parameters} label="Parameters" />
      </Section>
      <Section title="Job variables">
        <JsonBlock value={run.job_variables} label="Job variables" />
      </Section>
      {run.state.type === "COMPLETED" && run.result !== undefined && (
        <Section title="Result">
          <JsonBlock value={run.result} label="Result" />
        </Section>
      )}
    </>
  );
}
