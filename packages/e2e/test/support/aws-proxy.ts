import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request that went through the proxy. */
export interface ProxiedRequest {
  /** The JSON protocol's operation (`RunTask` from `X-Amz-Target: …V20141113.RunTask`), or null. */
  operation: string | null;
  /** The JSON body, when it is one. */
  body: Record<string, unknown> | null;
}

export interface AwsProxy {
  endpoint: string;
  requests(): ProxiedRequest[];
  /**
   * Holds the next request `matches` accepts: it is not sent on until `deliverHeld`. Resolves once one
   * is held.
   */
  holdNext(matches: (request: ProxiedRequest) => boolean): Promise<ProxiedRequest>;
  /**
   * Sends the held request to AWS and returns AWS's answer, which never reaches the client: as if the
   * process that asked died after AWS accepted the call and before it read the answer.
   */
  deliverHeld(): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

interface Held {
  request: ProxiedRequest;
  raw: { method: string; path: string; headers: IncomingMessage["headers"]; body: Buffer };
  response: ServerResponse;
}

/**
 * A pass-through HTTP proxy in front of aws-local that records the requests' bodies (aws-local's call
 * log has no request parameters, e.g. RunTask's clientToken) and can swallow one answer. aws-local has
 * no way to slow an operation down, and an in-process server cannot be SIGKILLed; this is how a test
 * catches a server "between RunTask and recording its answer".
 */
export async function startAwsProxy(upstream: string): Promise<AwsProxy> {
  const target = new URL(upstream);
  const seen: ProxiedRequest[] = [];
  let holding: { matches: (r: ProxiedRequest) => boolean; resolve: (r: ProxiedRequest) => void } | null = null;
  let held: Held | null = null;
  const open = new Set<ServerResponse>();

  const forward = (raw: Held["raw"]): Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = httpRequest(
        { host: target.hostname, port: target.port, method: raw.method, path: raw.path, headers: { ...raw.headers, host: target.host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      out.on("error", reject);
      out.end(raw.body);
    });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const targetHeader = req.headers["x-amz-target"];
      const operation = typeof targetHeader === "string" ? (targetHeader.split(".").pop() ?? null) : null;
      let json: Record<string, unknown> | null = null;
      try {
        const parsed: unknown = JSON.parse(body.toString("utf8"));
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        json = null;
      }
      const record: ProxiedRequest = { operation, body: json };
      seen.push(record);
      const raw = { method: req.method ?? "POST", path: req.url ?? "/", headers: req.headers, body };
      open.add(res);
      res.on("close", () => open.delete(res));
      if (holding && holding.matches(record)) {
        held = { request: record, raw, response: res };
        const { resolve } = holding;
        holding = null;
        resolve(record);
        return;
      }
      forward(raw).then(
        (answer) => {
          const headers = { ...answer.headers };
          delete headers["transfer-encoding"];
          res.writeHead(answer.status, { ...headers, "content-length": answer.body.length });
          res.end(answer.body);
        },
        (error: Error) => {
          res.writeHead(502, { "content-type": "text/plain" });
          res.end(`aws proxy: ${error.message}`);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => seen.map((r) => ({ ...r })),
    holdNext(matches) {
      if (holding || held) throw new Error("a request is held already");
      return new Promise((resolve) => (holding = { matches, resolve }));
    },
    async deliverHeld() {
      const h = held as Held | null;
      if (!h) throw new Error("no request is held");
      held = null;
      const answer = await forward(h.raw);
      return { status: answer.status, body: answer.body.toString("utf8") };
    },
    async close() {
      holding = null;
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
