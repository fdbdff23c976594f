#!/usr/bin/env node
// Ferry's main job, end to end on one machine: a server on the embedded store, a managed work pool,
// the example flows (one Python, one TypeScript) deployed from this git repository, a run of each with
// its states and logs streamed here, and their final states. Managed runs go to Docker when a daemon
// answers and the engine image is built (scripts/build-images.sh), and to child processes otherwise.
//
// Then, on a terminal, it prints a one-time sign-in link to the web UI and keeps serving until Ctrl-C;
// without one (CI, a pipe), or with FERRY_START_EXIT set, it exits with the runs' outcome.
//
//   npm start                      (FERRY_HOME=DIR to keep the store; a fresh temporary one otherwise)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { completeDeployments, FerryClient, parseProjectFile } from "@ferry/core";
import { parseServerConfig, startServer } from "@ferry/server";

/**
 * Dependency caches are per workspace, and a temporary home's workspace is never seen again: its cache
 * volumes go with it (there are none when runs ran as processes, or without Docker's CLI).
 */
function removeCacheVolumes(workspaceId) {
  try {
    const names = execFileSync("docker", ["volume", "ls", "-q", "--filter", `label=ferry.workspace_id=${workspaceId}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n").filter(Boolean);
    if (names.length) execFileSync("docker", ["volume", "rm", ...names], { stdio: "ignore" });
  } catch {
    // no Docker here, or a volume still in use: nothing to tidy or left for `docker volume prune`
  }
}

const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
const branch = (() => {
  try {
    return git("symbolic-ref", "--quiet", "--short", "HEAD");
  } catch {
    return null;
  }
})();
const source = { git_url: pathToFileURL(root).href, ...(branch ? { branch } : { commit: git("rev-parse", "HEAD") }) };

const temporaryHome = !process.env.FERRY_HOME;
const home = process.env.FERRY_HOME ?? mkdtempSync(join(tmpdir(), "ferry-main-job-"));
const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (text) => console.log(paint("1", text));

// The repository is mounted read-only at its own path, so a container clones the same file:// URL; in a
// git worktree, so is the main checkout's .git, where the worktree's objects and refs live.
const gitDir = resolve(root, git("rev-parse", "--git-common-dir"));
const mounts = [process.env.FERRY_RUNNER_MOUNTS, `${root}:${root}`, ...(gitDir.startsWith(root + sep) ? [] : [`${gitDir}:${gitDir}`])];
const config = parseServerConfig({ ...process.env, FERRY_RUNNER_MOUNTS: mounts.filter(Boolean).join(",") }, {
  home,
  port: 0,
  databaseUrl: null,
  logLevel: "warn",
});
const server = await startServer(config, { logStream: process.stderr });
let exitCode = 1;
let finished = null;
/** Closes the server (and so its embedded PostgreSQL) and removes a temporary home: once. */
const finish = () =>
  (finished ??= (async () => {
    await server.close();
    if (temporaryHome) {
      rmSync(home, { recursive: true, force: true });
      if (server.bootstrap) removeCacheVolumes(server.bootstrap.workspaceId);
    }
  })());
// A Ctrl-C before the end would kill only this process: the embedded PostgreSQL, a process of its own
// group, would stay. So a signal closes the server first; while serving below, it is the way to stop.
let serving = null;
const onSignal = () => {
  if (serving) return serving();
  void finish().finally(() => process.exit(130));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
try {
  say(`Ferry server at ${server.url}`);
  console.log(`  store:        ${server.storeDescription}`);
  console.log(`  managed runs: ${server.runnerDescription}`);
  if (!server.bootstrap) throw new Error(`${home} already holds a workspace; unset FERRY_HOME for a fresh one`);
  const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap.apiKey });

  const pool = "examples";
  await client.api.createWorkPool({ body: { name: pool, type: "ferry:managed", description: "The example flows" } });
  say(`Work pool '${pool}' (ferry:managed)`);

  const project = parseProjectFile(readFileSync(join(root, "examples/ferry.yaml"), "utf8"), { fileName: "examples/ferry.yaml" });
  const deployments = completeDeployments(project, { source }).map((d) => ({ ...d, work_pool: pool }));
  const applied = [];
  for (const body of deployments) {
    const { deployment, action } = await client.api.applyDeployment({ body });
    applied.push(deployment);
    console.log(`  ${action} ${deployment.flow_name}/${deployment.name}: ${deployment.entrypoint} from ${source.git_url}@${source.branch ?? source.commit}`);
  }

  const runs = [];
  for (const deployment of applied) {
    const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    runs.push({ deployment, run: flow_run });
  }
  say(`Runs (the free tier runs one managed run at a time; the other waits for its slot)`);
  const finals = await Promise.all(
    runs.map(async ({ deployment, run }) => {
      const tag = paint("36", `[${deployment.flow_name}/${deployment.name}]`);
      return client.waitForRun(run.id, {
        onEvent: (event) => {
          if (event.kind === "state") {
            const s = event.state;
            console.log(`${tag} ${paint("1", s.name)}${s.message ? ` – ${s.message}` : ""}`);
          } else {
            console.log(`${tag} ${paint("2", event.log.source.padEnd(6))} ${event.log.message}`);
          }
        },
      });
    }),
  );

  say("Final states");
  for (const run of finals) {
    const ok = run.state.type === "COMPLETED";
    const result = ok ? ` result ${JSON.stringify(run.result)}` : ` ${run.state.message ?? ""}`;
    const seconds = run.start_time && run.end_time ? ((Date.parse(run.end_time) - Date.parse(run.start_time)) / 1000).toFixed(1) : "0.0";
    console.log(`  ${run.flow_name}/${run.deployment_name}: ${paint(ok ? "32" : "31", run.state.name)} after ${seconds} s;${result}`);
  }
  exitCode = finals.every((r) => r.state.type === "COMPLETED") ? 0 : 1;

  if (process.stdout.isTTY && !process.env.FERRY_START_EXIT) {
    const { url } = await client.api.createLoginLink({ body: {} });
    say("Web UI");
    console.log(`  Open ${url}`);
    console.log("  (it signs you in once, within 60 seconds; later, sign in with this workspace's API key)");
    console.log(`  API key: ${server.bootstrap.apiKey}   (shown once)`);
    console.log("  Serving until Ctrl-C.");
    await new Promise((resolve) => (serving = resolve));
  }
} catch (error) {
  console.error(`Error: ${error.message}`);
} finally {
  await finish();
}
process.exit(exitCode);
