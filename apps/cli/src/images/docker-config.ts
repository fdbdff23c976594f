import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FerryError } from "@ferry/core";
import type { RegistryAuth } from "./registry-auth.js";

/** What Docker's CLI calls Docker Hub's server address, in `auths` and to credential helpers. */
export const DOCKER_HUB = "https://index.docker.io/v1/";
const HUB_HOSTS = new Set(["index.docker.io", "docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** A registry as a bare host[:port], Docker Hub's aliases as one, to compare config keys. */
export function registryHost(address: string): string {
  const host = address.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  return HUB_HOSTS.has(host) ? "index.docker.io" : host;
}

/** The address Docker gives a helper and the daemon: Docker Hub's v1 URL, else the host. */
export function serverAddress(registry: string): string {
  return registryHost(registry) === "index.docker.io" ? DOCKER_HUB : registryHost(registry);
}

/** Where Docker reads its config: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function dockerConfigPath(env: Readonly<Record<string, string | undefined>>): string | null {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, "config.json");
  return env.HOME ? join(env.HOME, ".docker", "config.json") : null;
}

export type LoginSource = { helper: string } | { entry: Record<string, unknown> } | null;

/**
 * How Docker finds the login for a registry in its config: a `credHelpers` entry for the registry,
 * else the `credsStore`, else the `auths` entry. (A store that has no login for it falls back to
 * `auths`: see dockerConfigAuth.)
 */
export function loginSource(config: Record<string, unknown>, registry: string): LoginSource {
  const host = registryHost(registry);
  const helpers = isRecord(config.credHelpers) ? config.credHelpers : {};
  const helperKey = Object.keys(helpers).find((k) => registryHost(k) === host);
  if (helperKey && typeof helpers[helperKey] === "string" && helpers[helperKey]) return { helper: helpers[helperKey] };
  if (typeof config.credsStore === "string" && config.credsStore) return { helper: config.credsStore };
  return authsEntry(config, registry);
}

export function authsEntry(config: Record<string, unknown>, registry: string): LoginSource {
  const auths = isRecord(config.auths) ? config.auths : {};
  const key = Object.keys(auths).find((k) => registryHost(k) === registryHost(registry));
  const entry = key === undefined ? undefined : auths[key];
  return isRecord(entry) ? { entry } : null;
}

/** A login from an `auths` entry: `auth` (base64 "user:pass"), username and password, or an identity token. */
export function authFromEntry(entry: Record<string, unknown>, registry: string): RegistryAuth | null {
  const serveraddress = serverAddress(registry);
  if (typeof entry.identitytoken === "string" && entry.identitytoken) {
    return { username: "", password: "", identitytoken: entry.identitytoken, serveraddress };
  }
  if (typeof entry.auth === "string" && entry.auth) {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1), serveraddress };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string" && entry.username && entry.password) {
    return { username: entry.username, password: entry.password, serveraddress };
  }
  return null;
}

/**
 * What `docker-credential-<helper> get` printed: `{"ServerURL", "Username", "Secret"}`. The user name
 * `<token>` means the secret is an identity token (Docker's convention), sent as `identitytoken`.
 */
export function authFromHelperOutput(text: string, registry: string, helper: string): RegistryAuth {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FerryError("validation_failed", `docker-credential-${helper} printed something that is not JSON; check the helper with 'docker-credential-${helper} list'`);
  }
  const record = isRecord(value) ? value : {};
  const username = typeof record.Username === "string" ? record.Username : "";
  const secret = typeof record.Secret === "string" ? record.Secret : "";
  if (!secret) throw new FerryError("validation_failed", `docker-credential-${helper} gave no secret for ${serverAddress(registry)}; log in again with 'docker login ${registryHost(registry)}'`);
  const serveraddress = serverAddress(registry);
  if (username === "<token>") return { username: "", password: "", identitytoken: secret, serveraddress };
  return { username, password: secret, serveraddress };
}

/** Runs a credential helper's `get` as Docker does: the server address on stdin, JSON on stdout. */
export type RunHelper = (helper: string, server: string) => Promise<{ found: true; output: string } | { found: false }>;

export function credentialHelperRunner(env: Readonly<Record<string, string | undefined>>, signal?: AbortSignal): RunHelper {
  return (helper, server) => {
    // The name comes from the config file; it is a program name, never a path or options.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
      return Promise.reject(new FerryError("validation_failed", `credential helper name '${helper}' in the Docker config is not valid`));
    }
    const program = `docker-credential-${helper}`;
    return new Promise((resolvePromise, reject) => {
      const child = execFile(program, ["get"], { env: { ...env } as NodeJS.ProcessEnv, timeout: 60_000, ...(signal ? { signal } : {}) }, (error, stdout, stderr) => {
        if (!error) {
          resolvePromise({ found: true, output: stdout });
          return;
        }
        // Helpers exit 1 with this text (docker-credential-helpers' ErrCredentialsNotFound) when they have no login.
        if (/credentials not found/i.test(`${stdout}${stderr}`)) {
          resolvePromise({ found: false });
          return;
        }
        const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
        reject(new FerryError(
          "validation_failed",
          missing
            ? `the Docker config names the credential helper '${helper}', but ${program} is not on PATH; install it or remove it from the config`
            : `${program} get failed for ${server}: ${(stderr || stdout || error.message).trim().slice(0, 300)}`,
          { cause: error },
        ));
      });
      child.stdin?.end(server);
    });
  };
}

/**
 * The login Docker would use to push to `registry`, from its config (credHelpers, credsStore, auths),
 * or null when it has none for the registry.
 */
export async function dockerConfigAuth(config: Record<string, unknown>, registry: string, runHelper: RunHelper): Promise<{ auth: RegistryAuth; from: string } | null> {
  const source = loginSource(config, registry);
  if (source && "helper" in source) {
    const result = await runHelper(source.helper, serverAddress(registry));
    if (result.found) return { auth: authFromHelperOutput(result.output, registry, source.helper), from: `docker-credential-${source.helper}` };
    const entry = authsEntry(config, registry);
    const auth = entry && "entry" in entry ? authFromEntry(entry.entry, registry) : null;
    return auth ? { auth, from: "the Docker config's auths" } : null;
  }
  if (source) {
    const auth = authFromEntry(source.entry, registry);
    return auth ? { auth, from: "the Docker config's auths" } : null;
  }
  return null;
}

/** The user's Docker config, or null when there is none. */
export async function readDockerConfig(path: string, readText: (path: string) => Promise<string> = (p) => readFile(p, "utf8")): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readText(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new FerryError("validation_failed", `cannot read the Docker config ${path} (${(error as Error).message})`, { cause: error });
  }
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : null;
  } catch {
    throw new FerryError("validation_failed", `the Docker config ${path} is not JSON; fix it or point DOCKER_CONFIG at another folder`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
