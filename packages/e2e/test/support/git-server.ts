import { execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

export interface ServedRepo {
  /** `http://127.0.0.1:<port>/<name>`: what a deployment's source points at. */
  url: string;
  /** The repository on this host. */
  dir: string;
  close(): Promise<void>;
}

/** Runs `git http-backend` (git's smart HTTP, as a CGI program) for one request. */
function serveGit(root: string, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://localhost");
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === "string" ? value : "";
  };
  const backend = spawn("git", ["http-backend"], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: request.method ?? "GET",
      CONTENT_TYPE: header("content-type"),
      HTTP_CONTENT_ENCODING: header("content-encoding"),
      GIT_PROTOCOL: header("git-protocol"),
      REMOTE_ADDR: request.socket.remoteAddress ?? "127.0.0.1",
      REMOTE_USER: "",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  request.pipe(backend.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  backend.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    const endLf = head.indexOf("\n\n");
    const at = end >= 0 ? end : endLf;
    if (at < 0) return;
    const sep = end >= 0 ? 4 : 2;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, at).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 200;
      else headers[name] = value;
    }
    response.writeHead(status, headers);
    response.write(head.subarray(at + sep));
  });
  backend.on("close", (code) => {
    if (!headersDone) response.writeHead(500, { "content-type": "text/plain" });
    response.end(headersDone ? undefined : `git http-backend exited with ${String(code)}`);
  });
}

/**
 * A git repository holding `files`, served read-only over git's smart HTTP on 127.0.0.1. A task's
 * container on the host network clones it like any remote: nothing of this host is mounted into it
 * (a push platform's local stand-in, like the platform itself, cannot bind a host directory into a task).
 * `listen: { host: "0.0.0.0", urlHost: "host.docker.internal" }` serves it to containers on a bridge
 * network too, at the URL they use.
 */
export async function serveRepo(files: Record<string, string>, name = "flows.git", listen: { host: string; urlHost: string } = { host: "127.0.0.1", urlHost: "127.0.0.1" }): Promise<ServedRepo> {
  const root = mkdtempSync(join(tmpdir(), "ferry-git-http-"));
  chmodSync(root, 0o755);
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-qm", "flows");

  const server = createServer((request, response) => serveGit(root, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${listen.urlHost}:${port}/${name}`;
  // Fail here, not in every run, when this host's git cannot serve it (asynchronously: this process serves it).
  try {
    await promisify(execFile)("git", ["ls-remote", `http://127.0.0.1:${port}/${name}`], { timeout: 10_000 });
  } catch (error) {
    server.closeAllConnections();
    server.close();
    throw new Error(`could not serve the test repository over HTTP: ${(error as Error).message}`);
  }
  return {
    url,
    dir,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
