import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { FerryError, isFerryError, type RegistryCredentialsSpec } from "@ferry/core";
import { ecrRegion } from "./reference.js";

/** Docker's AuthConfig: what the daemon sends the registry for a push. */
export interface RegistryAuth {
  username: string;
  password: string;
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

/** ECR's authorization token is base64 of `AWS:password`. */
export function decodeEcrToken(token: string, registry: string): RegistryAuth {
  const text = Buffer.from(token, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) throw new FerryError("provider_error", "ecr:GetAuthorizationToken returned a token that is not 'user:password'");
  return { username: text.slice(0, colon), password: text.slice(colon + 1), serveraddress: registry };
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
  /** ECR: `GetAuthorizationToken` in the region, with the user's own AWS identity. */
  ecrToken: (region: string) => Promise<{ token: string; endpoint: string | null }>;
  readText?: (path: string) => Promise<string>;
}

/**
 * The login for pushing to `registry`: ECR's from AWS, else `build.registry_credentials`, else none
 * (anonymous, as a local or open registry takes).
 */
export async function resolveRegistryAuth(registry: string | null, spec: RegistryCredentialsSpec | undefined, sources: AuthSources): Promise<RegistryAuth | null> {
  const server = registry ?? "https://index.docker.io/v1/";
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
    return credentialsFromJson(json, server, path);
  }
  if (spec) {
    const username = sources.env[spec.username_env];
    const password = sources.env[spec.password_env];
    const unset = [!username && spec.username_env, !password && spec.password_env].filter(Boolean);
    if (unset.length) throw new FerryError("validation_failed", `build.registry_credentials: ${unset.join(" and ")} ${unset.length > 1 ? "are" : "is"} not set; export ${unset.length > 1 ? "them" : "it"} before 'ferry deploy'`);
    return { username: username!, password: password!, serveraddress: server };
  }
  const region = ecrRegion(registry);
  if (region && registry) {
    const { token } = await sources.ecrToken(region);
    return decodeEcrToken(token, registry);
  }
  return null;
}

/** The real `ecrToken`: the AWS SDK, loaded only when an ECR registry is used, with the default credential chain. */
export async function ecrAuthorizationToken(region: string): Promise<{ token: string; endpoint: string | null }> {
  const [{ ECRClient, GetAuthorizationTokenCommand }, { classifyAwsError }] = await Promise.all([
    import("@aws-sdk/client-ecr"),
    import("@ferry/provider-aws/provisioning"),
  ]);
  const client = new ECRClient({ region });
  try {
    const out = await client.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new FerryError("provider_error", "ecr:GetAuthorizationToken returned no token");
    return { token: data.authorizationToken, endpoint: data.proxyEndpoint ?? null };
  } catch (error) {
    if (isFerryError(error)) throw error;
    throw classifyAwsError(error, { action: "ecr:GetAuthorizationToken", target: `a login to the registry in ${region}` });
  } finally {
    client.destroy();
  }
}
