import { describe, expect, it } from "vitest";
import { blobKeyToRelativePath, isBlobUrl, parseSourceUrl } from "./sources.js";

describe("parseSourceUrl", () => {
  it("leaves git URLs to the git checks", () => {
    expect(parseSourceUrl("https://github.com/acme/flows.git")).toEqual({ kind: "git", url: "https://github.com/acme/flows.git" });
    expect(parseSourceUrl("git@host:acme/flows.git").kind).toBe("git");
    expect(isBlobUrl("http://127.0.0.1:8080/acme/flows.git")).toBe(false);
  });

  it("reads bucket and prefix of s3:// and gs:// URLs, and a .tar.gz prefix as a tarball", () => {
    expect(parseSourceUrl("s3://my-bucket/app/flows")).toMatchObject({ kind: "blob", scheme: "s3", bucket: "my-bucket", prefix: "app/flows", tarball: false, endpoint: null });
    expect(parseSourceUrl("gs://my.bucket")).toMatchObject({ scheme: "gs", bucket: "my.bucket", prefix: "" });
    expect(parseSourceUrl("S3://b-1/x/code.tar.gz")).toMatchObject({ scheme: "s3", prefix: "x/code.tar.gz", tarball: true });
    expect(parseSourceUrl("gs://b-1/code.tgz")).toMatchObject({ tarball: true });
  });

  it("reads an account's blob URL and the emulator's loopback form", () => {
    expect(parseSourceUrl("https://acct01.blob.core.windows.net/flows/app/")).toMatchObject({
      scheme: "azblob", account: "acct01", endpoint: "https://acct01.blob.core.windows.net", bucket: "flows", prefix: "app/",
    });
    expect(parseSourceUrl("http://127.0.0.1:10000/devstoreaccount1/flows/app")).toMatchObject({
      scheme: "azblob", account: "devstoreaccount1", endpoint: "http://127.0.0.1:10000/devstoreaccount1", bucket: "flows", prefix: "app",
    });
  });

  it("refuses malformed blob URLs, saying which form to use", () => {
    expect(() => parseSourceUrl("s3://Bad_Bucket/x")).toThrow(/not a bucket name.*s3:\/\/BUCKET\/PREFIX/);
    expect(() => parseSourceUrl("s3://bucket/a/../b")).toThrow(/'\.\.'/);
    expect(() => parseSourceUrl("gs://bucket/x?y=1")).toThrow(/query/);
    expect(() => parseSourceUrl("https://acct01.blob.core.windows.net/Flows/x")).toThrow(/not a container name/);
  });
});

describe("blobKeyToRelativePath", () => {
  it("takes the prefix off and keeps the key's folders", () => {
    expect(blobKeyToRelativePath("app/flows/x.py", "app/")).toBe("flows/x.py");
    expect(blobKeyToRelativePath("flows/x.py", "")).toBe("flows/x.py");
  });

  it("skips folder markers and refuses keys that would leave the folder", () => {
    expect(blobKeyToRelativePath("app/flows/", "app/")).toBe("folder");
    expect(blobKeyToRelativePath("app/../x.py", "app/")).toBeNull();
    expect(blobKeyToRelativePath("app//etc/passwd", "app/")).toBeNull();
    expect(blobKeyToRelativePath("app/a/./b", "app/")).toBeNull();
    expect(blobKeyToRelativePath("app/C:/x", "app/")).toBeNull();
    expect(blobKeyToRelativePath("app/a\\..\\b", "app/")).toBeNull();
  });
});
