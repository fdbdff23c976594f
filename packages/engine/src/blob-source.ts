import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { once } from "node:events";
import { blobKeyToRelativePath, isFerryError, type BlobLocation, type BlobObjectInfo, type BlobStoreReader } from "@ferry/core";
import * as tar from "tar";
import { Crc32c } from "./crc32c.js";
import { EngineError } from "./errors.js";

export interface BlobDownloadOptions {
  location: BlobLocation;
  reader: BlobStoreReader;
  /** The folder the code goes into (made if missing). */
  destination: string;
  /** The workspace's cache of downloaded objects, or null: every object is downloaded. */
  cacheDir: string | null;
  /** For partial downloads when there is no cache. */
  scratchDir: string;
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface BlobDownloadResult {
  objects: number;
  bytes: number;
  /** Objects found in the cache under the same ETag, so not downloaded. */
  cached: number;
}

/** Objects downloaded side by side: enough to hide round trips, few enough for a small container. */
const PARALLEL = 4;

/**
 * The folder prefix actually listed: `s3://b/app` means the folder `app/`, never `apple/` beside it. A
 * tarball's prefix is its key, listed as it is.
 */
export function listPrefix(location: BlobLocation): string {
  if (location.tarball || location.prefix === "" || location.prefix.endsWith("/")) return location.prefix;
  return `${location.prefix}/`;
}

/** Which objects go where: every problem (a key leaving the folder) refused before anything is written. */
export function planBlobDownload(location: BlobLocation, objects: readonly BlobObjectInfo[]): { object: BlobObjectInfo; path: string }[] {
  const prefix = listPrefix(location);
  if (location.tarball) {
    const object = objects.find((o) => o.key === location.prefix);
    if (!object) throw new EngineError("download_failed", `${location.url} was not found: no object has that key; upload the tarball there, or fix the source`, { retryable: false });
    return [{ object, path: "" }];
  }
  const plan: { object: BlobObjectInfo; path: string }[] = [];
  for (const object of objects) {
    const path = blobKeyToRelativePath(object.key, prefix);
    if (path === "folder") continue;
    if (path === null) {
      throw new EngineError("download_failed", `${location.url} holds an object whose key would be written outside the run's folder ('${object.key}'): remove or rename it`, { retryable: false });
    }
    plan.push({ object, path });
  }
  if (plan.length === 0) {
    throw new EngineError("download_failed", `${location.url} has no objects: the prefix is empty; upload the flow's code there (ferry deploy --upload ${location.url}), or fix the prefix`, {
      retryable: false,
    });
  }
  return plan;
}

/** The cache entry of one version of one object: a new ETag is a new entry, so an entry is never rewritten. */
export function cacheEntryName(location: BlobLocation, object: BlobObjectInfo): string {
  const store = [location.scheme, location.endpoint ?? "", location.bucket, object.key, object.etag, String(object.size)].join("\0");
  return createHash("sha256").update(store).digest("hex");
}

/**
 * Downloads a blob source into `destination`: each object under the prefix at its path below it, or
 * one tarball unpacked there. Each download is checked against the listing's size and hashes; with a
 * cache, an object whose ETag is cached already is copied from there instead of downloaded.
 */
export async function downloadBlobSource(options: BlobDownloadOptions): Promise<BlobDownloadResult> {
  const { location, reader, destination } = options;
  const objects = await storeCall(location, "list", () => reader.list(listPrefix(location), options.signal));
  const plan = planBlobDownload(location, objects);
  await mkdir(destination, { recursive: true });
  const cacheDir = options.cacheDir ? await usableCache(options.cacheDir, options.log) : null;
  let cached = 0;
  let bytes = 0;

  const fetchOne = async ({ object }: { object: BlobObjectInfo }): Promise<string> => {
    bytes += object.size;
    if (cacheDir) {
      const entry = join(cacheDir, cacheEntryName(location, object));
      if (await hasSize(entry, object.size)) {
        cached += 1;
        return entry;
      }
      await download(location, reader, object, entry, options.signal);
      return entry;
    }
    const file = join(options.scratchDir, `blob-${randomBytes(8).toString("hex")}`);
    await download(location, reader, object, file, options.signal);
    return file;
  };
  const place = async (file: string, path: string): Promise<void> => {
    const target = join(destination, path);
    await mkdir(dirname(target), { recursive: true });
    // From the cache a copy (the flow may change its files); a scratch download is moved.
    if (cacheDir) await copyFile(file, target);
    else await rename(file, target);
  };

  if (location.tarball) {
    const file = await fetchOne(plan[0]!);
    await unpack(location, file, destination);
    if (!cacheDir) await rm(file, { force: true });
  } else {
    await mkdir(options.scratchDir, { recursive: true });
    const queue = [...plan];
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) await place(await fetchOne(item), item.path);
      }),
    );
  }
  return { objects: plan.length, bytes, cached };
}

