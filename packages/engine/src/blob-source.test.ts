import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseSourceUrl, type BlobLocation, type BlobObjectInfo, type BlobStoreReader } from "@ferry/core";
import * as tar from "tar";
import { writeFileSync, mkdirSync } from "node:fs";
import { downloadBlobSource, listPrefix, planBlobDownload, verifyObject } from "./blob-source.js";
import { Crc32c } from "./crc32c.js";
import { isEngineError } from "./errors.js";

const loc = (url: string) => parseSourceUrl(url) as BlobLocation;
const info = (key: string, body: Buffer, extra: Partial<BlobObjectInfo> = {}): BlobObjectInfo => ({
  key,
  size: body.length,
  etag: `"${createHash("md5").update(body).digest("hex")}"`,
  md5: createHash("md5").update(body).digest("base64"),
  crc32c: new Crc32c().update(body).digestBase64(),
  ...extra,
});

/** A store in memory behind the reader interface, counting reads. */
class MemoryStore implements BlobStoreReader {
  readonly objects = new Map<string, { body: Buffer; info: BlobObjectInfo }>();
  reads: string[] = [];
  put(key: string, text: string | Buffer, extra: Partial<BlobObjectInfo> = {}, served?: Buffer): void {
    const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
    this.objects.set(key, { body: served ?? body, info: info(key, body, extra) });
  }
  async list(prefix: string): Promise<BlobObjectInfo[]> {
    return [...this.objects.values()].filter((o) => o.info.key.startsWith(prefix)).map((o) => o.info);
  }
  async read(key: string): Promise<AsyncIterable<Uint8Array>> {
    this.reads.push(key);
    const body = this.objects.get(key)!.body;
    return (async function* () {
      yield body.subarray(0, 3);
      yield body.subarray(3);
    })();
  }
}

let dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), "ferry-blob-test-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe("planBlobDownload", () => {
  it("lists a prefix as a folder, and places each object below it, skipping folder markers", () => {
    expect(listPrefix(loc("s3://bkt/app"))).toBe("app/");
    expect(listPrefix(loc("s3://bkt"))).toBe("");
    expect(listPrefix(loc("s3://bkt/x/code.tar.gz"))).toBe("x/code.tar.gz");
    const plan = planBlobDownload(loc("s3://bkt/app"), [info("app/", Buffer.alloc(0)), info("app/flows/x.py", Buffer.from("x"))]);
    expect(plan.map((p) => p.path)).toEqual(["flows/x.py"]);
  });

  it("refuses a key that would leave the folder, an empty prefix and a missing tarball, in plain words", () => {
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(isEngineError(error, "download_failed")).toBe(true);
        return (error as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refused(() => planBlobDownload(loc("s3://bkt/app"), [info("app/../etc/passwd", Buffer.from("x"))]))).toMatch(/outside the run's folder \('app\/\.\.\/etc\/passwd'\)/);
    expect(refused(() => planBlobDownload(loc("gs://bkt/app"), []))).toMatch(/gs:\/\/bkt\/app has no objects: the prefix is empty/);
    expect(refused(() => planBlobDownload(loc("s3://bkt/x.tar.gz"), [info("x.tar.gz.bak", Buffer.from("x"))]))).toMatch(/was not found/);
  });
});

describe("verifyObject", () => {
  const body = Buffer.from("print('hi')\n");
  const good = { size: body.length, md5: createHash("md5").update(body).digest("base64"), crc32c: new Crc32c().update(body).digestBase64() };
  it("passes what matches the listing, and names a size, MD5 or CRC-32C that does not", () => {
    const object = info("k", body);
    expect(() => verifyObject(loc("s3://bkt/p"), object, good)).not.toThrow();
    expect(() => verifyObject(loc("s3://bkt/p"), object, { ...good, size: 3 })).toThrow(/3 bytes arrived, the store lists 12/);
    expect(() => verifyObject(loc("s3://bkt/p"), object, { ...good, md5: "AAAA" })).toThrow(/MD5 is AAAA/);
    expect(() => verifyObject(loc("s3://bkt/p"), object, { ...good, crc32c: "AAAA" })).toThrow(/CRC-32C is AAAA/);
    // A store that gives no hash (an S3 multipart ETag) is checked by size alone.
    expect(() => verifyObject(loc("s3://bkt/p"), { ...object, md5: null, crc32c: null }, good)).not.toThrow();
  });
});

describe("downloadBlobSource", () => {
  const run = (store: MemoryStore, url: string, cacheDir: string | null, destination = join(scratch(), "src")) =>
    downloadBlobSource({ location: loc(url), reader: store, destination, cacheDir, scratchDir: join(scratch(), "part"), log: () => {} }).then((r) => ({ ...r, destination }));

  it("writes each object at its path; with a cache, a second download reads only what changed (by ETag)", async () => {
    const store = new MemoryStore();
    store.put("app/flows/a.py", "A = 1\n");
    store.put("app/flows/b.py", "B = 2\n");
    store.put("apple/other.py", "not mine\n");
    const cache = scratch();
    const first = await run(store, "s3://bkt/app", cache);
    expect(first).toMatchObject({ objects: 2, cached: 0 });
    expect(readFileSync(join(first.destination, "flows/a.py"), "utf8")).toBe("A = 1\n");
    expect(existsSync(join(first.destination, "other.py"))).toBe(false);
    expect(store.reads.sort()).toEqual(["app/flows/a.py", "app/flows/b.py"]);

    store.reads = [];
    store.put("app/flows/b.py", "B = 3\n");
    const second = await run(store, "s3://bkt/app", cache);
    expect(second).toMatchObject({ objects: 2, cached: 1 });
    expect(store.reads).toEqual(["app/flows/b.py"]);
    expect(readFileSync(join(second.destination, "flows/b.py"), "utf8")).toBe("B = 3\n");
  });

  it("fails on a damaged download and leaves nothing in the cache for it", async () => {
    const store = new MemoryStore();
    store.put("app/a.py", "A = 1\n", {}, Buffer.from("A = 9\n"));
    const cache = scratch();
    await expect(run(store, "s3://bkt/app", cache)).rejects.toThrow(/damaged in transit: its MD5/);
    await expect(run(store, "s3://bkt/app", null)).rejects.toThrow(/damaged in transit/);
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(cache)).toEqual([]);
  });

  it("unpacks one .tar.gz object, and refuses one with an entry outside the folder", async () => {
    const made = scratch();
    mkdirSync(join(made, "tree/flows"), { recursive: true });
    writeFileSync(join(made, "tree/flows/a.py"), "A = 1\n");
    await tar.c({ gzip: true, file: join(made, "ok.tar.gz"), cwd: join(made, "tree") }, ["flows"]);
    const store = new MemoryStore();
    store.put("bundles/ok.tar.gz", readFileSync(join(made, "ok.tar.gz")));
    const ok = await run(store, "s3://bkt/bundles/ok.tar.gz", null);
    expect(readFileSync(join(ok.destination, "flows/a.py"), "utf8")).toBe("A = 1\n");

    await tar.c({ gzip: true, file: join(made, "evil.tar.gz"), cwd: join(made, "tree"), preservePaths: true }, ["flows/a.py", "../tree/flows/a.py"]);
    store.put("bundles/evil.tar.gz", readFileSync(join(made, "evil.tar.gz")));
    await expect(run(store, "s3://bkt/bundles/evil.tar.gz", null)).rejects.toThrow(/could not be unpacked/);
  });
});
