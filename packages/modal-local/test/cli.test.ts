import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ModalClient } from "modal";
import { describe, expect, it } from "vitest";

describe("the CLI", () => {
  it("starts with the token from its environment, prints its URL, serves the SDK, and stops on SIGTERM", async () => {
    const token = { tokenId: "ak-CliToken1", tokenSecret: "as-CliSecret1" };
    const cli = spawn(process.execPath, [fileURLToPath(new URL("../dist/cli.js", import.meta.url)), "--port", "0", "--no-docker"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, MODAL_LOCAL_TOKEN_ID: token.tokenId, MODAL_LOCAL_TOKEN_SECRET: token.tokenSecret },
    });
    const exited = new Promise<number | null>((resolve) => cli.once("exit", resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        cli.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString()));
        void exited.then((code) => reject(new Error(`the CLI exited with ${code}`)));
      });
      const printed = JSON.parse(line) as { url: string; tokenId: string; tokenSecret?: string; inMemory: boolean };
      expect(printed).toMatchObject({ tokenId: token.tokenId, inMemory: true });
      expect(printed.tokenSecret).toBeUndefined();
      expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      process.env.MODAL_SERVER_URL = printed.url;
      const modal = new ModalClient({ ...token, logLevel: "error" });
      delete process.env.MODAL_SERVER_URL;
      expect((await modal.apps.fromName("cli", { createIfMissing: true })).appId).toMatch(/^ap-/);
    } finally {
      cli.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
