import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const FERRY_BIN = fileURLToPath(new URL("../dist/ferry.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  stdin?: string;
  cwd?: string;
  /** The binary to run; default: this workspace's build. */
  bin?: string;
}

/** Every byte any process printed, so a test can check that a secret never appeared anywhere. */
export const transcript: string[] = [];

/** The environment of a user's shell, minus any FERRY_* settings of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FERRY_") && k !== "FORCE_COLOR") env[k] = v;
  return { ...env, NO_COLOR: "1", ...extra };
}

/** Runs `node dist/ferry.js ARGS` as a user would, and waits for it to exit. */
export function ferry(args: string[], options: CliOptions & { home: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? FERRY_BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv({ FERRY_HOME: options.home, ...options.env }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      // Only what the process printed: the arguments are the test's own (one even passes a secret to see it refused).
      transcript.push(`$ ferry ${args.slice(0, 2).join(" ")} …\n${stdout}${stderr}`);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

const PTY_DRIVER = fileURLToPath(new URL("./pty-driver.py", import.meta.url));

/**
 * Runs `ferry ARGS` on a pseudo-terminal (Python's pty module), answering its prompts: each step waits
 * for a pattern on the screen, then types its keys ("\r" is Enter, "\x1b[B" the down arrow). The
 * result's stdout is the screen, ANSI sequences removed; code 124 when a prompt never appeared.
 */
export function ferryOnTerminal(args: string[], steps: [pattern: string, keys: string][], options: CliOptions & { home: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [PTY_DRIVER, JSON.stringify(steps), process.execPath, options.bin ?? FERRY_BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv({ FERRY_HOME: options.home, TERM: "xterm-256color", ...options.env }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      transcript.push(`$ ferry ${args.slice(0, 2).join(" ")} … (terminal)\n${stdout}${stderr}`);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Sends SIGINT and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `ferry server start --port 0` in the background and waits until it says where it listens.
 * `cwd` is where it resolves the provider plugins of FERRY_PROVIDERS first.
 */
export function startServer(home: string, timeoutMs = 60_000, env: Record<string, string> = {}, cwd?: string, bin = FERRY_BIN): Promise<ServerProcess> {
  const child = spawn(process.execPath, [bin, "server", "start", "--port", "0"], {
    cwd,
    // No runner: these tests drive runs' states through the API; managed execution has its own tests.
    env: cleanEnv({ FERRY_HOME: home, FERRY_LOG_LEVEL: "warn", FERRY_SHUTDOWN_GRACE_MS: "2000", FERRY_RUNNER: "none", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const url = /Ferry server listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url && output.includes("Press Ctrl+C to stop.")) {
        clearTimeout(timer);
        resolve({
          url,
          child,
          output: () => output,
          stop: async () => {
            child.kill("SIGINT");
            const code = await exited;
            transcript.push(`$ ferry server start\n${output}`);
            return code;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it listened:\n${output}`));
    });
  });
}

export function parseJson<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`stdout is not JSON (exit ${result.code}): ${(error as Error).message}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
}
