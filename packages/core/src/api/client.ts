import { createParser } from "eventsource-parser";
import { isUuid } from "../ids.js";
import { FerryError, isErrorCode, isFerryError, type ErrorCode } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { ApiKey, Credentials, Deployment, FlowRun, FlowRunEvent, LogLine, Page, Secret, Variable, WorkPool, Workspace } from "../models.js";
import { isTerminal } from "../states.js";
import type { OidcTrustPolicy } from "../oidc-trust.js";
import { FLOW_RUN_EVENTS_PATH, ROUTES, routePath, type RouteDef, type RouteInput, type RouteName, type RouteOutput } from "./routes.js";

export interface FerryClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:4200 */
  apiUrl: string;
  /**
   * An API key or an access token, sent as a bearer token. A function is read at every call: a caller
   * whose short-lived access token it renews (the GitHub Action signed in by OIDC) hands its latest.
   */
  apiKey?: string | (() => string);
  /** Sent as a bearer token on operator routes (`/api/admin/...`) instead of the API key. */
  adminToken?: string;
  fetch?: typeof fetch;
  userAgent?: string;
  /** Per-request timeout for JSON calls; streams have none. Default 30 s. */
  timeoutMs?: number;
  /**
   * Headers added to every call, read at call time: the web UI, signed in by a session cookie, sends
   * its session's CSRF token this way.
   */
  headers?: () => Record<string, string>;
}


/**
 * Typed client of the Ferry HTTP API, used by the CLI, the GitHub Action and the VS Code extension.
 * Every call goes through the same route table the server registers, so a renamed path or a changed
 * body is a compile error here, not a 404 at run time.
 */
export class FerryClient {
  readonly apiUrl: string;
  private readonly options: FerryClientOptions;
  private readonly fetchImpl: typeof fetch;

