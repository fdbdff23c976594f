import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FERRY_BIN } from "./cli-harness.js";

const home = mkdtempSync(join(tmpdir(), "ferry-pipe-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("ferry writing into a pipe its reader closes early (`ferry --help | head -1`)", () => {
  it("stops quietly with exit code 0, printing no stack", async () => {
    const child = spawn(process.execPath, [FERRY_BIN, "--help"], { env: { ...process.env, FERRY_HOME: home, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Read the first chunk, then close the read end, as `head -1` does.
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(first).toMatch(/^Usage: ferry/);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  });
});
