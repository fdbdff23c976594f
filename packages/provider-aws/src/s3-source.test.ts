import { describe, expect, it } from "vitest";
import { classifyS3Error, md5FromEtag, s3ClientConfig, toObjectInfo } from "./s3-source.js";

describe("s3 source", () => {
  it("reads an ETag as the MD5 only when it is one (not a multipart upload's)", () => {
    expect(md5FromEtag('"5d41402abc4b2a76b9719d911017c592"')).toBe(Buffer.from("5d41402abc4b2a76b9719d911017c592", "hex").toString("base64"));
    expect(md5FromEtag('"5d41402abc4b2a76b9719d911017c592-3"')).toBeNull();
    expect(toObjectInfo({ Key: "a/b.py", Size: 5, ETag: '"5d41402abc4b2a76b9719d911017c592"' })).toMatchObject({ key: "a/b.py", size: 5, md5: expect.any(String) });
  });

  it("takes the endpoint from the run's environment, path-style, and the region from the credentials", () => {
    const config = s3ClientConfig({ credentials: { aws_access_key_id: "AKIA", aws_secret_access_key: "s", region_name: "eu-west-1" }, env: { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" } });
    expect(config).toMatchObject({ region: "eu-west-1", endpoint: "http://127.0.0.1:4566", forcePathStyle: true, credentials: { accessKeyId: "AKIA" } });
    expect(s3ClientConfig({ credentials: null, env: {}, ambient: true })).toEqual({ region: "us-east-1", followRegionRedirects: true });
    expect(() => s3ClientConfig({ credentials: null, env: {} })).toThrow(/needs credentials/);
  });

  it("says a missing bucket and a refused key in plain words", () => {
    expect(classifyS3Error({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } }, "flows")).toMatchObject({ code: "provider_not_found", message: expect.stringMatching(/bucket 'flows' was not found/) });
    expect(classifyS3Error({ name: "InvalidAccessKeyId", $metadata: { httpStatusCode: 403 } }, "flows")).toMatchObject({ code: "provider_auth", message: expect.stringMatching(/access to bucket 'flows' was denied/) });
  });
});