  constructor(options: FerryClientOptions) {
    if (!options.apiUrl) throw new FerryError("validation_failed", "the Ferry API URL is not set; pass --api-url or set FERRY_API_URL");
    checkApiUrl(options.apiUrl);
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.options = options;
    // Called through a wrapper, not stored bare: a browser's fetch throws "Illegal invocation" when called
    // as a method of another object (this.fetchImpl(...)).
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /**
   * One method per route, e.g. `client.api.getFlowRun({ params: { id } })`. Plain (non-generic)
   * methods: the compiler checks each call without inferring a route from the expected result.
   */
  readonly api: ApiMethods = Object.fromEntries(
    (Object.keys(ROUTES) as RouteName[]).map((name) => [name, (input?: unknown) => this.request(ROUTES[name], input)]),
  ) as unknown as ApiMethods;

  private async request(route: RouteDef, rawInput: unknown): Promise<unknown> {
    const input = (rawInput ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
    const url = this.apiUrl + routePath(route.path, input.params) + queryString(input.query);
    const headers: Record<string, string> = { accept: "application/json", ...this.options.headers?.(), ...this.authHeader(route.path) };
    if (this.options.userAgent) headers["user-agent"] = this.options.userAgent;
    let body: string | undefined;
    if (input.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(input.body);
    }
    const response = await this.send(url, {
      method: route.method,
      headers,
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    if (!response.ok) throw await errorFromResponse(response, this.apiUrl, `${route.method} ${route.path}`);
    if (route.response === null) return undefined;
    // A web server, a login page or a proxy's landing page answers 200 with HTML: say so rather than
    // failing on JSON.parse, which would name neither the URL nor the likely mistake.
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    const call = `${route.method} ${route.path}`;
    if (/html/i.test(type)) throw notFerry(this.apiUrl, `${call} answered ${response.status} with an HTML page, not JSON`);
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw notFerry(this.apiUrl, `${call} answered ${response.status} with ${type || "a body"} that is not JSON`);
    }
  }

  /**
   * Every item of a list paged by cursor, page after page, one method per paged route:
   * `for await (const pool of client.paginate.listWorkPools()) ...`. The input is the route's (its
   * filters go with every page; a cursor in it is where the walk starts); `max` stops after that many
   * items, the last page asking for only what is missing. Plain methods, like `api`'s.
   */
  readonly paginate: PageWalkers = Object.fromEntries(
    PAGED_ROUTES.map((name) => [name, (input?: unknown, options?: PageWalkOptions) => this.walk(ROUTES[name], input, options)]),
  ) as unknown as PageWalkers;

  /** The items of `paginate` as one array: `await client.listAll.listDeployments({ query: { work_pool } })`. */
  readonly listAll: PageCollectors = Object.fromEntries(
    PAGED_ROUTES.map((name) => [
      name,
      async (input?: unknown, options?: PageWalkOptions) => {
        const items: unknown[] = [];
        for await (const item of this.walk(ROUTES[name], input, options)) items.push(item);
        return items;
      },
    ]),
  ) as unknown as PageCollectors;

  private async *walk(route: RouteDef, input: unknown, options: PageWalkOptions = {}): AsyncGenerator<unknown> {
    const max = options.max ?? Infinity;
    const base = (input ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown> };
    const query = { ...base.query };
    const pageSize = typeof query.limit === "number" ? query.limit : LIMITS.pageItems;
    let seen = 0;
    let cursor = typeof query.cursor === "string" ? query.cursor : undefined;
    while (seen < max) {
      const page = (await this.request(route, { params: base.params, query: { ...query, limit: Math.min(pageSize, max - seen), cursor } })) as Page<unknown>;
      for (const item of page.items) {
        if (seen >= max) return;
        seen++;
        yield item;
      }
      if (!page.next_cursor || page.items.length === 0) return;
      cursor = page.next_cursor;
      // The total does not change from page to page; counting it again would only cost the server.
      delete query.include_total;
    }
  }

  /**
   * Finds a flow run by its id, a unique prefix of its id (at least 4 characters), or its name under its
   * deployment: `DEPLOYMENT/RUN` or `FLOW/DEPLOYMENT/RUN`. Several matches are an error that lists them.
   */
  async resolveFlowRun(ref: string): Promise<FlowRun> {
    if (isUuid(ref)) return this.api.getFlowRun({ params: { id: ref } });
    const parts = ref.split("/");
    let candidates: FlowRun[];
    if (parts.length === 2 || parts.length === 3) {
      if (parts.some((p) => !p)) throw badRunRef(ref);
      const [runName, deploymentName, flowName] = [...parts].reverse() as [string, string, string | undefined];
      const page = await this.api.listFlowRuns({ query: { name: runName, limit: 50 } });
      candidates = page.items.filter((r) => r.deployment_name === deploymentName && (flowName === undefined || r.flow_name === flowName));
    } else if (parts.length === 1 && /^[0-9a-f-]+$/i.test(ref)) {
      if (ref.replace(/-/g, "").length < 4) throw new FerryError("validation_failed", `flow run id prefix '${ref}' is too short; give at least 4 characters of the id`);
      candidates = (await this.api.listFlowRuns({ query: { id_prefix: ref.toLowerCase(), limit: RUN_CANDIDATES + 1 } })).items;
    } else {
      throw badRunRef(ref);
    }
    if (candidates.length === 1) return candidates[0]!;
    if (!candidates.length) throw new FerryError("not_found", `flow run '${ref}' was not found; list runs with 'ferry flow-run ls'`);
    const shown = candidates.slice(0, RUN_CANDIDATES).map((r) => `${r.id} (${r.flow_name}/${r.deployment_name}/${r.name}, ${r.state.name})`);
    throw new FerryError(
      "validation_failed",
      `flow run '${ref}' is ambiguous: it matches ${candidates.length > RUN_CANDIDATES ? `more than ${RUN_CANDIDATES} runs, among them` : `${candidates.length} runs:`} ${shown.join(", ")}; give more characters of the id, or the whole id`,
      { details: { candidates: candidates.slice(0, RUN_CANDIDATES).map((r) => r.id) } },
    );
  }

  /** Finds a deployment by id or by `flow_name/deployment_name`. */
  async resolveDeployment(ref: string): Promise<Deployment> {
    if (isUuid(ref)) {
      const deployment = await this.api.getDeployment({ params: { id: ref } });
      return deployment;
    }
    const slash = ref.indexOf("/");
    if (slash <= 0 || slash === ref.length - 1) {
      throw new FerryError("validation_failed", `deployment '${ref}' must be given as FLOW_NAME/DEPLOYMENT_NAME or as an id`);
    }
    const list = await this.api.listDeployments({
      query: { flow_name: ref.slice(0, slash), name: ref.slice(slash + 1) },
    });
    const found = list.items[0];
    if (!found) throw new FerryError("not_found", `deployment '${ref}' was not found; list deployments with 'ferry deployment ls'`);
    return found;
  }

  /**
   * Follows a run's state changes and log lines as they happen (server-sent events). Reconnects after a
   * dropped connection from the last event seen, so nothing is missed or repeated. Ends after the run's
   * final state, or when `signal` aborts.
   */
  async *followRun(id: string, options: { lastEventId?: string; signal?: AbortSignal } = {}): AsyncGenerator<FlowRunEvent> {
    let lastEventId = options.lastEventId;
    let failures = 0;
    for (;;) {
      if (options.signal?.aborted) return;
      const headers: Record<string, string> = { accept: "text/event-stream", ...this.options.headers?.(), ...this.authHeader("") };
      if (lastEventId) headers["last-event-id"] = lastEventId;
      let response: Response;
      try {
        response = await this.send(this.apiUrl + routePath(FLOW_RUN_EVENTS_PATH, { id }), { headers, signal: options.signal });
      } catch (error) {
        if (options.signal?.aborted) return;
        if (isRetryable(error) && failures++ < 5) {
          await sleep(250 * 2 ** failures, options.signal);
          continue;
        }
        throw error;
      }
      if (!response.ok) {
        const error = await errorFromResponse(response, this.apiUrl, `GET ${FLOW_RUN_EVENTS_PATH}`);
        // A proxy answering 502/503 while the server restarts is worth waiting for, like a refused connection.
        if (error.retryable && failures++ < 5) {
          await sleep(250 * 2 ** failures, options.signal);
          continue;
        }
        throw error;
      }
      const queue: FlowRunEvent[] = [];
      let ended = false;
      const parser = createParser({
        onEvent(event) {
          if (event.event === "end") {
            ended = true;
            return;
          }
          if (event.event !== "state" && event.event !== "log") return;
          queue.push(JSON.parse(event.data) as FlowRunEvent);
        },
      });
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          while (queue.length) {
            const event = queue.shift()!;
            lastEventId = event.id;
            failures = 0;
            yield event;
          }
          if (ended) return;
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        if (!isRetryable(error) || failures++ >= 5) throw error;
      }
      if (ended) return;
      await sleep(250 * 2 ** failures, options.signal);
    }
  }

  /** Waits until the run reaches a final state, calling `onEvent` for each state change and log line. */
  async waitForRun(id: string, options: { signal?: AbortSignal; onEvent?: (event: FlowRunEvent) => void } = {}): Promise<FlowRun> {
    for await (const event of this.followRun(id, { signal: options.signal })) {
      options.onEvent?.(event);
      if (event.kind === "state" && isTerminal(event.state.type)) break;
    }
    return this.api.getFlowRun({ params: { id } });
  }

  private authHeader(path: string): Record<string, string> {
    const key = this.options.apiKey;
    const token = path.startsWith("/api/admin/") ? this.options.adminToken : typeof key === "function" ? key() : key;
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, init);
    } catch (error) {
      if ((error as Error).name === "AbortError" && init.signal?.aborted) throw error;
      if ((error as Error).name === "TimeoutError") {
        throw new FerryError("network", `the Ferry server at ${this.apiUrl} did not answer in time; check it is healthy (GET /readyz)`, { cause: error });
      }
      throw new FerryError(
        "network",
        `could not reach the Ferry server at ${this.apiUrl}; start it with 'ferry server start' or set the right URL with --api-url or FERRY_API_URL`,
        { cause: error },
      );
    }
  }
}

