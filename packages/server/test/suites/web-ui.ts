import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, type Deployment, type FlowRun } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";

const HOUR = 3600 * 1000;

/** A browser, as far as the server can tell: a cookie jar of one cookie, and the headers a page sends. */
class Browser {
  cookie: string | null = null;
  csrf: string | null = null;
  constructor(private readonly base: () => string) {}

  async fetch(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; csrf?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.csrf !== false && this.csrf && init.method && init.method !== "GET") headers["x-csrf-token"] = this.csrf;
    const response = await fetch(this.base() + path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "manual",
    });
    const set = response.headers.get("set-cookie");
    if (set?.startsWith("ferry_session=")) {
      const value = set.split(";")[0]!;
      this.cookie = value === "ferry_session=" ? null : value;
    }
    return response;
  }

  async signIn(apiKey: string): Promise<Response> {
    const response = await this.fetch("/api/sessions", { method: "POST", body: { api_key: apiKey } });
    if (response.status === 201) this.csrf = ((await response.clone().json()) as { csrf_token: string }).csrf_token;
    return response;
  }
}

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

/** Reads a response's server-sent events as they come. */
class EventReader {
  readonly events: { event: string; data: string }[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";
  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** Reads until `done` says enough (true), or `ms` pass (false). */
  async until(done: (events: { event: string; data: string }[]) => boolean, ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done(this.events)) {
      if (Date.now() >= deadline) return false;
      const chunk = await Promise.race([this.reader.read(), new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())))]);
      if (!chunk) return done(this.events);
      if (chunk.done) return done(this.events);
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = this.buffer.indexOf("\n\n")) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) this.events.push({ event, data });
      }
    }
    return true;
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

/**
 * The web UI's side of the server on `kind`'s store: browser sessions (cookie, CSRF, Origin, sign-out,
 * expiry, revocation, restarts), login links, the built UI's files and headers, and the data only the
 * UI asks for (quota per day, runs in use per pool, the workspace's event stream).
 */
