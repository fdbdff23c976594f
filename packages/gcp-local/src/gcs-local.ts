import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CRC32C } from "@google-cloud/storage";

/**
 * A local Cloud Storage JSON API endpoint for `@google-cloud/storage` (its `apiEndpoint`, or
 * `STORAGE_EMULATOR_HOST`): buckets insert, objects list, get (metadata and `alt=media`), and insert
 * (`uploadType=media` and `multipart`). Plain HTTP and no auth, as the client talks to emulators;
 * objects in memory. Every request is logged for tests (`requests()`).
 */
export interface GcsLocal {
  /** `http://127.0.0.1:<port>`: the client's `apiEndpoint`. */
  endpoint: string;
  requests(): GcsRequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

export interface GcsRequestRecord {
  method: string;
  /** `buckets.insert`, `objects.list`, `objects.get`, `objects.media` (a download), `objects.insert`, or `unknown`. */
  operation: string;
  bucket: string | null;
  object: string | null;
  status: number;
}

interface StoredObject {
  body: Buffer;
  generation: string;
  contentType: string;
  updated: string;
  md5Hash: string;
  crc32c: string;
}

export async function startGcsLocal(options: { host?: string; port?: number } = {}): Promise<GcsLocal> {
  const host = options.host ?? "127.0.0.1";
  const buckets = new Map<string, Map<string, StoredObject>>();
  const log: GcsRequestRecord[] = [];
  let generation = Date.now() * 1000;

  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: "storage#object",
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    generation: o.generation,
    metageneration: "1",
    contentType: o.contentType,
    size: String(o.body.length),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: Buffer.from(`${o.generation}`).toString("base64"),
    updated: o.updated,
    timeCreated: o.updated,
    storageClass: "STANDARD",
  });

  const handle = (method: string, url: URL, headers: IncomingMessage["headers"], body: Buffer): { status: number; json?: unknown; bytes?: Buffer; record: Omit<GcsRequestRecord, "status" | "method"> } => {
    // Google's Node.js client takes a STORAGE_EMULATOR_HOST found in its process's environment as the
    // whole base URL and leaves out /storage/v1 (as in a Docker-managed run whose job env sets it); the
    // real emulators answer both forms, so this one does too.
    const path = url.pathname.startsWith("/b/") || url.pathname === "/b" ? `/storage/v1${url.pathname}` : url.pathname;
    const notFound = (what: string, record: Omit<GcsRequestRecord, "status" | "method">) => ({
      status: 404,
      json: { error: { code: 404, message: what, errors: [{ reason: "notFound", message: what }] } },
      record,
    });
    let m = /^\/storage\/v1\/b\/?$/.exec(path);
    if (m && method === "POST") {
      const name = (JSON.parse(body.toString("utf8") || "{}") as { name?: string }).name ?? "";
      const record = { operation: "buckets.insert", bucket: name, object: null };
      if (buckets.has(name)) return { status: 409, json: { error: { code: 409, message: "Your previous request to create the named bucket succeeded and you already own it." } }, record };
      buckets.set(name, new Map());
      return { status: 200, json: { kind: "storage#bucket", name, id: name }, record };
    }
    m = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path);
    if (m && method === "GET") {
      const bucket = decodeURIComponent(m[1]!);
      const record = { operation: "objects.list", bucket, object: null };
      const objects = buckets.get(bucket);
      if (!objects) return notFound("The specified bucket does not exist.", record);
      const prefix = url.searchParams.get("prefix") ?? "";
      const max = Math.min(1000, Number(url.searchParams.get("maxResults") ?? 1000) || 1000);
      const after = url.searchParams.get("pageToken") ? Buffer.from(url.searchParams.get("pageToken")!, "base64url").toString("utf8") : "";
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix) && n > after).sort();
      const page = names.slice(0, max);
      return {
        status: 200,
        json: {
          kind: "storage#objects",
          items: page.map((n) => resource(bucket, n, objects.get(n)!)),
          ...(names.length > page.length ? { nextPageToken: Buffer.from(page[page.length - 1]!).toString("base64url") } : {}),
        },
        record,
      };
    }
    m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (m && method === "GET") {
      const bucket = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      const media = url.searchParams.get("alt") === "media";
      const record = { operation: media ? "objects.media" : "objects.get", bucket, object: name };
      const objects = buckets.get(bucket);
      if (!objects) return notFound("The specified bucket does not exist.", record);
      const object = objects.get(name);
      if (!object) return notFound(`No such object: ${bucket}/${name}`, record);
      return media ? { status: 200, bytes: object.body, record } : { status: 200, json: resource(bucket, name, object), record };
    }
    m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path);
    if (m && method === "POST") {
      const bucket = decodeURIComponent(m[1]!);
      const upload = parseUpload(url, headers["content-type"] ?? "", body);
      const record = { operation: "objects.insert", bucket, object: upload?.name ?? null };
      const objects = buckets.get(bucket);
      if (!objects) return notFound("The specified bucket does not exist.", record);
      if (!upload) return { status: 400, json: { error: { code: 400, message: "Upload requests need a name: uploadType=media&name=… or multipart metadata with name" } }, record };
      const md5Hash = createHash("md5").update(upload.body).digest("base64");
      if (upload.md5Hash && upload.md5Hash !== md5Hash) {
        return { status: 400, json: { error: { code: 400, message: `Provided MD5 hash "${upload.md5Hash}" doesn't match calculated MD5 hash "${md5Hash}".` } }, record };
      }
      const crc = new CRC32C();
      crc.update(upload.body);
      const stored: StoredObject = { body: upload.body, generation: String(++generation), contentType: upload.contentType, updated: new Date().toISOString(), md5Hash, crc32c: crc.toString() };
      objects.set(upload.name, stored);
      return { status: 200, json: resource(bucket, upload.name, stored), record };
    }
    return { status: 501, json: { error: { code: 501, message: `gcs-local does not implement ${method} ${path}` } }, record: { operation: "unknown", bucket: null, object: null } };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const method = request.method ?? "GET";
      let answer: ReturnType<typeof handle>;
      try {
        answer = handle(method, new URL(request.url ?? "/", "http://localhost"), request.headers, Buffer.concat(chunks));
      } catch (error) {
        answer = { status: 400, json: { error: { code: 400, message: (error as Error).message } }, record: { operation: "unknown", bucket: null, object: null } };
      }
      log.push({ method, status: answer.status, ...answer.record });
      if (answer.bytes) {
        response.writeHead(answer.status, { "content-type": "application/octet-stream", "content-length": answer.bytes.length });
        response.end(answer.bytes);
      } else {
        const text = JSON.stringify(answer.json);
        response.writeHead(answer.status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) });
        response.end(text);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    requests: () => log.map((r) => ({ ...r })),
    clearRequests: () => void (log.length = 0),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `uploadType=media` (the name in the query) or `multipart` (JSON metadata, then the media, in multipart/related). */
export function parseUpload(url: URL, contentType: string, body: Buffer): { name: string; body: Buffer; contentType: string; md5Hash: string | null } | null {
  if (url.searchParams.get("uploadType") !== "multipart") {
    const name = url.searchParams.get("name");
    return name ? { name, body, contentType: contentType || "application/octet-stream", md5Hash: null } : null;
  }
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: string; content: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // after the CRLF that ends the delimiter line, before the CRLF before the next
    const split = part.indexOf("\r\n\r\n");
    parts.push({ headers: part.subarray(0, split).toString("utf8"), content: part.subarray(split + 4) });
    at = next;
  }
  if (parts.length < 2) return null;
  const metadata = JSON.parse(parts[0]!.content.toString("utf8")) as { name?: string; contentType?: string; md5Hash?: string };
  // The client puts the name in the query (`name=`), or in the metadata.
  const name = metadata.name ?? url.searchParams.get("name");
  if (!name) return null;
  const mediaType = /content-type:\s*([^\r\n]+)/i.exec(parts[1]!.headers)?.[1] ?? "application/octet-stream";
  return { name, body: parts[1]!.content, contentType: metadata.contentType ?? mediaType, md5Hash: metadata.md5Hash ?? null };
}
