import { describe, expect, it } from "vitest";
import { classifyGcsError, storageOptions, toObjectInfo } from "./gcs-source.js";

describe("gcs source", () => {
  it("reads size, MD5, CRC-32C and ETag from an object's metadata", () => {
    expect(toObjectInfo({ name: "src/a.py", metadata: { size: "12", md5Hash: "bWQ1", crc32c: "AAAAAA==", etag: "CJ" } })).toEqual({ key: "src/a.py", size: 12, etag: "CJ", md5: "bWQ1", crc32c: "AAAAAA==" });
  });

  it("takes the emulator from the run's environment", () => {
    expect(storageOptions({ credentials: null, env: { STORAGE_EMULATOR_HOST: "127.0.0.1:9023" } })).toMatchObject({ apiEndpoint: "http://127.0.0.1:9023" });
    expect(storageOptions({ credentials: null, env: {}, ambient: true }).apiEndpoint).toBeUndefined();
    expect(() => storageOptions({ credentials: null, env: {} })).toThrow(/needs credentials/);
  });

  it("says a missing bucket and a refusal in plain words", () => {
    expect(classifyGcsError({ code: 404, message: "The specified bucket does not exist." }, "flows")).toMatchObject({ code: "provider_not_found", message: expect.stringMatching(/bucket 'flows' was not found/) });
    expect(classifyGcsError({ code: 403, message: "no" }, "flows")).toMatchObject({ code: "provider_auth", message: expect.stringMatching(/access to bucket 'flows' was denied/) });
  });
});
