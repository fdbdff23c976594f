import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { BlobServiceClient, StorageSharedKeyCredential, type BlobItem } from "@azure/storage-blob";
import { FerryError, type BlobLocation, type BlobObjectInfo, type BlobStoreOptions, type BlobStoreReader, type BlobStoreWriter, type SourceStore } from "@ferry/core";
import { AZURE_CREDENTIAL_TYPE } from "./credentials.js";

/** What the plugin declares: Azure Blob URLs as sources, read with `azure` credentials by this module in the engine. */
export const AZURE_BLOB_SOURCE_STORE: SourceStore = { scheme: "azblob", credentialsType: AZURE_CREDENTIAL_TYPE.type, module: "@ferry/provider-azure/source" };

/**
 * Azurite's development account: Microsoft publishes its name and key (they are the same in every copy
 * of the emulator), so they are no secret. Used only for the emulator's URL form (a loopback address).
 */
export const EMULATOR_ACCOUNT = {
  name: "devstoreaccount1",
  key: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
};

function isEmulator(location: BlobLocation): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(location.endpoint ?? "");
}

/** The account's client: the service principal of the `azure` credentials, or for the emulator its development key. */
export function blobServiceClient(location: BlobLocation, options: BlobStoreOptions): BlobServiceClient {
  const endpoint = location.endpoint;
  if (!endpoint) throw new FerryError("validation_failed", `${location.url} names no storage account`);
  if (isEmulator(location) && !options.credentials) {
    if (location.account !== EMULATOR_ACCOUNT.name) {
      throw new FerryError("provider_auth", `the emulator's URL form reads the development account ${EMULATOR_ACCOUNT.name} only; ${location.url} names '${location.account}'`);
    }
    return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(EMULATOR_ACCOUNT.name, EMULATOR_ACCOUNT.key));
  }
  const c = options.credentials;
  if (!c && options.ambient) return new BlobServiceClient(endpoint, new DefaultAzureCredential());
  if (!c) {
    throw new FerryError("provider_auth", `${location.url} needs credentials: name 'azure' credentials (a service principal with Storage Blob Data Reader on the account) in the source`);
  }
  if (!c.tenant_id || !c.client_id || !c.client_secret) {
    throw new FerryError("provider_auth", "the source's azure credentials lack tenant_id, client_id or client_secret: update them with 'ferry credentials create'");
  }
  return new BlobServiceClient(endpoint, new ClientSecretCredential(c.tenant_id, c.client_id, c.client_secret));
}

export function toObjectInfo(item: Pick<BlobItem, "name" | "properties">): BlobObjectInfo {
  const md5 = item.properties.contentMD5;
  return { key: item.name, size: item.properties.contentLength ?? 0, etag: item.properties.etag ?? "", md5: md5 && md5.length ? Buffer.from(md5).toString("base64") : null };
}

/** Blob Storage's failures in plain words, with the fix. */
export function classifyBlobError(error: unknown, container: string): FerryError {
  const e = error as { statusCode?: number; code?: string; message?: string };
  const code = e?.code ?? "";
  if (code === "ContainerNotFound" || (e?.statusCode === 404 && /container/i.test(e?.message ?? ""))) {
    return new FerryError("provider_not_found", `container '${container}' was not found: create it, or fix the source's container name`, { cause: error });
  }
  if (e?.statusCode === 404) return new FerryError("provider_not_found", `a blob of container '${container}' was removed while it was read (${code}): run the flow again`, { cause: error });
  if (e?.statusCode === 401 || e?.statusCode === 403 || /^Authentication|^Authorization/.test(code)) {
    return new FerryError(
      "provider_auth",
      `access to container '${container}' was denied (${code || `HTTP ${e?.statusCode}`}): give the source's service principal Storage Blob Data Reader on the account, or name other credentials in the source`,
      { cause: error },
    );
  }
  return new FerryError("provider_error", `Blob Storage answered ${code || e?.statusCode || "an error"}: ${e?.message ?? String(error)}`, { cause: error });
}

/** The engine's reader (and the CLI's writer) of one container prefix. */
export function openBlobStore(location: BlobLocation, options: BlobStoreOptions): BlobStoreReader & BlobStoreWriter {
  const container = blobServiceClient(location, options).getContainerClient(location.bucket);
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof FerryError) throw error;
      throw classifyBlobError(error, location.bucket);
    }
  };
  return {
    list: (prefix, signal) =>
      call(async () => {
        const out: BlobObjectInfo[] = [];
        for await (const item of container.listBlobsFlat({ prefix, abortSignal: signal })) out.push(toObjectInfo(item));
        return out;
      }),
    read: (key, signal) =>
      call(async () => {
        const answer = await container.getBlobClient(key).download(0, undefined, { abortSignal: signal });
        if (!answer.readableStreamBody) throw new FerryError("provider_error", `Blob Storage sent no body for '${key}'`);
        return answer.readableStreamBody as unknown as AsyncIterable<Uint8Array>;
      }),
    write: (key, body, { md5, signal }) =>
      call(async () => {
        await container.getBlockBlobClient(key).upload(body, body.length, { abortSignal: signal, blobHTTPHeaders: { blobContentMD5: Buffer.from(md5, "base64") } });
      }),
  };
}
