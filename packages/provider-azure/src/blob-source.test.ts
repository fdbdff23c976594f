import { describe, expect, it } from "vitest";
import { parseSourceUrl, type BlobLocation } from "@ferry/core";
import { blobServiceClient, classifyBlobError, toObjectInfo } from "./blob-source.js";

describe("azure blob source", () => {
  it("reads size, Content-MD5 and ETag from a listing's item", () => {
    const md5 = Buffer.from("5d41402abc4b2a76b9719d911017c592", "hex");
    expect(toObjectInfo({ name: "code/a.py", properties: { contentLength: 5, contentMD5: md5, etag: "0x8D", lastModified: new Date() } })).toEqual({ key: "code/a.py", size: 5, etag: "0x8D", md5: md5.toString("base64") });
  });

  it("uses the emulator's development account for its loopback form only, and wants credentials for an account", () => {
    const emulator = parseSourceUrl("http://127.0.0.1:10000/devstoreaccount1/flows/code") as BlobLocation;
    expect(blobServiceClient(emulator, { credentials: null, env: {} }).accountName).toBe("devstoreaccount1");
    const account = parseSourceUrl("https://acct01.blob.core.windows.net/flows/code") as BlobLocation;
    expect(() => blobServiceClient(account, { credentials: null, env: {} })).toThrow(/needs credentials/);
  });

  it("says a missing container and a refusal in plain words", () => {
    expect(classifyBlobError({ statusCode: 404, code: "ContainerNotFound" }, "flows")).toMatchObject({ code: "provider_not_found", message: expect.stringMatching(/container 'flows' was not found/) });
    expect(classifyBlobError({ statusCode: 403, code: "AuthorizationFailure" }, "flows")).toMatchObject({ code: "provider_auth" });
  });
});
