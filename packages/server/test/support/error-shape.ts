import { connect } from "node:net";
import { expect } from "vitest";
import { ERROR_CODES, isErrorCode } from "@ferry/core";

/** What every error answer must look like: the API's shape, a known code, the status that code implies. */
export function expectErrorShape(status: number, body: unknown): { code: string; message: string } {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  expect(error, `a ${status} answer without the error shape: ${JSON.stringify(body)?.slice(0, 300)}`).toBeTypeOf("object");
  expect(isErrorCode(error!.code), `unknown error code ${String(error!.code)}`).toBe(true);
  expect(typeof error!.message === "string" && error!.message.length > 0).toBe(true);
  expect(ERROR_CODES[error!.code as keyof typeof ERROR_CODES].status).toBe(status);
  return error as { code: string; message: string };
}

/** Sends bytes as they are (what fetch would refuse or fix) and reads the whole answer. */
export function rawRequest(url: string, request: string): Promise<{ status: number; body: unknown; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const bodyText = text.slice(text.indexOf("\r\n\r\n") + 4);
      let body: unknown = null;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = null;
      }
      resolve({ status, body, text });
    });
  });
}
