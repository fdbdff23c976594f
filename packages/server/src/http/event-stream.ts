import type { FastifyInstance } from "fastify";
import { clip, FerryError, FLOW_RUN_EVENTS_PATH, isTerminal, WORKSPACE_EVENTS_PATH, type FlowRunEvent } from "@ferry/core";
import type { ServiceContext } from "../services/context.js";
import { getRunOrThrow, toFlowRun } from "../services/flow-runs.js";
import type { Authenticate } from "./app.js";

const HEARTBEAT_MS = 15_000;
const PAGE = 500;

/** Event ids are the store's 64-bit sequence numbers. */
const MAX_EVENT_ID = 2n ** 63n - 1n;

/**
 * The id to resume after, from `Last-Event-ID`. Anything but an event id is refused before the stream
 * opens: an id the store cannot compare against would otherwise open a stream that sends nothing.
 */
export function parseLastEventId(header: string | string[] | undefined): string | undefined {
  if (header === undefined || header === "") return undefined;
  const text = Array.isArray(header) ? header.join(", ") : header;
  if (/^\d{1,19}$/.test(text) && BigInt(text) <= MAX_EVENT_ID) return String(BigInt(text));
  throw new FerryError(
    "validation_failed",
    `Last-Event-ID '${clip(text, 100)}' is not an event id: send the id of the last event received (a whole number), or no Last-Event-ID to start from the first event`,
  );
}

/**
 * `GET /api/flow-runs/{id}/events`: the run's state changes and log lines as server-sent events, in the
 * order they happened, each with its id, so a client that reconnects with `Last-Event-ID` misses and
 * repeats nothing. Ends with an `end` event once the run is final and everything has been sent.
 */
export function registerEventStream(app: FastifyInstance, ctx: ServiceContext, authenticate: Authenticate): void {
  const open = new Set<() => void>();
  // preClose, not onClose: Fastify waits for in-flight requests before onClose, and an open stream is one.
  app.addHook("preClose", async () => {
    for (const close of open) close();
  });

  app.get(
    FLOW_RUN_EVENTS_PATH.replace("{id}", ":id"),
    {
      schema: {
        operationId: "streamFlowRunEvents",
        summary: "Follow a run: its state changes and log lines as server-sent events (resumable with Last-Event-ID)",
        tags: ["flow-runs"],
        security: [{ apiKey: [] }],
        params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        headers: { type: "object", properties: { "last-event-id": { type: "string" } } },
        produces: ["text/event-stream"],
      },
      preHandler: (request, _reply, done) => {
        authenticate(request, false).then(() => done(), done);
      },
    },
    async (request, reply) => {
      const ws = request.workspace!;
      let after = parseLastEventId(request.headers["last-event-id"]);
      const run = await getRunOrThrow(ctx, ws, (request.params as { id: string }).id);

      const controller = new AbortController();
      const close = () => controller.abort();
      open.add(close);
      request.raw.on("close", close);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Not kept alive: a stream ended by the server's close would otherwise hold the close (see app.ts).
        connection: "close",
        "x-accel-buffering": "no",
      });
      if (request.method === "HEAD") {
        open.delete(close);
        res.end();
        return;
      }
      res.write("retry: 1000\n\n");
      const send = (event: FlowRunEvent) => {
        res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
      };

      try {
        let lastBeat = Date.now();
        while (!controller.signal.aborted) {
          // Taken before reading, so a notification that lands while we read is not lost.
          const seen = ctx.events.version(run.id);
          const events = await ctx.store.listFlowRunEvents(run.id, { limit: PAGE, after });
          for (const event of events) send(event);
          if (events.length) after = events[events.length - 1]!.id;
          if (events.length === PAGE) continue;
          const current = await ctx.store.getFlowRun(ws.id, run.id);
          if (!current || isTerminal(current.state.type)) {
            // Anything written together with the final state is sent before the end.
            for (;;) {
              const rest = await ctx.store.listFlowRunEvents(run.id, { limit: PAGE, after });
              for (const event of rest) send(event);
              if (rest.length) after = rest[rest.length - 1]!.id;
              if (rest.length < PAGE) break;
            }
            res.write("event: end\ndata: {}\n\n");
            break;
          }
          if (Date.now() - lastBeat >= HEARTBEAT_MS) {
            res.write(": keep-alive\n\n");
            lastBeat = Date.now();
          }
          await ctx.events.wait(run.id, HEARTBEAT_MS, controller.signal, seen);
        }
      } catch (error) {
        request.log.error({ err: error, flow_run_id: run.id }, "event stream failed");
      } finally {
        open.delete(close);
        res.end();
      }
    },
  );
}

