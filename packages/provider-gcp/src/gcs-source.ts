import { Storage, type File, type StorageOptions } from "@google-cloud/storage";
import { FerryError, type BlobLocation, type BlobObjectInfo, type BlobStoreOptions, type BlobStoreReader, type BlobStoreWriter, type SourceStore } from "@ferry/core";
import { GCP_CREDENTIAL_TYPE, serviceAccountKeyFrom } from "./credentials.js";

/** What the plugin declares: `gs://` sources, read with `gcp` credentials by this module in the engine. */
export const GCS_SOURCE_STORE: SourceStore = { scheme: "gs", credentialsType: GCP_CREDENTIAL_TYPE.type, module: "@ferry/provider-gcp/source" };

/**
 * The Storage client's options. `STORAGE_EMULATOR_HOST` (the variable Google's clients honour for a
 * local stand-in) is read from the run's environment, not the engine process's; the client then
 * sends no token, as it does for any emulator.
 */
export function storageOptions(options: BlobStoreOptions): StorageOptions {
  const emulator = options.env.STORAGE_EMULATOR_HOST;
  const key = options.credentials ? serviceAccountKeyFrom(options.credentials) : null;
  if (!key && !emulator && !options.ambient) {
    throw new FerryError("provider_auth", "a gs:// source needs credentials: store a service-account key with 'ferry credentials create NAME --type gcp --from-file key.json' and name it in the source's credentials");
  }
  return {
    ...(key ? { credentials: { client_email: key.client_email, private_key: key.private_key }, ...(key.project_id ? { projectId: key.project_id } : {}) } : {}),
    ...(emulator ? { apiEndpoint: /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}` } : {}),
    // One attempt per call from the SDK's side: the run is retried as a whole when a read fails.
    retryOptions: { autoRetry: true, maxRetries: 2 },
  };
}

export function toObjectInfo(file: Pick<File, "name" | "metadata">): BlobObjectInfo {
  const m = file.metadata;
  return { key: file.name, size: Number(m.size ?? 0), etag: String(m.etag ?? m.generation ?? ""), md5: m.md5Hash ?? null, crc32c: m.crc32c ?? null };
}

/** Cloud Storage's failures in plain words, with the fix. */
export function classifyGcsError(error: unknown, bucket: string): FerryError {
  const e = error as { code?: number | string; message?: string };
  const message = e?.message ?? String(error);
  if (e?.code === 404) {
    return /bucket/i.test(message)
      ? new FerryError("provider_not_found", `bucket '${bucket}' was not found: create it, or fix the source's bucket name`, { cause: error })
      : new FerryError("provider_not_found", `an object of bucket '${bucket}' was removed while it was read: run the flow again`, { cause: error });
  }
  if (e?.code === 401 || e?.code === 403) {
    return new FerryError(
      "provider_auth",
      `access to bucket '${bucket}' was denied: give the source's service account roles/storage.objectViewer on it, or name other credentials in the source (${message})`,
      { cause: error },
    );
  }
  return new FerryError("provider_error", `Cloud Storage answered ${e?.code ?? "an error"}: ${message}`, { cause: error });
}

/** The engine's reader (and the CLI's writer) of one `gs://bucket/prefix`. */
export function openBlobStore(location: BlobLocation, options: BlobStoreOptions): BlobStoreReader & BlobStoreWriter {
  const bucket = new Storage(storageOptions(options)).bucket(location.bucket);
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw classifyGcsError(error, location.bucket);
    }
  };
  return {
    list: (prefix) =>
      call(async () => {
        const [files] = await bucket.getFiles({ prefix, autoPaginate: true });
        return files.map(toObjectInfo);
      }),
    // The engine checks size, MD5 and CRC-32C itself, the same way for every store.
    read: (key) => call(async () => bucket.file(key).createReadStream({ validation: false }) as AsyncIterable<Uint8Array>),
    write: (key, body, { md5 }) =>
      call(async () => {
        await bucket.file(key).save(Buffer.from(body), { resumable: false, validation: false, metadata: { md5Hash: md5 } });
      }),
  };
}
