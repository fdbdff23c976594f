import { connect } from "node:net";
import { expect, it } from "vitest";
import { expectErrorShape } from "./support/error-shape.js";
import { startTestServer } from "./support/test-server.js";

it("answers a request that arrives while the server closes with a 503 in the API's error shape", async () => {
  const t = await startTestServer("pglite");
  try {
    const { hostname, port } = new URL(t.server.url);
    const key = t.server.bootstrap!.apiKey;
    const http = t.server.app.server;
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const body = JSON.stringify({ name: "k" });
    // A request whose body is still on its way keeps the connection busy while the server starts closing.
    const received = new Promise<void>((resolve) => http.once("request", () => resolve()));
    socket.write(`POST /api/api-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await received;
    const closing = t.server.app.close();
    // Fastify stops listening after its preClose hooks, where the server marks itself closing.
    await expect.poll(() => http.listening, { timeout: 30_000 }).toBe(false);
    socket.write(`${body.slice(5)}GET /api/workspace HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`);
    await ended;
    await closing;
    const answers = Buffer.concat(chunks).toString("utf8").split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 201 /);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i);
    const error = expectErrorShape(503, JSON.parse(answers[1]!.slice(answers[1]!.indexOf("\r\n\r\n") + 4)));
    expect(error.message).toMatch(/shutting down/);
  } finally {
    await t.stop();
  }
});
