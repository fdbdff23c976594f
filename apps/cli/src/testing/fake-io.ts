import type { ImageBackend } from "../images/image-build.js";
import type { Io } from "../io.js";

/** An `Io` that records what a command prints and answers prompts from a script. */
export interface FakeIo extends Io {
  out(): string;
  err(): string;
  prompts: string[];
  /** Sends SIGINT to whatever is waiting for a signal. */
  interrupt(): void;
  /** URLs a command opened in the (pretend) browser. */
  opened: string[];
  /** Spinners shown (only with `stderrIsTTY`), with how each ended: `text ✓`, `text ✗`, or `text …` while running. */
  spinners: string[];
}

export interface FakeIoOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  /** The pretend terminal's width (with `stdoutIsTTY`). */
  columns?: number;
  answers?: string[];
  confirm?: boolean;
  /**
   * Replies to `select` and `input` prompts, in order: for `select`, the name (or value) of the choice
   * to pick; for `input`, the text typed, or `null` to accept the default. Checked by the prompt's
   * `validate` as the terminal would.
   */
  replies?: (string | null)[];
  fetch?: typeof fetch;
  loadClientPlugins?: Io["loadClientPlugins"];
  images?: ImageBackend;
  /** Whether the pretend browser opens (default true). */
  browser?: boolean;
}

export function fakeIo(options: FakeIoOptions = {}): FakeIo {
  let stdout = "";
  let stderr = "";
  const answers = [...(options.answers ?? [])];
  const replies = [...(options.replies ?? [])];
  const nextReply = (message: string): string | null => {
    if (!replies.length) throw new Error(`unexpected prompt: ${message}`);
    return replies.shift()!;
  };
  const prompts: string[] = [];
  const waiters = new Set<(signal: NodeJS.Signals) => void>();
  const opened: string[] = [];
  const spinners: string[] = [];
  return {
    stdout: { write: (t) => void (stdout += t), isTTY: options.stdoutIsTTY ?? false, ...(options.columns ? { columns: options.columns } : {}) },
    stderr: { write: (t) => void (stderr += t), isTTY: options.stderrIsTTY ?? false },
    stdinIsTTY: options.stdinIsTTY ?? false,
    readStdin: async () => options.stdin ?? "",
    env: options.env ?? {},
    cwd: options.cwd ?? "/nowhere",
    fetch: options.fetch,
    ...(options.loadClientPlugins ? { loadClientPlugins: options.loadClientPlugins } : {}),
    ...(options.images ? { images: async () => options.images! } : {}),
    async promptSecret(message) {
      prompts.push(message);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected prompt: ${message}`);
      return answer;
    },
    async confirm(message) {
      prompts.push(message);
      return options.confirm ?? false;
    },
    async select(message, choices) {
      prompts.push(message);
      const reply = nextReply(message);
      const choice = choices.find((c) => c.name === reply || c.value === reply);
      if (!choice) throw new Error(`'${reply}' is not a choice of '${message}': ${choices.map((c) => c.name).join(" | ")}`);
      return choice.value;
    },
    async input(message, prompt = {}) {
      prompts.push(message);
      const reply = nextReply(message);
      const value = reply ?? prompt.default ?? "";
      const problem = prompt.validate?.(value);
      if (problem) throw new Error(`'${value}' refused at '${message}': ${problem}`);
      return value;
    },
    spinner(text) {
      if (!options.stderrIsTTY) return null;
      const index = spinners.push(`${text} …`) - 1;
      return { stop: (ok) => void (spinners[index] = `${text} ${ok ? "✓" : "✗"}`) };
    },
    async openBrowser(url) {
      if (options.browser === false) return false;
      opened.push(url);
      return true;
    },
    nextSignal() {
      let resolve!: (signal: NodeJS.Signals) => void;
      const signal = new Promise<NodeJS.Signals>((r) => (resolve = r));
      waiters.add(resolve);
      return { signal, dispose: () => void waiters.delete(resolve) };
    },
    out: () => stdout,
    err: () => stderr,
    prompts,
    opened,
    spinners,
    interrupt() {
      for (const w of [...waiters]) w("SIGINT");
    },
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: unknown;
  /** The caller's abort signal: a route answering a stream ends it when the caller gives up. */
  signal: AbortSignal | null;
}

export type FakeRoute = (request: RecordedRequest) => Response | Promise<Response>;

/**
 * A stand-in for the server: routes keyed by `METHOD /path` (path without the query). Every request is
 * recorded; an unknown route answers 404 like the real server.
 */
export function fakeServer(routes: Record<string, FakeRoute>): { fetch: typeof fetch; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? "GET").toUpperCase();
    const request: RecordedRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      signal: init?.signal ?? null,
    };
    requests.push(request);
    const route = routes[`${method} ${url.pathname}`];
    if (!route) return json(404, { error: { code: "not_found", message: `no route ${method} ${url.pathname}` } });
    return route(request);
  };
  return { fetch: fetchImpl as typeof fetch, requests };
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A server-sent-events response carrying the given events, then `end`. */
export function sse(events: { event: string; id?: string; data?: unknown }[]): Response {
  const text = events.map((e) => `${e.id ? `id: ${e.id}\n` : ""}event: ${e.event}\ndata: ${JSON.stringify(e.data ?? {})}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}