/** Streams one object into `file` (through a temporary name, so a cut download never looks complete) and checks it. */
async function download(location: BlobLocation, reader: BlobStoreReader, object: BlobObjectInfo, file: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${randomBytes(6).toString("hex")}.part`;
  const md5 = createHash("md5");
  const crc = new Crc32c();
  let size = 0;
  try {
    const body = await storeCall(location, `read '${object.key}' of`, () => reader.read(object.key, signal));
    const out = createWriteStream(partial);
    try {
      for await (const chunk of body) {
        md5.update(chunk);
        crc.update(chunk);
        size += chunk.length;
        if (!out.write(chunk)) await once(out, "drain");
      }
    } finally {
      out.end();
      await once(out, "close");
    }
    verifyObject(location, object, { size, md5: md5.digest("base64"), crc32c: crc.digestBase64() });
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** The download against the listing: its size, then every hash the store gave (MD5, CRC-32C). */
export function verifyObject(location: BlobLocation, object: BlobObjectInfo, got: { size: number; md5: string; crc32c: string }): void {
  const where = `object '${object.key}' of ${location.url}`;
  const damaged = (what: string) => new EngineError("download_failed", `${where} was damaged in transit: ${what}; run the flow again`);
  if (got.size !== object.size) throw damaged(`${got.size} bytes arrived, the store lists ${object.size}`);
  if (object.md5 && object.md5 !== got.md5) throw damaged(`its MD5 is ${got.md5}, the store's is ${object.md5}`);
  if (object.crc32c && object.crc32c !== got.crc32c) throw damaged(`its CRC-32C is ${got.crc32c}, the store's is ${object.crc32c}`);
}

/** A tarball into `destination`; an entry that would land outside it (`..`, an absolute path, through a link) fails the download. */
async function unpack(location: BlobLocation, file: string, destination: string): Promise<void> {
  try {
    // strict: node-tar's warnings (it skips `..` entries and strips absolute paths) become errors, so
    // such a tarball is refused rather than half unpacked.
    await tar.x({ file, cwd: destination, strict: true, preservePaths: false, noChmod: true });
  } catch (error) {
    throw new EngineError("download_failed", `${location.url} could not be unpacked: ${(error as Error).message}; it must be a gzip'd tar of the project, with paths relative to its root`, {
      retryable: false,
      cause: error,
    });
  }
}

async function hasSize(file: string, size: number): Promise<boolean> {
  try {
    return (await stat(file)).size === size;
  } catch {
    return false;
  }
}

async function usableCache(dir: string, log: (line: string) => void): Promise<string | null> {
  try {
    await mkdir(dir, { recursive: true });
    return dir;
  } catch (error) {
    log(`the source cache ${dir} cannot be used (${(error as Error).message}): every object is downloaded`);
    return null;
  }
}

/** A store's failure in plain words: the provider module classified it (not found, access denied); anything else says what was being done. */
async function storeCall<T>(location: BlobLocation, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof EngineError) throw error;
    const message = (error as Error)?.message ?? String(error);
    const retryable = isFerryError(error) ? error.retryable : true;
    throw new EngineError("download_failed", `could not ${what} ${location.url}: ${message}`, { retryable, cause: error });
  }
}
