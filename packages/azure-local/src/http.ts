import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouteResponse } from "./router.js";

/** Writes an answer as JSON, with the request id header ARM sends. */
export function send(response: ServerResponse, answer: RouteResponse, head = false): void {
  const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    ...(text === "" ? {} : { "content-type": "application/json; charset=utf-8" }),
    "x-ms-request-id": randomUUID(),
    ...answer.headers,
    "content-length": head ? 0 : Buffer.byteLength(text),
  });
  response.end(head ? undefined : text);
}

/**
 * The request's URL. Clients that join a scope to a template (`/{scope}/providers/…` with a scope that
 * starts with `/`) send `//subscriptions/…`, which `new URL(path, base)` would read as a host: ARM
 * accepts it, so repeated slashes are collapsed here.
 */
export function requestUrl(request: IncomingMessage): URL {
  const url = new URL(`https://localhost${request.url ?? "/"}`);
  url.pathname = url.pathname.replace(/\/{2,}/g, "/");
  return url;
}

export function safeDecodeUri(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
