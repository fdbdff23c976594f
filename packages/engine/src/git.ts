import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EngineError } from "./errors.js";
import { redactUrl } from "./masking.js";
import { describeExit, runProcess, type ProcessOptions, type ProcessResult } from "./process.js";

export interface GitCredentials {
  /** Sent as the user name; hosts that take a token as the password accept any (GitHub: x-access-token). */
  username: string | null;
  token: string;
}

export interface CloneRequest {
  repository: string;
  branch: string | null;
  commit: string | null;
  destination: string;
  credentials: GitCredentials | null;
  /** Where the credential helper script is written (outside the clone). */
  scratchDir: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  onLine?: ProcessOptions["onLine"];
  masker?: ProcessOptions["masker"];
}

export type RunProcess = (options: ProcessOptions) => Promise<ProcessResult>;

const DEFAULT_USERNAME = "x-access-token";

/**
 * The environment that gives git the token without it ever being in an argument, a URL or a config
 * file: git asks the `GIT_ASKPASS` script, which reads it from this environment. Credential helpers
 * configured on the machine are switched off so none stores it.
 */
export async function gitAuthEnv(credentials: GitCredentials | null, scratchDir: string, base: Record<string, string>): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base, GIT_TERMINAL_PROMPT: "0" };
  if (!credentials) return env;
  await mkdir(scratchDir, { recursive: true });
  const script = join(scratchDir, "git-askpass.sh");
  await writeFile(
    script,
    '#!/bin/sh\ncase "$1" in\n  [Uu]sername*) printf \'%s\\n\' "$FERRY_GIT_USERNAME" ;;\n  *) printf \'%s\\n\' "$FERRY_GIT_PASSWORD" ;;\nesac\n',
    { mode: 0o700 },
  );
  await chmod(script, 0o700);
  const count = Number.parseInt(base.GIT_CONFIG_COUNT ?? "0", 10) || 0;
  return {
    ...env,
    GIT_ASKPASS: script,
    FERRY_GIT_USERNAME: credentials.username || DEFAULT_USERNAME,
    FERRY_GIT_PASSWORD: credentials.token,
    // An empty helper value clears the helpers configured before it.
    GIT_CONFIG_COUNT: String(count + 1),
    [`GIT_CONFIG_KEY_${count}`]: "credential.helper",
    [`GIT_CONFIG_VALUE_${count}`]: "",
  };
}

/**
 * A `file://` repository mounted into a run's container belongs to another user, which git refuses to
 * serve ("dubious ownership"). The run reads it on purpose, so its upload-pack trusts it. (Config
 * given through the environment does not reach a local upload-pack: git clears it for that child.)
 */
export function localTrustArgs(repository: string): string[] {
  if (!repository.startsWith("file://") && !repository.startsWith("/")) return [];
  return ["--upload-pack", "git -c safe.directory='*' upload-pack"];
}

/**
 * Clones one branch (or the default one) with depth 1; with a commit, fetches just that commit, and
 * falls back to fetching the branches when the server does not serve commits by hash (or the hash is
 * abbreviated). Returns the commit checked out.
 */
export async function cloneRepository(request: CloneRequest, run: RunProcess = runProcess): Promise<{ commit: string }> {
  const env = await gitAuthEnv(request.credentials, request.scratchDir, request.env);
  const trust = localTrustArgs(request.repository);
  const where = `${redactUrl(request.repository)}${request.commit ? ` at ${request.commit}` : request.branch ? ` (branch ${request.branch})` : ""}`;
  const git = async (args: string[], cwd: string): Promise<ProcessResult> => {
    try {
      return await run({ command: "git", args: ["-c", "advice.detachedHead=false", ...args], cwd, env, onLine: request.onLine, signal: request.signal, masker: request.masker });
    } catch (error) {
      throw new EngineError("clone_failed", `could not run git to clone ${where}: ${(error as Error).message}`, { cause: error, retryable: false });
    }
  };
  const fail = (result: ProcessResult, what: string): never => {
    throw new EngineError("clone_failed", `could not clone ${where}: ${what} ${describeExit(result)}${tailText(result.tail)}`);
  };

  await mkdir(request.destination, { recursive: true });
  await mkdir(request.scratchDir, { recursive: true });
  if (!request.commit) {
    const args = ["clone", "--depth", "1", "--no-tags", ...trust];
    if (request.branch) args.push("--branch", request.branch);
    args.push("--", request.repository, request.destination);
    const result = await git(args, request.scratchDir);
    if (result.aborted) throw aborted();
    if (result.exitCode !== 0) fail(result, "git clone");
  } else {
    const steps: string[][] = [["init", "-q"], ["remote", "add", "origin", request.repository]];
    for (const args of steps) {
      const result = await git(args, request.destination);
      if (result.aborted) throw aborted();
      if (result.exitCode !== 0) fail(result, `git ${args[0]}`);
    }
    let fetched = await git(["fetch", "--depth", "1", "--no-tags", ...trust, "origin", request.commit], request.destination);
    if (fetched.aborted) throw aborted();
    let target = "FETCH_HEAD";
    if (fetched.exitCode !== 0) {
      request.onLine?.(`fetching ${request.commit} alone failed; fetching ${request.branch ? `branch ${request.branch}` : "all branches"} to find it`, "stderr");
      fetched = await git(["fetch", "--no-tags", ...trust, "origin", ...(request.branch ? [request.branch] : [])], request.destination);
      if (fetched.aborted) throw aborted();
      if (fetched.exitCode !== 0) fail(fetched, "git fetch");
      target = request.commit;
    }
    const checkout = await git(["checkout", "-q", "--detach", target], request.destination);
    if (checkout.aborted) throw aborted();
    if (checkout.exitCode !== 0) fail(checkout, `checking out ${request.commit}:`);
  }
  let commit = "";
  const head = await run({
    command: "git",
    args: ["rev-parse", "HEAD"],
    cwd: request.destination,
    env,
    onLine: (line, stream) => {
      if (stream === "stdout" && line.trim()) commit = line.trim();
    },
  });
  if (head.exitCode !== 0 || !commit) fail(head, "git rev-parse HEAD");
  return { commit };
}

function aborted(): EngineError {
  return new EngineError("clone_failed", "the clone was stopped: the engine is shutting down");
}

function tailText(tail: readonly string[]): string {
  const lines = tail.slice(-5).map((l) => l.trim()).filter(Boolean);
  return lines.length ? `: ${lines.join(" | ")}` : "";
}

/** Whether a repository is on the same host as the source, so the source's credentials may go to it. */
export function sameHost(a: string, b: string): boolean {
  const host = (url: string): string | null => {
    try {
      const u = new URL(url);
      return u.protocol === "file:" ? null : `${u.protocol}//${u.host}`.toLowerCase();
    } catch {
      // scp-like `git@host:path`
      const m = /^[^@/]+@([^:/]+):/.exec(url);
      return m ? `ssh://${m[1]!.toLowerCase()}` : null;
    }
  };
  const ha = host(a);
  return ha !== null && ha === host(b);
}
