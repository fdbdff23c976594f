import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { singleFileTar } from "./docker-image-builder.js";

describe("singleFileTar", () => {
  it("makes an archive tar reads back, with the file's content", () => {
    const dir = mkdtempSync(join(tmpdir(), "modal-local-tar-"));
    const archive = singleFileTar("Dockerfile", "FROM ferry-engine:latest\nRUN echo é\n");
    expect(archive.length % 512).toBe(0);
    writeFileSync(join(dir, "context.tar"), archive);
    const listed = spawnSync("tar", ["-xvf", "context.tar"], { cwd: dir, encoding: "utf8" });
    expect(listed.status).toBe(0);
    expect(readFileSync(join(dir, "Dockerfile"), "utf8")).toBe("FROM ferry-engine:latest\nRUN echo é\n");
  });
});
