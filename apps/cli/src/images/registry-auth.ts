import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { FerryError, isFerryError, type RegistryCredentialsSpec, type RegistryLogin } from "@ferry/core";
import { credentialHelperRunner, DOCKER_HUB, dockerConfigAuth, dockerConfigPath, readDockerConfig, type RunHelper } from "./docker-config.js";

/** Docker's AuthConfig: what the daemon sends the registry for a push. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** A registry's refresh token (a credential helper's `<token>` login) instead of a password. */
  identitytoken?: string;
  serveraddress: string;
}

/** The `X-Registry-Auth` header Docker's API takes: URL-safe base64 of the AuthConfig JSON. */
export function registryAuthHeader(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString("base64url");
}

/** `X-Registry-Config` for a build (the base image's registry): base64 of `{registry: AuthConfig}`. */
export function registryConfigHeader(auths: RegistryAuth[]): string {
  return Buffer.from(JSON.stringify(Object.fromEntries(auths.map((a) => [a.serveraddress, a])))).toString("base64");
}

/**
 * A credentials file: `{"username", "password"}`, or Docker's `config.json` shape
 * (`{"auths": {"host": {"auth": base64("user:pass")}}}`, or with username and password).
 */
export function credentialsFromJson(value: unknown, registry: string, fileName: string): RegistryAuth {
  const bad = (why: string) =>
    new FerryError("validation_failed", `build.registry_credentials.file: ${fileName} ${why}; write {"username": "…", "password": "…"}`);
  if (typeof value !== "object" || value === null) throw bad("is not a JSON object");
  const record = value as Record<string, unknown>;
  let entry: unknown = record;
  if (typeof record.auths === "object" && record.auths !== null) {
    const auths = record.auths as Record<string, unknown>;
    const key = Object.keys(auths).find((k) => k.replace(/^https?:\/\//, "").replace(/\/.*$/, "") === registry);
    if (!key) throw bad(`has no entry for ${registry} under 'auths'`);
    entry = auths[key];
  }
  const e = (entry ?? {}) as Record<string, unknown>;
  if (typeof e.auth === "string" && e.auth) {
    const text = Buffer.from(e.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1), serveraddress: registry };
  }
  if (typeof e.username === "string" && typeof e.password === "string" && e.username && e.password) {
    return { username: e.username, password: e.password, serveraddress: registry };
  }
  throw bad("holds no username and password");
}

export interface AuthSources {
  env: Readonly<Record<string, string | undefined>>;
  /** The project file's directory: a relative credentials file is read from there. */
  baseDir: string;
  /**
   * The providers' registry login for a registry (a cloud's own registry, with the user's own cloud
   * identity), or null. Asked only when ferry.yaml gives no credentials, so plugins load only then.
   */
  registryLogin: (registry: string) => Promise<RegistryLogin | null>;
  readText?: (path: string) => Promise<string>;
  /** Runs `docker-credential-<helper> get`; default the real helper on the env's PATH. */
  runHelper?: RunHelper;
  signal?: AbortSignal;
}

/** A push login and where it came from, for messages. */
export interface ResolvedAuth {
  auth: RegistryAuth;
  /** "build.registry_credentials", or the registry login's description. */
  from: string;
}

/**
 * The login for pushing to `registry`: `build.registry_credentials` when ferry.yaml gives them, else a
 * provider's registry login that serves the registry (fresh, from the user's cloud identity), else
 * what Docker itself would use from its config (credHelpers, credsStore, auths), else none (anonymous,
 * as a local or open registry takes).
 */
export async function resolveRegistryAuth(registry: string | null, spec: RegistryCredentialsSpec | undefined, sources: AuthSources): Promise<ResolvedAuth | null> {
  const fromSpec = await specAuth(registry, spec, sources);
  if (fromSpec) return fromSpec;
  if (!registry) return userDockerConfigAuth(DOCKER_HUB, sources);
  const login = await sources.registryLogin(registry);
  if (!login) return userDockerConfigAuth(registry, sources);
  try {
    const { username, password } = await login.login(registry, sources.signal ? { signal: sources.signal } : {});
    return { auth: { username, password, serveraddress: registry }, from: login.description };
  } catch (error) {
    throw new FerryError(isFerryError(error) ? error.code : "provider_auth", `cannot log in to ${registry} (${login.description}): ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
      ...(isFerryError(error) ? { retryable: error.retryable } : {}),
    });
  }
}

async function userDockerConfigAuth(registry: string, sources: AuthSources): Promise<ResolvedAuth | null> {
  const path = dockerConfigPath(sources.env);
  if (!path) return null;
  const config = await readDockerConfig(path, sources.readText);
  if (!config) return null;
  const found = await dockerConfigAuth(config, registry, sources.runHelper ?? credentialHelperRunner(sources.env, sources.signal));
  return found ? { auth: found.auth, from: `${found.from} (${path})` } : null;
}

async function specAuth(registry: string | null, spec: RegistryCredentialsSpec | undefined, sources: AuthSources): Promise<ResolvedAuth | null> {
  const server = registry ?? DOCKER_HUB;
  const from = "build.registry_credentials";
  if (spec && "file" in spec) {
    const path = resolve(sources.baseDir, spec.file.replace(/^~(?=$|\/)/, homedir()));
    let text: string;
    try {
      text = await (sources.readText ?? ((p) => readFile(p, "utf8")))(path);
    } catch (error) {
      throw new FerryError("validation_failed", `build.registry_credentials.file: cannot read ${path} (${(error as Error).message})`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new FerryError("validation_failed", `build.registry_credentials.file: ${path} is not JSON; write {"username": "…", "password": "…"}`);
    }
    // A Docker config with a credential helper or store: ask the helper, as `docker push` would.
    if (typeof json === "object" && json !== null && ("credHelpers" in json || "credsStore" in json)) {
      const found = await dockerConfigAuth(json as Record<string, unknown>, server, sources.runHelper ?? credentialHelperRunner(sources.env, sources.signal));
      if (found) return { auth: found.auth, from: `${from} (${found.from})` };
    }
    return { auth: credentialsFromJson(json, server, path), from };
  }
  if (spec) {
    const username = sources.env[spec.username_env];
    const password = sources.env[spec.password_env];
    const unset = [!username && spec.username_env, !password && spec.password_env].filter(Boolean);
    if (unset.length) throw new FerryError("validation_failed", `build.registry_credentials: ${unset.join(" and ")} ${unset.length > 1 ? "are" : "is"} not set; export ${unset.length > 1 ? "them" : "it"} before 'ferry deploy'`);
    return { auth: { username: username!, password: password!, serveraddress: server }, from };
  }
  return null;
}
