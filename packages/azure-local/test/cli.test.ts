import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli.js");

describe("the azure-local CLI", () => {
  it("prints where it listens without the secret, writes the secret and the CA to the info file, and stops on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azure-local-cli-"));
    const infoFile = join(dir, "info.json");
    const child = spawn(process.execPath, [CLI, "--port", "0", "--no-docker", "--info-file", infoFile], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8").trim()));
        child.once("exit", (code) => reject(new Error(`the CLI exited with ${code}`)));
      });
      const printed = JSON.parse(line) as { url: string; clientId: string; runtimeUnavailable: string };
      expect(printed.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(printed.runtimeUnavailable).toContain("docker: null");
      expect(line).not.toContain("clientSecret");
      const info = JSON.parse(await readFile(infoFile, "utf8")) as { url: string; clientId: string; clientSecret: string; caPem: string };
      expect(info).toMatchObject({ url: printed.url, clientId: printed.clientId });
      expect(info.clientSecret.length).toBeGreaterThan(20);
      expect((await stat(infoFile)).mode & 0o777).toBe(0o600);
      const health = await new Promise<number>((resolve, reject) => {
        request(`${info.url}/__azure-local/health`, { agent: new Agent({ ca: info.caPem }) }, (res) => resolve(res.statusCode ?? 0)).on("error", reject).end();
      });
      expect(health).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
