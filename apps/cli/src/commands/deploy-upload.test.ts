import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseSourceUrl, type BlobLocation } from "@ferry/core";
import { filesToUpload, uploadKey } from "./deploy-upload.js";

let root: string | null = null;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = null;
});

const tree = (files: Record<string, string>) => {
  root = mkdtempSync(join(tmpdir(), "ferry-upload-unit-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
};

describe("filesToUpload", () => {
  it("leaves out version control, dependencies, caches and what .gitignore and .ferryignore exclude; .ferryignore may take a file back", async () => {
    const dir = tree({
      "flows/a.py": "", "flows/__pycache__/a.cpython-312.pyc": "", ".git/HEAD": "", "node_modules/x/index.js": "",
      ".gitignore": "*.log\ndata/\n", ".ferryignore": "secrets.env\n!keep.log\n",
      "run.log": "", "keep.log": "", "data/big.csv": "", "secrets.env": "", "README.md": "",
    });
    expect(await filesToUpload(dir)).toEqual([".ferryignore", ".gitignore", "README.md", "flows/a.py", "keep.log"]);
  });
});

describe("uploadKey", () => {
  it("puts files below the prefix as a folder", () => {
    expect(uploadKey(parseSourceUrl("s3://bkt/app") as BlobLocation, "flows/a.py")).toBe("app/flows/a.py");
    expect(uploadKey(parseSourceUrl("s3://bkt/app/") as BlobLocation, "a.py")).toBe("app/a.py");
    expect(uploadKey(parseSourceUrl("gs://bkt") as BlobLocation, "a.py")).toBe("a.py");
  });
});
