import { validationError } from "./errors.js";

/**
 * Where a deployment's code lives: a git repository, or a prefix (or one `.tar.gz` object) of a blob
 * store. Core knows the URL forms so that the server, the clients and the engine read a source the same
 * way; which provider package reads each store (and with which credentials type) is the plugins' to
 * say (`FerryPlugin`'s `sourceStores`), so no cloud is named here.
 */
export type SourceLocation = { kind: "git"; url: string } | BlobLocation;

/** `s3://bucket/prefix`, `gs://bucket/prefix`, or a blob container's URL (`azblob`). */
export type BlobScheme = "s3" | "gs" | "azblob";

export interface BlobLocation {
  kind: "blob";
  scheme: BlobScheme;
  /** The bucket, or the blob container. */
  bucket: string;
  /** Key prefix ("" for the whole bucket); a key itself when `tarball`. */
  prefix: string;
  /** The prefix names one `.tar.gz` (or `.tgz`) object, which is unpacked. */
  tarball: boolean;
  /** The service endpoint, for stores addressed by URL (a storage account, or its emulator's `http://127.0.0.1:PORT/ACCOUNT`). */
  endpoint: string | null;
  /** The storage account, for stores that have one. */
  account: string | null;
  /** The URL as given: what logs and errors show. */
  url: string;
}

// S3's and GCS's bucket rules share this shape: 3 to 63 (GCS: up to 222 with dots) lower-case letters, digits, dots, hyphens, underscores.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const CONTAINER = /^(\$root|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const ACCOUNT_HOST = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/;
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])$/;

/** Whether `url` is a blob store's URL (as opposed to a git URL); says nothing of its validity. */
export function isBlobUrl(url: string): boolean {
  return /^(s3|gs):\/\//i.test(url) || /^https:\/\/[^/]+\.blob\.core\.windows\.net(\/|$)/i.test(url) || isEmulatorBlobUrl(url);
}

/**
 * The emulator's form, `http://127.0.0.1:PORT/devstoreaccount1/CONTAINER/PREFIX`: only its development
 * account, since any other loopback URL may as well be a local git server's.
 */
function isEmulatorBlobUrl(url: string): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/devstoreaccount1\/[^/]+/.test(url);
}

/**
 * Reads a source URL. Git URLs are returned as they are (the server checks their form); a blob URL is
 * split into bucket and prefix, or refused with a 400 that shows the form to use.
 */