type InputArgs = { [K in RouteName]: object extends RouteInput<K> ? [input?: RouteInput<K>] : [input: RouteInput<K>] };
export type ApiMethods = { [K in RouteName]: (...args: InputArgs[K]) => Promise<RouteOutput<K>> };
/**
 * What each route answering a page (`items` and `next_cursor`, taking a `cursor`) lists. Named here
 * rather than computed from the route table, which makes the compiler expand every route's types;
 * the record below keeps it true to the table.
 */
interface PagedItems {
  listFlowRuns: FlowRun;
  listFlowRunLogs: LogLine;
  listDeployments: Deployment;
  listWorkPools: WorkPool;
  listCredentials: Credentials;
  listApiKeys: ApiKey;
  listOidcTrustPolicies: OidcTrustPolicy;
  adminListWorkspaces: Workspace;
  listVariables: Variable;
  listSecrets: Secret;
}
export type PagedRouteName = keyof PagedItems;
export interface PageWalkOptions {
  /** Stop after this many items; default: every page. */
  max?: number;
}
type WalkArgs<K extends PagedRouteName> = [...InputArgs[K], options?: PageWalkOptions];
export type PageWalkers = { [K in PagedRouteName]: (...args: WalkArgs<K>) => AsyncGenerator<PagedItems[K]> };
export type PageCollectors = { [K in PagedRouteName]: (...args: WalkArgs<K>) => Promise<PagedItems[K][]> };
// A compile error here means a route above does not answer a page of its items.
const PAGED: { [K in PagedRouteName]: RouteOutput<K> extends Page<PagedItems[K]> ? true : never } = {
  listFlowRuns: true, listFlowRunLogs: true, listDeployments: true, listWorkPools: true, listCredentials: true, listApiKeys: true, listOidcTrustPolicies: true, adminListWorkspaces: true,
  listVariables: true, listSecrets: true,
};
const PAGED_ROUTES = Object.keys(PAGED) as PagedRouteName[];


