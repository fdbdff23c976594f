import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig, type _Object } from "@aws-sdk/client-s3";
import { FerryError, type BlobLocation, type BlobObjectInfo, type BlobStoreOptions, type BlobStoreReader, type BlobStoreWriter, type SourceStore } from "@ferry/core";
import { awsCredentialsFrom } from "./aws-clients.js";
import { AWS_CREDENTIAL_TYPE } from "./credentials.js";

/** What the plugin declares: `s3://` sources, read with `aws` credentials by this module in the engine. */
export const S3_SOURCE_STORE: SourceStore = { scheme: "s3", credentialsType: AWS_CREDENTIAL_TYPE.type, module: "@ferry/provider-aws/source" };

/**
 * The S3 client for a source. The endpoint comes from the run's environment as the SDK's own variables
 * name it (`AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`: a local stand-in), read from the run's
 * environment rather than the engine process's; with one, buckets are addressed by path.
 */
export function s3ClientConfig(options: BlobStoreOptions): S3ClientConfig {
  const endpoint = options.env.AWS_ENDPOINT_URL_S3 || options.env.AWS_ENDPOINT_URL || undefined;
  const credentials = awsCredentialsFrom(options.credentials);
  if (!credentials && !options.ambient) {
    throw new FerryError("provider_auth", "an s3:// source needs credentials: store an access key with 'ferry credentials create NAME --type aws' and name it in the source's credentials");
  }
  return {
    region: options.credentials?.region_name || options.env.AWS_REGION || options.env.AWS_DEFAULT_REGION || "us-east-1",
    // A bucket in another region than the one named answers with a redirect the client follows.
    followRegionRedirects: true,
    ...(credentials ? { credentials } : {}),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  };
}

/** An S3 ETag is the hex MD5 of the content unless the object was uploaded in parts (`…-N`) or encrypted with KMS. */
export function md5FromEtag(etag: string | undefined): string | null {
  const hex = etag?.replace(/"/g, "");
  return hex && /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, "hex").toString("base64") : null;
}

export function toObjectInfo(object: _Object): BlobObjectInfo | null {
  if (!object.Key) return null;
  return { key: object.Key, size: object.Size ?? 0, etag: object.ETag ?? "", md5: md5FromEtag(object.ETag) };
}

/** S3's failures in plain words, with the fix. */
export function classifyS3Error(error: unknown, bucket: string): FerryError {
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? e?.Code ?? "";
  const status = e?.$metadata?.httpStatusCode;
  if (name === "NoSuchBucket") return new FerryError("provider_not_found", `bucket '${bucket}' was not found: create it, or fix the source's bucket name`, { cause: error });
  if (name === "NoSuchKey") return new FerryError("provider_not_found", `an object of bucket '${bucket}' was removed while it was read: run the flow again`, { cause: error });
  if (["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllBucketsAreDisabled"].includes(name) || status === 403) {
    return new FerryError(
      "provider_auth",
      `access to bucket '${bucket}' was denied (${name || "HTTP 403"}): give the source's credentials s3:ListBucket and s3:GetObject on it, or name other credentials in the source`,
      { cause: error },
    );
  }
  if (status === undefined) return new FerryError("network", `could not reach S3 for bucket '${bucket}': ${e?.message ?? String(error)}`, { cause: error });
  return new FerryError("provider_error", `S3 answered ${name || `HTTP ${status}`}: ${e?.message ?? String(error)}`, { cause: error });
}

/** The engine's reader (and the CLI's writer) of one `s3://bucket/prefix`. */
export function openBlobStore(location: BlobLocation, options: BlobStoreOptions): BlobStoreReader & BlobStoreWriter {
  const client = new S3Client(s3ClientConfig(options));
  const bucket = location.bucket;
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw classifyS3Error(error, bucket);
    }
  };
  return {
    list: (prefix, signal) =>
      call(async () => {
        const out: BlobObjectInfo[] = [];
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
          for (const object of page.Contents ?? []) {
            const info = toObjectInfo(object);
            if (info) out.push(info);
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return out;
      }),
    read: (key, signal) =>
      call(async () => {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        if (!answer.Body) throw new FerryError("provider_error", `S3 sent no body for '${key}'`);
        return answer.Body as AsyncIterable<Uint8Array>;
      }),
    write: (key, body, { md5, signal }) =>
      call(async () => {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentMD5: md5 }), { abortSignal: signal });
      }),
  };
}