export function parseSourceUrl(url: string): SourceLocation {
  if (!isBlobUrl(url)) return { kind: "git", url };
  const bad = (why: string) =>
    validationError(
      `source '${url.length > 200 ? `${url.slice(0, 197)}...` : url}' ${why}; use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (a prefix may also be one .tar.gz object)`,
    );
  if (/[\s?#]/.test(url)) throw bad("has spaces, a query or a fragment");
  const scheme = /^(s3|gs):\/\//i.exec(url)?.[1]?.toLowerCase() as "s3" | "gs" | undefined;
  let bucket: string;
  let rest: string;
  let endpoint: string | null = null;
  let account: string | null = null;
  if (scheme) {
    const path = url.slice(scheme.length + 3);
    [bucket, rest] = splitFirst(path);
    if (!BUCKET.test(bucket)) throw bad(`names bucket '${bucket}', which is not a bucket name (lower-case letters, digits, dots, hyphens)`);
  } else {
    const parsed = new URL(url);
    const segments = parsed.pathname.slice(1);
    const host = parsed.host.toLowerCase();
    const accountHost = ACCOUNT_HOST.exec(host);
    if (accountHost) {
      account = accountHost[1]!;
      endpoint = `https://${host}`;
    } else if (LOOPBACK_HOST.test(parsed.hostname)) {
      // The emulator's form: the account is the path's first segment.
      const [first, after] = splitFirst(segments);
      if (!ACCOUNT.test(first)) throw bad(`names storage account '${first}', which is not an account name (3 to 24 lower-case letters and digits)`);
      account = first;
      endpoint = `${parsed.protocol}//${parsed.host}/${first}`;
      [bucket, rest] = splitFirst(after);
      return finish(bucket, rest);
    } else throw bad("is not a blob store URL");
    [bucket, rest] = splitFirst(segments);
  }
  return finish(bucket, rest);

  function finish(container: string, prefix: string): BlobLocation {
    const store: BlobScheme = scheme ?? "azblob";
    if (store === "azblob" && !CONTAINER.test(container)) throw bad(`names container '${container}', which is not a container name (3 to 63 lower-case letters, digits, hyphens)`);
    if (prefix.split("/").some((s) => s === ".." || s === ".")) throw bad("has '.' or '..' in its prefix");
    return {
      kind: "blob",
      scheme: store,
      bucket: container,
      prefix,
      tarball: /\.(tar\.gz|tgz)$/i.test(prefix),
      endpoint,
      account,
      url,
    };
  }
}

function splitFirst(path: string): [string, string] {
  const slash = path.indexOf("/");
  return slash < 0 ? [path, ""] : [path.slice(0, slash), path.slice(slash + 1)];
}

/**
 * A key of the store made into a path under the download folder, or null for a key that would leave it
 * (`../`, an absolute path, a drive letter, a NUL) or names a folder (a key ending in `/`, as consoles
 * make for "folders"). `prefix` is taken off first, so `s3://b/app/` puts `app/flow.py` at `flow.py`.
 */
export function blobKeyToRelativePath(key: string, prefix: string): string | null | "folder" {
  let rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  if (prefix && !prefix.endsWith("/") && rest.startsWith("/")) rest = rest.slice(1);
  if (rest === "" || rest.endsWith("/")) return "folder";
  if (rest.includes("\0") || rest.includes("\\") || rest.startsWith("/") || /^[a-zA-Z]:/.test(rest)) return null;
  const parts = rest.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) return null;
  return parts.join("/");
}

/**
 * What a provider's engine-side module gives the engine for one store: a listing with each object's
 * size, ETag and content hashes, and a stream of an object's bytes. The engine verifies, caches and
 * places what it reads; the module only translates to its cloud's SDK.
 */
export interface BlobObjectInfo {
  key: string;
  size: number;
  /** The store's version tag of the object's content: the cache's key. */
  etag: string;
  /** Base64 of the digest, as the stores report them: `md5` (16 bytes), `crc32c` (4 bytes, big-endian). */
  md5?: string | null;
  crc32c?: string | null;
}

export interface BlobStoreReader {
  /** Every object under `prefix`, all pages; throws a FerryError: `provider_not_found` (no such bucket), `provider_auth` (access denied). */
  list(prefix: string, signal?: AbortSignal): Promise<BlobObjectInfo[]>;
  /** The object's bytes. */
  read(key: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

export interface BlobStoreWriter {
  /** Stores `body` at `key`, with its MD5 (base64) for the store to check. */
  write(key: string, body: Uint8Array, options: { md5: string; signal?: AbortSignal }): Promise<void>;
}

export interface BlobStoreOptions {
  /** The credentials block named in the source (its whole document, secrets included), or null: the store's anonymous or default access. */
  credentials: Record<string, string> | null;
  /**
   * The run's environment: a module may read its SDK's endpoint overrides from it (for local
   * stand-ins), the way the SDK would read the process's, since the engine's process environment is not
   * the run's (a warm engine is handed its run's).
   */
  env: Record<string, string>;
  /**
   * Whether, without credentials, the SDK's default chain (environment, profile, instance identity) may
   * be used: true for the CLI on a user's machine; never in the engine, where that identity would be the
   * host's, not the workspace's.
   */
  ambient?: boolean;
}

/** An engine-side module of a provider package (named in its plugin's `sourceStores`): `import(module).openBlobStore(…)`. */
export interface BlobSourceModule {
  openBlobStore(location: BlobLocation, options: BlobStoreOptions): BlobStoreReader & Partial<BlobStoreWriter>;
}

/** A plugin's word that it reads one store's sources: the server checks deployments by it, the engine loads `module`. */
export interface SourceStore {
  scheme: BlobScheme;
  /** The credentials type a source of this store may name. */
  credentialsType: string;
  /** A bare module specifier the engine imports (resolvable beside the engine), exporting `openBlobStore`. */
  module: string;
}
