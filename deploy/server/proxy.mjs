#!/usr/bin/env node
// A small HTTP reverse proxy for deploy/compose.yaml: it spreads requests over the Ferry servers and
// skips one that does not answer, so the compose file needs no proxy image of its own (nothing can be
// pulled where it is built and tested). In front of a real deployment use your own load balancer
// (nginx, HAProxy, a cloud's) with /readyz as its health check.
//
//   FERRY_PROXY_UPSTREAMS=http://server-1:4200,http://server-2:4200 FERRY_PROXY_PORT=8080 node proxy.mjs
//
// A request goes to the next upstream in turn; when that one cannot be reached (refused, unknown host,
// no connection within FERRY_PROXY_CONNECT_TIMEOUT_MS) it is sent to the next, and the unreachable one
// is skipped for FERRY_PROXY_COOLDOWN_MS. The body is read first (at most 16 MiB, the API's own largest
// limit) so it can be sent again. Once an upstream has answered, its response, streams (server-sent
// events) included, is passed through as it comes.
import { request as httpRequest, createServer } from "node:http";

const upstreams = (process.env.FERRY_PROXY_UPSTREAMS ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((u) => new URL(u));
const port = Number(process.env.FERRY_PROXY_PORT ?? "8080");
const connectTimeoutMs = Number(process.env.FERRY_PROXY_CONNECT_TIMEOUT_MS ?? "2000");
const cooldownMs = Number(process.env.FERRY_PROXY_COOLDOWN_MS ?? "5000");
const MAX_BODY = 16 * 1024 * 1024;
if (upstreams.length === 0 || !Number.isInteger(port)) {
  console.error("set FERRY_PROXY_UPSTREAMS (comma-separated http:// URLs of the Ferry servers) and FERRY_PROXY_PORT");
  process.exit(2);
}

const downUntil = new Map();
let next = 0;

/** Upstreams in the order to try: the next in turn first, those in their cooldown last. */
function order() {
  const now = Date.now();
  const start = next++ % upstreams.length;
  const turn = upstreams.map((_, i) => upstreams[(start + i) % upstreams.length]);
  return [...turn.filter((u) => (downUntil.get(u.host) ?? 0) <= now), ...turn.filter((u) => (downUntil.get(u.host) ?? 0) > now)];
}

function log(fields) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** Sends the request to one upstream; resolves false when it could not be reached (nothing was answered). */
function forward(upstream, req, body, res) {
  return new Promise((resolve) => {
    const headers = { ...req.headers, host: req.headers.host ?? upstream.host, "x-forwarded-for": req.socket.remoteAddress ?? "" };
    const out = httpRequest({ host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers });
    let connected = false;
    const timer = setTimeout(() => {
      if (!connected) out.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    }, connectTimeoutMs);
    out.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    out.on("response", (answer) => {
      clearTimeout(timer);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      res.on("close", () => answer.destroy());
      resolve(true);
    });
    out.on("error", (error) => {
      clearTimeout(timer);
      if (!connected) {
        downUntil.set(upstream.host, Date.now() + cooldownMs);
        log({ level: "warn", upstream: upstream.host, error: error.code ?? error.message, msg: "upstream unreachable; trying the next" });
        return resolve(false);
      }
      // Connected and then lost: the request may have been acted on, so it is not sent again.
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: `the Ferry server ${upstream.host} closed the connection: retry the request`, details: {} } }));
      resolve(true);
    });
    out.end(body);
  });
}

const server = createServer(async (req, res) => {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.writeHead(413, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "payload_too_large", message: "request body over 16 MiB", details: {} } }));
      return;
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  for (const upstream of order()) {
    if (await forward(upstream, req, body, res)) return;
  }
  res.writeHead(503, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code: "unavailable", message: `no Ferry server answers (${upstreams.map((u) => u.host).join(", ")}): check that they run`, details: {} } }));
});

server.listen(port, "0.0.0.0", () => log({ level: "info", port, upstreams: upstreams.map((u) => u.href), msg: "proxy listening" }));
// Open event streams would hold close() forever: they get a few seconds, then the process ends.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