/** How long the workspace stream gathers run ids before reading them: one query for a burst of changes. */
const GATHER_MS = 50;
/** Runs the workspace stream remembers the last sent state of (to skip wake-ups that were log lines). */
const REMEMBERED = 10_000;

/**
 * `GET /api/events`: the workspace's runs as server-sent events, `event: run` with the run whenever one
 * is created or changes state, from the same wake-ups that feed the per-run stream (across servers on
 * PostgreSQL). Only the caller's workspace's runs: the ids woken are read back within the workspace.
 * Not resumable: a client that reconnects re-reads the list it shows and follows from there.
 */
export function registerWorkspaceEventStream(app: FastifyInstance, ctx: ServiceContext, authenticate: Authenticate): void {
  const open = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const close of open) close();
  });

  app.get(
    WORKSPACE_EVENTS_PATH,
    {
      schema: {
        operationId: "streamWorkspaceEvents",
        summary: "Follow the workspace's runs: `event: run` with the flow run whenever one is created or changes state (server-sent events)",
        tags: ["flow-runs"],
        security: [{ apiKey: [] }],
        produces: ["text/event-stream"],
      },
      preHandler: (request, _reply, done) => {
        authenticate(request, false).then(() => done(), done);
      },
    },
    async (request, reply) => {
      const ws = request.workspace!;
      if (request.runScope) throw new FerryError("forbidden", "a run token may only follow its own run; use an API key");
      const controller = new AbortController();
      const close = () => controller.abort();
      const pending = new Set<string>();
      let wake: (() => void) | null = null;
      const unwatch = ctx.events.watchAll((runId) => {
        if (pending.size < REMEMBERED) pending.add(runId);
        wake?.();
      });
      open.add(close);
      request.raw.on("close", close);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Not kept alive: a stream ended by the server's close would otherwise hold the close (see app.ts).
        connection: "close",
        "x-accel-buffering": "no",
      });
      // HEAD: the headers only (a stream never ends, and Node would hold them back with no body to write).
      if (request.method === "HEAD") {
        unwatch();
        open.delete(close);
        res.end();
        return;
      }
      res.write("retry: 1000\n\n");
      const sent = new Map<string, string>();
      try {
        while (!controller.signal.aborted) {
          if (pending.size === 0) {
            const woken = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), HEARTBEAT_MS);
              const done = () => {
                clearTimeout(timer);
                controller.signal.removeEventListener("abort", done);
                resolve(true);
              };
              wake = done;
              controller.signal.addEventListener("abort", done, { once: true });
            });
            wake = null;
            if (!woken) res.write(": keep-alive\n\n");
            continue;
          }
          await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
          // Closed meanwhile (the client left, or the server is shutting down and its store goes next).
          if (controller.signal.aborted) break;
          const ids = [...pending];
          pending.clear();
          for (const run of await ctx.store.getFlowRuns(ws.id, ids)) {
            const key = `${run.state.type}|${run.state.name}|${run.state.timestamp}`;
            if (sent.get(run.id) === key) continue;
            if (sent.size >= REMEMBERED) sent.clear();
            sent.set(run.id, key);
            res.write(`event: run\ndata: ${JSON.stringify(toFlowRun(run))}\n\n`);
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) request.log.error({ err: error }, "workspace event stream failed");
      } finally {
        unwatch();
        open.delete(close);
        res.end();
      }
    },
  );
}
