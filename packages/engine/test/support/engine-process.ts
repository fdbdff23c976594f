import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ENGINE_BUNDLE = fileURLToPath(new URL("../../dist/engine.mjs", import.meta.url));

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything the engine printed, both streams. */
  output: string;
  ms: number;
}

/** Starts the built engine as the process backend would, and waits for it to exit. */
export function runEngineProcess(env: Record<string, string>, options: { timeoutMs?: number; onStart?: (pid: number) => void } = {}): Promise<EngineExit> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [ENGINE_BUNDLE], {
      // Only what a runner hands the engine, plus what the tools need to be found.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...registryEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 170_000);
    if (child.pid) options.onStart?.(child.pid);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: Date.now() - started });
    });
  });
}

/**
 * What this machine needs to reach the package registries (pip's local index, the CA bundle of its
 * TLS proxy), as a runner would pass it in the user's env. npm's own npm_config_* variables (set when
 * the tests run under npm) are left out: they point at this workspace.
 */
const PASSED_THROUGH = /^(PIP_|NODE_EXTRA_CA_CERTS$|SSL_CERT_(FILE|DIR)$|REQUESTS_CA_BUNDLE$|GIT_SSL_CAINFO$|(HTTPS?|NO)_PROXY$)/i;
function registryEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => PASSED_THROUGH.test(k) && v !== undefined)) as Record<string, string>;
}
