import { connect } from "node:net";
import { expect, it } from "vitest";
import { expectErrorShape } from "./support/error-shape.js";
import { startTestServer } from "./support/test-server.js";

it("answers a request that arrives while the server closes with a 503 in the API's error shape", async () => {
  const t = await startTestServer("pglite");
  try {
    const { hostname, port } = new URL(t.server.url);
    const http = t.server.app.server;
    // The server has the request's first bytes: its connection is busy, not idle, when closing starts.
    const started = new Promise<void>((resolve) => http.once("connection", (s) => s.once("data", () => resolve())));
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write("GET /api/workspace HTTP/1.1\r\nHost: x\r\n");
    await started;
    const closing = t.server.app.close();
    // Fastify stops listening after its preClose hooks, where the server marks itself closing.
    await expect.poll(() => http.listening, { timeout: 30_000 }).toBe(false);
    socket.write(`Authorization: Bearer ${t.server.bootstrap!.apiKey}\r\n\r\n`);
    await ended;
    await closing;
    const answer = Buffer.concat(chunks).toString("utf8");
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    const error = expectErrorShape(503, JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)));
    expect(error.message).toMatch(/shutting down/);
  } finally {
    await t.stop();
  }
});

/**
 * Node closes a server's idle connections once, as closing starts. A connection busy then and kept alive
 * after its answer would hold the close for the keep-alive timeout (72 s), past this test's timeout.
 */
it("ends a connection whose request was in flight when closing began, with that request's answer", async () => {
  const t = await startTestServer("pglite");
  try {
    const { hostname, port } = new URL(t.server.url);
    const http = t.server.app.server;
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const body = JSON.stringify({ name: "k" });
    const received = new Promise<void>((resolve) => http.once("request", () => resolve()));
    socket.write(`POST /api/api-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.server.bootstrap!.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await received;
    const closing = t.server.app.close();
    await expect.poll(() => http.listening, { timeout: 30_000 }).toBe(false);
    socket.write(body.slice(5));
    await ended;
    await closing;
    const answer = Buffer.concat(chunks).toString("utf8");
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
  } finally {
    await t.stop();
  }
}, 40_000);