export function webUiSuite(kind: StoreKind): void {
  let home: string;
  let webDir: string;
  let db: Awaited<ReturnType<typeof freshDatabase>> | null = null;
  let server: RunningServer;
  let apiKey: string;
  let client: FerryClient;
  let admin: FerryClient;
  let deployment: Deployment;
  /** The server's clock runs this far ahead of the real one: sessions and links expire by it. */
  let skewMs = 0;
  const browser = () => new Browser(() => server.url);

  const start = async () => {
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db?.url ?? null, store: "pglite", logLevel: "warn", providers: [], sweepIntervalMs: 600_000 });
    // No runner: managed runs wait in SCHEDULED and the test moves them, as their engine would.
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner: null, now: () => new Date(Date.now() + skewMs), webDir });
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-web-"));
    // A tiny build of the UI, as apps/web's would be: index.html and one hashed asset.
    webDir = join(home, "web");
    mkdirSync(join(webDir, "assets"), { recursive: true });
    writeFileSync(join(webDir, "index.html"), '<!doctype html><html><head><script type="module" src="/assets/index-Ab12Cd.js"></script></head><body><div id="root"></div></body></html>');
    writeFileSync(join(webDir, "assets", "index-Ab12Cd.js"), "console.log('ferry')");
    writeFileSync(join(webDir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    db = kind === "postgres" ? await freshDatabase() : null;
    await start();
    apiKey = server.bootstrap!.apiKey;
    client = new FerryClient({ apiUrl: server.url, apiKey });
    admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
    await admin.api.adminUpdateWorkspace({ params: { id: server.bootstrap!.workspaceId }, body: { tier: "pro" } });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed", concurrency_limit: 5 } });
    deployment = (
      await client.api.applyDeployment({
        body: { flow_name: "etl", name: "web", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      })
    ).deployment;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  const newRun = async (c: FerryClient = client, id = deployment.id): Promise<FlowRun> => (await c.api.createFlowRun({ params: { id }, body: {} })).flow_run;

  it("signs in with an API key: an HttpOnly, SameSite=Strict, 12-hour cookie (not Secure over plain http), and the session's CSRF token", async () => {
    const b = browser();
    const response = await b.signIn(apiKey);
    expect(response.status).toBe(201);
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^ferry_session=fs_[\w-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const session = (await response.json()) as { workspace: { id: string }; csrf_token: string; expires_at: string };
    expect(session.workspace.id).toBe(server.bootstrap!.workspaceId);
    expect(session.csrf_token).toMatch(/^[\w-]{43}$/);
    expect(Date.parse(session.expires_at) - Date.now()).toBeGreaterThan(12 * HOUR - 60_000);
    // Only the token's hash is stored.
    expect(JSON.stringify(response.headers)).not.toContain(apiKey);

    const read = await b.fetch("/api/session");
    expect(read.status).toBe(200);
    expect(((await read.json()) as { csrf_token: string }).csrf_token).toBe(session.csrf_token);
    const pools = await b.fetch("/api/work-pools");
    expect(pools.status).toBe(200);
    expect(((await pools.json()) as { items: { name: string }[] }).items.map((p) => p.name)).toEqual(["managed"]);
  });

  it("refuses a bad key with 401 and says nothing about whether a key exists", async () => {
    const unknown = await browser().signIn("fy_" + "x".repeat(40));
    const garbage = await browser().signIn("not a key");
    const extra = await client.api.createApiKey({ body: { name: "to revoke" } });
    await client.api.deleteApiKey({ params: { id: extra.id } });
    const revoked = await browser().signIn(extra.key);
    const messages = [];
    for (const r of [unknown, garbage, revoked]) {
      expect(r.status).toBe(401);
      expect(r.headers.get("set-cookie")).toBeNull();
      messages.push((await errorOf(r)).message);
    }
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe("the API key is not valid; check the key in your profile (ferry profile inspect) or create a new one");
  });

  it("needs the session's CSRF token for anything that changes something, compared in full", async () => {
    const b = browser();
    await b.signIn(apiKey);
    const body = { name: "csrf-key" };
    const without = await b.fetch("/api/api-keys", { method: "POST", body, csrf: false });
    expect(without.status).toBe(403);
    expect((await errorOf(without)).code).toBe("forbidden");
    const wrong = await b.fetch("/api/api-keys", { method: "POST", body, csrf: false, headers: { "x-csrf-token": b.csrf!.slice(0, -1) + (b.csrf!.endsWith("A") ? "B" : "A") } });
    expect(wrong.status).toBe(403);
    const otherSession = browser();
    await otherSession.signIn(apiKey);
    const foreignToken = await b.fetch("/api/api-keys", { method: "POST", body, csrf: false, headers: { "x-csrf-token": otherSession.csrf! } });
    expect(foreignToken.status).toBe(403);
    expect((await client.api.listApiKeys()).items.map((k) => k.name)).not.toContain("csrf-key");

    const right = await b.fetch("/api/api-keys", { method: "POST", body });
    expect(right.status).toBe(201);
    const created = (await right.json()) as { id: string };
    expect((await b.fetch(`/api/api-keys/${created.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("refuses a request from another site's page (a foreign Origin), with the cookie or signing in", async () => {
    const b = browser();
    await b.signIn(apiKey);
    const evil = { origin: "https://evil.example" };
    const read = await b.fetch("/api/work-pools", { headers: evil });
    expect(read.status).toBe(403);
    expect((await errorOf(read)).message).toContain("Origin https://evil.example");
    expect((await b.fetch("/api/api-keys", { method: "POST", body: { name: "x" }, headers: evil })).status).toBe(403);
    const signIn = await fetch(server.url + "/api/sessions", {
      method: "POST",
      headers: { "content-type": "application/json", ...evil },
      body: JSON.stringify({ api_key: apiKey }),
    });
    expect(signIn.status).toBe(403);
    expect(signIn.headers.get("set-cookie")).toBeNull();
    // The server's own origin is fine.
    expect((await b.fetch("/api/work-pools", { headers: { origin: server.url } })).status).toBe(200);
  });

  it("signs out server-side: the same cookie answers 401 afterwards; a session outlives a restart until then", async () => {
    const b = browser();
    await b.signIn(apiKey);
    const kept = b.cookie!;
    await server.close();
    await start();
    client = new FerryClient({ apiUrl: server.url, apiKey });
    admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
    expect((await b.fetch("/api/session")).status).toBe(200);

    const out = await b.fetch("/api/session", { method: "DELETE" });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ deleted: true });
    expect(out.headers.get("set-cookie")).toMatch(/^ferry_session=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/);
    const again = await fetch(server.url + "/api/work-pools", { headers: { cookie: kept } });
    expect(again.status).toBe(401);
    expect((await errorOf(again)).message).toBe("the session has ended or expired; sign in again");
    expect((await fetch(server.url + "/api/session", { headers: { cookie: kept } })).status).toBe(401);
  });

  it("refuses a session past its 12 hours, and the sweep deletes it", async () => {
    const b = browser();
    await b.signIn(apiKey);
    skewMs = 12 * HOUR - 60_000;
    try {
      expect((await b.fetch("/api/session")).status).toBe(200);
      skewMs = 12 * HOUR + 1000;
      const expired = await b.fetch("/api/session");
      expect(expired.status).toBe(401);
      const removed = await server.store.deleteExpiredSessions(new Date(Date.now() + skewMs).toISOString());
      expect(removed.sessions).toBeGreaterThan(0);
    } finally {
      skewMs = 0;
    }
    expect((await b.fetch("/api/session")).status).toBe(401);
  });

  it("ends a key's sessions when the key is revoked", async () => {
    const extra = await client.api.createApiKey({ body: { name: "browser" } });
    const b = browser();
    await b.signIn(extra.key);
    const other = browser();
    await other.signIn(apiKey);
    expect((await b.fetch("/api/work-pools")).status).toBe(200);
    await client.api.deleteApiKey({ params: { id: extra.id } });
    expect((await b.fetch("/api/work-pools")).status).toBe(401);
    expect((await other.fetch("/api/work-pools")).status).toBe(200);
  });

  it("never takes a run token or the operator token from a cookie, nor answers getSession to an API key", async () => {
    const b = browser();
    await b.signIn(apiKey);
    const adminCall = await b.fetch("/api/admin/workspaces");
    expect(adminCall.status).toBe(401);
    const run = await newRun();
    const token = await server.issueRunToken(run.id);
    const asCookie = await fetch(`${server.url}/api/flow-runs/${run.id}`, { headers: { cookie: `ferry_session=${token}` } });
    expect(asCookie.status).toBe(401);
    const byKey = await rejection(client.api.getSession());
    expect(byKey.status).toBe(401);
    await client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
  });

  it("keeps a session of one workspace out of another's pools, runs and events", async () => {
    const other = await admin.api.adminCreateWorkspace({ body: { name: "other", tier: "pro" } });
    const otherClient = new FerryClient({ apiUrl: server.url, apiKey: other.api_key.key });
    await otherClient.api.createWorkPool({ body: { name: "theirs", type: "ferry:managed" } });
    const theirDeployment = (
      await otherClient.api.applyDeployment({
        body: { flow_name: "secret", name: "flow", work_pool: "theirs", source: { git_url: "https://github.com/b/b.git" }, entrypoint: "f.py:f" },
      })
    ).deployment;
    const theirRun = await newRun(otherClient, theirDeployment.id);

    const b = browser();
    await b.signIn(apiKey);
    const pools = (await (await b.fetch("/api/work-pools")).json()) as { items: { name: string }[] };
    expect(pools.items.map((p) => p.name)).toEqual(["managed"]);
    const runs = (await (await b.fetch("/api/flow-runs?limit=500")).json()) as { items: { id: string }[] };
    expect(runs.items.map((r) => r.id)).not.toContain(theirRun.id);
    expect((await b.fetch(`/api/flow-runs/${theirRun.id}`)).status).toBe(404);
    expect((await b.fetch(`/api/flow-runs/${theirRun.id}/events`)).status).toBe(404);
    expect((await b.fetch("/api/work-pools/theirs")).status).toBe(404);

    // The workspace stream: our run shows up, created and moved; theirs, created and moved too, never does.
    // HEAD answers the headers and ends (a stream never would).
    const head = await fetch(server.url + "/api/events", { method: "HEAD", headers: { cookie: b.cookie! }, signal: AbortSignal.timeout(5000) });
    expect(head.status).toBe(200);
    const stream = await b.fetch("/api/events", { headers: { accept: "text/event-stream" } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = new EventReader(stream);
    const seen = (type: string) => (events: { data: string }[]) => events.some((e) => (JSON.parse(e.data) as FlowRun).state.type === type);
    try {
      const theirs = await newRun(otherClient, theirDeployment.id);
      const ours = await newRun();
      expect(await reader.until(seen("SCHEDULED"))).toBe(true);
      await otherClient.api.cancelFlowRun({ params: { id: theirs.id }, body: {} });
      await otherClient.api.cancelFlowRun({ params: { id: theirRun.id }, body: {} });
      await client.api.setFlowRunState({ params: { id: ours.id }, body: { type: "PENDING" } });
      expect(await reader.until(seen("PENDING"))).toBe(true);
      await client.api.setFlowRunState({ params: { id: ours.id }, body: { type: "RUNNING" } });
      expect(await reader.until(seen("RUNNING"))).toBe(true);
      // Their runs' changes were woken in between (the same hub): give a stray event time to arrive.
      await reader.until(() => false, 300);
      const runsSeen = reader.events.map((e) => JSON.parse(e.data) as FlowRun);
      expect(reader.events.every((e) => e.event === "run")).toBe(true);
      expect(runsSeen.map((r) => r.id)).toEqual([ours.id, ours.id, ours.id]);
      expect(runsSeen.map((r) => r.state.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING"]);
      expect(runsSeen[2]!.deployment_id).toBe(deployment.id);
      await client.api.cancelFlowRun({ params: { id: ours.id }, body: {} });
    } finally {
      await reader.close();
    }
  });

  it("counts each pool's runs holding a slot (PENDING, RUNNING, CANCELLING) in the list and in one pool", async () => {
    await client.api.createWorkPool({ body: { name: "second", type: "ferry:managed" } });
    const before = (await client.api.listWorkPools()).items;
    expect(before.find((p) => p.name === "second")!.active_runs).toBe(0);
    const base = before.find((p) => p.name === "managed")!.active_runs;
    const a = await newRun();
    const b = await newRun();
    const c = await newRun();
    await client.api.setFlowRunState({ params: { id: a.id }, body: { type: "PENDING" } });
    await client.api.setFlowRunState({ params: { id: b.id }, body: { type: "PENDING" } });
    await client.api.setFlowRunState({ params: { id: b.id }, body: { type: "RUNNING" } });
    // c stays SCHEDULED: waiting, not holding a slot.
    const list = (await client.api.listWorkPools()).items;
    expect(list.find((p) => p.name === "managed")!.active_runs).toBe(base + 2);
    expect(list.find((p) => p.name === "second")!.active_runs).toBe(0);
    expect((await client.api.getWorkPool({ params: { name: "managed" } })).active_runs).toBe(base + 2);
    await client.api.setFlowRunState({ params: { id: b.id }, body: { type: "COMPLETED" } });
    expect((await client.api.getWorkPool({ params: { name: "managed" } })).active_runs).toBe(base + 1);
    for (const run of [a, c]) await client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
    await client.api.deleteWorkPool({ params: { name: "second" } });
  });

  it("answers managed compute hours per UTC day, zero days included, oldest first", async () => {
    const day = (offset: number) => new Date(Date.now() - offset * 24 * HOUR).toISOString().slice(0, 10);
    const at = (offset: number, time: string) => `${day(offset)}T${time}Z`;
    // Earlier tests' runs may have metered a few milliseconds today: count from what is there.
    const earlier = (await client.api.getQuotaUsage({ query: { days: 3 } })).items;
    expect(earlier.every((d) => d.compute_hours < 0.01)).toBe(true);
    const runs = [await newRun(), await newRun(), await newRun(), await newRun()];
    // Seconds count on the day a run started: two today, one two days ago (just after midnight), one 40 days ago.
    const fields = [
      { start_time: at(0, "00:00:01.000"), compute_seconds: 1800 },
      { start_time: at(0, "00:00:02.000"), compute_seconds: 1800 },
      { start_time: at(2, "00:00:00.000"), compute_seconds: 900 },
      { start_time: at(40, "12:00:00.000"), compute_seconds: 3600 },
    ];
    for (const [i, run] of runs.entries()) await server.store.updateFlowRun(run.id, fields[i]!);
    const usage = await client.api.getQuotaUsage({ query: { days: 3 } });
    expect(usage.items.map((d) => d.date)).toEqual([day(2), day(1), day(0)]);
    const added = usage.items.map((d, i) => d.compute_hours - earlier[i]!.compute_hours);
    expect(added[0]).toBeCloseTo(0.25, 9);
    expect(added[1]).toBeCloseTo(0, 9);
    expect(added[2]).toBeCloseTo(1, 9);
    const month = await client.api.getQuotaUsage();
    expect(month.items).toHaveLength(30);
    expect(month.items.at(-1)!.date).toBe(day(0));
    expect(month.items.reduce((sum, d) => sum + d.compute_hours, 0)).toBeCloseTo(1.25, 2);
    expect((await client.api.getQuotaUsage({ query: { days: 366 } })).items.find((d) => d.date === day(40))!.compute_hours).toBe(1);
    for (const days of [0, 367]) expect((await rejection(client.api.getQuotaUsage({ query: { days } }))).code).toBe("validation_failed");
    for (const run of runs) await client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
  });

  it("signs a browser in once through a login link, within 60 seconds, to a local path only", async () => {
    const link = await client.api.createLoginLink({ body: { path: "/runs/abc?x=1" } });
    expect(link.url).toMatch(new RegExp(`^${server.url}/auth/login\\?token=fl_[\\w-]{43}$`));
    expect(Date.parse(link.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const b = browser();
    const first = await b.fetch(link.url.slice(server.url.length));
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/runs/abc?x=1");
    expect(first.headers.get("referrer-policy")).toBe("no-referrer");
    expect(first.headers.get("set-cookie")).toMatch(/^ferry_session=fs_[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    expect((await b.fetch("/api/session")).status).toBe(200);

    const second = await browser().fetch(link.url.slice(server.url.length));
    expect(second.status).toBe(401);
    expect(second.headers.get("set-cookie")).toBeNull();
    expect(second.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await second.text()).toContain("Run <code>ferry ui</code> again");

    const home = await client.api.createLoginLink({ body: {} });
    const toRoot = await browser().fetch(home.url.slice(server.url.length));
    expect(toRoot.headers.get("location")).toBe("/");

    const late = await client.api.createLoginLink({ body: {} });
    skewMs = 61_000;
    try {
      expect((await browser().fetch(late.url.slice(server.url.length))).status).toBe(401);
    } finally {
      skewMs = 0;
    }
    expect((await browser().fetch("/auth/login?token=fl_nothing")).status).toBe(401);
    expect((await browser().fetch("/auth/login")).status).toBe(401);

    for (const path of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "runs/x", "/ok\nLocation: x"]) {
      const refused = await rejection(client.api.createLoginLink({ body: { path } }));
      expect(refused.code, path).toBe("validation_failed");
    }
    // Made with an API key only: a browser session cannot mint itself more sessions.
    const fromSession = await b.fetch("/api/login-links", { method: "POST", body: {} });
    expect(fromSession.status).toBe(403);
  });

  it("refuses sign-ins from an address for the rest of a minute after 20 failures, even with a good key", async () => {
    // Earlier tests failed a few times from this address: fail until refused, then a little more.
    let failures = 0;
    for (;;) {
      const r = await browser().signIn("fy_" + "y".repeat(40));
      expect(r.status).toBe(401);
      const { message } = await errorOf(r);
      if (message.startsWith("too many failed sign-ins")) break;
      expect(++failures).toBeLessThanOrEqual(20);
    }
    const good = await browser().signIn(apiKey);
    expect(good.status).toBe(401);
    expect((await errorOf(good)).message).toBe("too many failed sign-ins from this address; wait a minute, then sign in with a valid API key");
    // API keys themselves are not throttled.
    expect((await client.api.listWorkPools()).items.length).toBeGreaterThan(0);
    skewMs = 61_000;
    try {
      expect((await browser().signIn(apiKey)).status).toBe(201);
    } finally {
      skewMs = 0;
    }
  });

  it("serves the built UI: hashed assets cached a year, index.html never, the page routes answered with index.html, all with a strict CSP", async () => {
    const root = await fetch(server.url + "/", { redirect: "manual" });
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('<div id="root">');
    expect(root.headers.get("cache-control")).toBe("no-cache");
    expect(root.headers.get("content-type")).toMatch(/^text\/html/);
    expect(root.headers.get("content-security-policy")).toBe(
      "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(root.headers.get("x-content-type-options")).toBe("nosniff");
    expect(root.headers.get("referrer-policy")).toBe("no-referrer");
    expect(root.headers.get("x-frame-options")).toBe("DENY");

    const asset = await fetch(server.url + "/assets/index-Ab12Cd.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toMatch(/javascript/);
    expect(await asset.text()).toBe("console.log('ferry')");
    expect((await fetch(server.url + "/assets/missing.js")).status).toBe(404);
    // A path out of assets/ is refused by @fastify/send.
    expect((await fetch(server.url + "/assets/..%2Findex.html")).status).toBe(403);
    expect((await fetch(server.url + "/favicon.svg")).status).toBe(200);

    for (const page of ["/runs/0195", "/work-pools/managed", "/sign-in?next=%2Fruns"]) {
      const response = await fetch(server.url + page, { headers: { accept: "text/html,application/xhtml+xml" } });
      expect(response.status, page).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await response.text()).toContain('<div id="root">');
    }
    const head = await fetch(server.url + "/runs/0195", { method: "HEAD", headers: { accept: "text/html" } });
    expect(head.status).toBe(200);

    // The API keeps its JSON answers, whatever a browser accepts.
    const unknownApi = await fetch(server.url + "/api/unknown", { headers: { accept: "text/html" } });
    expect(unknownApi.status).toBe(404);
    expect((await errorOf(unknownApi)).code).toBe("not_found");
    const notHtml = await fetch(server.url + "/runs/0195", { headers: { accept: "application/json" } });
    expect(notHtml.status).toBe(404);
    expect((await fetch(server.url + "/docs", { redirect: "manual" })).status).not.toBe(404);
    expect((await fetch(server.url + "/healthz")).status).toBe(200);
  });
}

/** A server without a built UI says how to build one at `/`. */
export async function checkUiNotBuilt(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "ferry-web-"));
  const config = parseServerConfig({}, { home, port: 0, logLevel: "warn", providers: [], sweepIntervalMs: 600_000 });
  const server = await startServer(config, { registry: new PoolTypeRegistry(), runner: null, webDir: join(home, "no-ui") });
  try {
    const root = await fetch(server.url + "/", { redirect: "manual" });
    expect(root.status).toBe(200);
    expect(root.headers.get("content-security-policy")).toContain("default-src 'none'");
    const text = await root.text();
    expect(text).toContain("web UI is not built");
    expect(text).toContain("npm run build");
    // No index.html to fall back to: a page route is a 404 as before.
    expect((await fetch(server.url + "/runs/x", { headers: { accept: "text/html" } })).status).toBe(404);
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Behind a proxy that terminates TLS (FERRY_PUBLIC_URL https): the cookie is Secure, the public URL's
 * origin is the server's own, and login links point at it.
 */
export async function checkBehindHttpsProxy(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "ferry-web-"));
  const publicUrl = "https://ferry.example.com";
  const config = parseServerConfig({}, { home, port: 0, publicUrl, logLevel: "warn", providers: [], sweepIntervalMs: 600_000 });
  const server = await startServer(config, { registry: new PoolTypeRegistry(), runner: null, webDir: join(home, "no-ui") });
  try {
    const signIn = await fetch(server.url + "/api/sessions", {
      method: "POST",
      headers: { "content-type": "application/json", origin: publicUrl },
      body: JSON.stringify({ api_key: server.bootstrap!.apiKey }),
    });
    expect(signIn.status).toBe(201);
    const cookie = signIn.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^ferry_session=fs_[\w-]+; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const { csrf_token } = (await signIn.json()) as { csrf_token: string };
    const signOut = await fetch(server.url + "/api/session", {
      method: "DELETE",
      headers: { cookie: cookie.split(";")[0]!, origin: publicUrl, "x-csrf-token": csrf_token },
    });
    expect(signOut.status).toBe(200);
    expect(signOut.headers.get("set-cookie")).toContain("; Secure");
    const link = await new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey }).api.createLoginLink({ body: {} });
    expect(link.url).toMatch(/^https:\/\/ferry\.example\.com\/auth\/login\?token=fl_/);
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}