function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    params.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** How many matches of an ambiguous run reference are listed. */
const RUN_CANDIDATES = 5;

function badRunRef(ref: string): FerryError {
  return new FerryError(
    "validation_failed",
    `flow run '${ref}' must be an id, a unique prefix of one (at least 4 characters), or DEPLOYMENT/RUN_NAME (FLOW/DEPLOYMENT/RUN_NAME when deployment names repeat)`,
  );
}

/** Codes for statuses answered without Ferry's error JSON (e.g. by a proxy in front of the server). */
const BARE_STATUS_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "unavailable",
};

/**
 * A URL the client can call: with its scheme. `localhost:4200` parses as a URL whose scheme is
 * `localhost:`, and fetch then fails with a message that names neither the URL nor the fix.
 */
export function checkApiUrl(apiUrl: string): void {
  if (/^https?:\/\//i.test(apiUrl)) {
    try {
      new URL(apiUrl);
      return;
    } catch {
      throw new FerryError("validation_failed", `the Ferry API URL '${apiUrl}' is not a valid URL; give it as http://HOST:PORT or https://HOST`);
    }
  }
  const example = /^[a-z][a-z0-9+.-]*:\/\//i.test(apiUrl) ? apiUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "https://") : `http://${apiUrl}`;
  throw new FerryError(
    "validation_failed",
    `the Ferry API URL '${apiUrl}' has no http:// or https:// scheme; add http:// or https:// (e.g. ${example})`,
  );
}

/** The answer did not come from a Ferry server (a 404 page of another site, HTML where JSON was due). */
function notFerry(apiUrl: string, what: string): FerryError {
  return new FerryError(
    "not_found",
    `${apiUrl} is not a Ferry server: ${what}; check the URL (--api-url, FERRY_API_URL or the profile's api_url)`,
  );
}

async function errorFromResponse(response: Response, apiUrl: string, call: string): Promise<FerryError> {
  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    payload = undefined;
  }
  const error = (payload as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && isErrorCode(error.code) && typeof error.message === "string") {
    return new FerryError(error.code, error.message, { details: error.details });
  }
  // Ferry answers every unknown path with its error JSON: a bare 404 is another server (or a proxy
  // that does not forward /api). Other bare statuses may be a proxy in front of Ferry: keep their code.
  if (response.status === 404) return notFerry(apiUrl, `${call} answered 404 ${response.statusText} without Ferry's error JSON`);
  const code = BARE_STATUS_CODES[response.status] ?? (response.status >= 500 ? "unavailable" : "internal");
  return new FerryError(code, `the server answered ${response.status} ${response.statusText}`);
}

function isRetryable(error: unknown): boolean {
  return isFerryError(error) ? error.retryable : error instanceof TypeError || (error as Error)?.name === "TypeError";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
