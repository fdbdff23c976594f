import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Microsoft's Azure Storage emulator (the `azurite` npm package), its blob service as a child process on a free port. */
export interface Azurite {
  /** `http://127.0.0.1:PORT/devstoreaccount1`: the development account's blob endpoint. */
  accountUrl: string;
  /** Every request the emulator logged (its `--debug` log): method and URL. */
  requests(): { method: string; url: string }[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startAzurite(): Promise<Azurite> {
  const require = createRequire(import.meta.url);
  const main = join(dirname(require.resolve("azurite/package.json")), "dist/src/blob/main.js");
  const dir = mkdtempSync(join(tmpdir(), "ferry-azurite-"));
  const debugLog = join(dir, "debug.log");
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [main, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--debug", debugLog, "--silent", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`azurite exited with ${child.exitCode}: ${output}`);
    const up = await fetch(`http://127.0.0.1:${port}/devstoreaccount1?comp=list`).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`azurite did not answer on port ${port} within 60 s: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    accountUrl: `http://127.0.0.1:${port}/devstoreaccount1`,
    requests() {
      let text = "";
      try {
        text = readFileSync(debugLog, "utf8");
      } catch {
        return [];
      }
      return [...text.matchAll(/RequestMethod=(\w+) RequestURL=(\S+)/g)].map((m) => ({ method: m[1]!, url: m[2]! }));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        // Azurite's graceful stop waits out its clients' kept-alive connections (over a minute); its data is
        // in memory and thrown away, so after a moment it is killed.
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
