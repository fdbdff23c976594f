import { createHash, randomUUID } from "node:crypto";
import { escapeXml as xmlEscape } from "../xml.js";

/**
 * The S3 calls a blob source and its upload make (CreateBucket, PutObject, GetObject, HeadObject,
 * ListObjectsV2), path-style (`/bucket/key`: the SDK's `forcePathStyle`, which it uses with a custom
 * endpoint), REST-XML as S3 answers. Objects live in memory: a test's bucket lasts as long as the server.
 */
export interface S3Object {
  body: Buffer;
  etag: string;
  lastModified: Date;
  contentType: string;
}

export interface S3Request {
  method: string;
  /** The path, still URL-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The operation, for the call log. */
  operation: string;
  error?: string;
}

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3Buckets {
  private readonly buckets = new Map<string, Map<string, S3Object>>();

  reset(): void {
    this.buckets.clear();
  }

  handle(request: S3Request, now: Date): S3Response {
    const requestId = randomUUID();
    const [rawBucket = "", ...rest] = request.path.replace(/^\//, "").split("/");
    const bucket = decodeURIComponent(rawBucket);
    const key = rest.map((s) => decodeURIComponent(s)).join("/");
    const method = request.method.toUpperCase();
    const error = (operation: string, status: number, code: string, message: string): S3Response => ({
      status,
      operation,
      error: code,
      headers: { "content-type": "application/xml", "x-amz-request-id": requestId },
      body:
        method === "HEAD"
          ? Buffer.alloc(0)
          : Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><BucketName>${xmlEscape(bucket)}</BucketName><RequestId>${requestId}</RequestId></Error>`),
    });
    const ok = (operation: string, headers: Record<string, string>, body: Buffer | string = ""): S3Response => ({
      status: 200,
      operation,
      headers: { "x-amz-request-id": requestId, ...headers },
      body: typeof body === "string" ? Buffer.from(body) : body,
    });

    if (bucket === "") return error("ListBuckets", 501, "NotImplemented", "aws-local does not list buckets");
    if (key === "") {
      if (method === "PUT") {
        if (!BUCKET_NAME.test(bucket)) return error("CreateBucket", 400, "InvalidBucketName", "The specified bucket is not valid.");
        if (this.buckets.has(bucket)) return error("CreateBucket", 409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.");
        this.buckets.set(bucket, new Map());
        return ok("CreateBucket", { location: `/${bucket}` });
      }
      if (method === "GET" && request.query.get("list-type") === "2") return this.list(bucket, request.query, requestId) ?? error("ListObjectsV2", 404, "NoSuchBucket", "The specified bucket does not exist");
      if (method === "HEAD") return this.buckets.has(bucket) ? ok("HeadBucket", {}) : error("HeadBucket", 404, "NoSuchBucket", "The specified bucket does not exist");
      return error(`${method} bucket`, 501, "NotImplemented", `aws-local does not implement ${method} on a bucket with ${request.query.toString() || "no query"}`);
    }

    const objects = this.buckets.get(bucket);
    const operation = method === "PUT" ? "PutObject" : method === "HEAD" ? "HeadObject" : method === "GET" ? "GetObject" : `${method} object`;
    if (!objects) return error(operation, 404, "NoSuchBucket", "The specified bucket does not exist");
    if (method === "PUT") {
      const body = decodeBody(request);
      const md5 = createHash("md5").update(body).digest();
      const given = header(request, "content-md5");
      if (given !== undefined && given !== md5.toString("base64")) return error(operation, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
      const etag = `"${md5.toString("hex")}"`;
      objects.set(key, { body, etag, lastModified: now, contentType: header(request, "content-type") ?? "binary/octet-stream" });
      return ok(operation, { etag });
    }
    if (method === "GET" || method === "HEAD") {
      const object = objects.get(key);
      if (!object) return error(operation, 404, "NoSuchKey", "The specified key does not exist.");
      const headers = { etag: object.etag, "last-modified": object.lastModified.toUTCString(), "content-type": object.contentType, "content-length": String(object.body.length) };
      return ok(operation, headers, method === "GET" ? object.body : Buffer.alloc(0));
    }
    return error(operation, 501, "NotImplemented", `aws-local does not implement ${method} on an object`);
  }

  private list(bucket: string, query: URLSearchParams, requestId: string): S3Response | null {
    const objects = this.buckets.get(bucket);
    if (!objects) return null;
    const prefix = query.get("prefix") ?? "";
    const maxKeys = Math.min(1000, Number(query.get("max-keys") ?? 1000) || 1000);
    const after = query.get("continuation-token") ? Buffer.from(query.get("continuation-token")!, "base64url").toString("utf8") : (query.get("start-after") ?? "");
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = objects.get(k)!;
        return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join("");
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]!).toString("base64url")}</NextContinuationToken>` : "";
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${XMLNS}"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`;
    return { status: 200, operation: "ListObjectsV2", headers: { "content-type": "application/xml", "x-amz-request-id": requestId }, body: Buffer.from(xml) };
  }
}

function header(request: S3Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The object's bytes. The SDK may send a body `aws-chunked` (chunks of `SIZE[;chunk-signature=…]\r\n
 * DATA\r\n`, ending with a 0-size chunk and checksum trailers) when it adds a flexible checksum.
 */
export function decodeBody(request: S3Request): Buffer {
  const sha = header(request, "x-amz-content-sha256") ?? "";
  const encoding = header(request, "content-encoding") ?? "";
  if (!sha.startsWith("STREAMING-") && !encoding.includes("aws-chunked")) return request.body;
  const parts: Buffer[] = [];
  let at = 0;
  const body = request.body;
  while (at < body.length) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(at, lineEnd).toString("latin1").split(";")[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
