import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAjv, FerryClient } from "@ferry/core";
import { writeProfiles } from "@ferry/client-node";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { parse } from "yaml";
import { serviceCheck, type ServiceCheck } from "../../../test-support/services.js";
import {
  chromiumPath,
  codeServerCommand,
  openViewContainer,
  openWorkbench,
  pickQuickItem,
  runCommand,
  screenshot,
  startCodeServer,
  waitForTreeItem,
  type CodeServer,
  type Workbench,
} from "./harness.js";

/**
 * The packaged extension in a folder VS Code does not trust (Restricted Mode): the views still show
 * the server's pools, but every command that deploys, runs, cancels or creates is gone, and the
 * folder's own settings cannot point the extension at another server. Also: ferry.yaml's schema, as
 * the .vsix ships it, in the editor's JSON support (jsonValidation) and against a bad ferry.yaml.
 */
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, "..");
const repoRoot = resolve(packageDir, "../..");
const artifacts = resolve(packageDir, "test-results", "e2e-restricted");

function browserAndEditor(): ServiceCheck {
  const problems: string[] = [];
  try {
    codeServerCommand();
  } catch (error) {
    problems.push(`code-server: ${(error as Error).message}`);
  }
  if (!existsSync(chromiumPath())) problems.push(`Chromium: not at ${chromiumPath()}; apt-get install -y chromium (or set FERRY_CHROMIUM)`);
  return serviceCheck(problems.length ? `${problems.join("; ")} (bash .ci/run installs both)` : null);
}
const needs = browserAndEditor();

const BAD_PROJECT = "deployments:\n  - name: nightly\n    entrypoint: flows/etl.py:etl\n    work_pool: Not A Pool\n    paused: maybe\n";

let scratch: string;
let project: string;
let server: RunningServer;
let code: CodeServer;
let workbench: Workbench;

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), "ferry-vscode-restricted-"));
  const vsix = join(scratch, "ferry-vscode.vsix");
  const packaged = spawnSync(process.execPath, [join(repoRoot, "node_modules/@vscode/vsce/vsce"), "package", "--out", vsix], { cwd: packageDir, encoding: "utf8" });
  if (packaged.status !== 0) throw new Error(`vsce package failed:\n${packaged.stdout}\n${packaged.stderr}`);
  spawnSync("unzip", ["-q", "-o", vsix, "-d", join(scratch, "vsix")]);

  server = await startServer(parseServerConfig({}, { home: join(scratch, "server-home"), port: 0, databaseUrl: null, logLevel: "warn", providers: [] }));
  const client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });

  // The user's CLI profile names the real server; the untrusted folder's settings name another.
  const userHome = join(scratch, "user-ferry-home");
  await writeProfiles(join(userHome, "profiles.json"), { active: "default", profiles: { default: { api_url: server.url, api_key: server.bootstrap!.apiKey } } });
  project = join(scratch, "untrusted-project");
  mkdirSync(join(project, ".vscode"), { recursive: true });
  writeFileSync(join(project, ".vscode", "settings.json"), JSON.stringify({ "ferry.apiUrl": "http://127.0.0.1:9/steal", "ferry.cliPath": "/tmp/evil" }));
  writeFileSync(join(project, "ferry.yaml"), BAD_PROJECT);
  writeFileSync(join(project, "ferry.json"), JSON.stringify(parse(BAD_PROJECT), null, 2));

  code = await startCodeServer({ vsix, folder: project, dataDir: join(scratch, "code-server"), env: { FERRY_HOME: userHome }, workspaceTrust: "restricted" });
  workbench = await openWorkbench(code.url, { artifactsDir: artifacts, extensionViewContainer: "Ferry" });
});

afterAll(async () => {
  if (workbench) {
    await screenshot(workbench.page, artifacts, "final").catch(() => undefined);
    await workbench.close();
  }
  await code?.close();
  await server?.close();
  if (scratch && existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
});

describe("the Ferry extension in Restricted Mode", needs, () => {
  it("shows the server's pools read-only, from the user's profile, not the folder's settings", async () => {
    const page = workbench.page;
    await openViewContainer(page, "Ferry");
    await waitForTreeItem(page, "Work Pools", /managed/, { timeout: 60_000 });
    await page.getByText("Restricted Mode: the Ferry views are read-only").first().waitFor({ timeout: 30_000 });
    // The Recent Runs welcome offers trust, and no Deploy or Run button.
    const buttons = page.locator(".welcome-view-content").getByRole("button");
    await buttons.filter({ hasText: "Manage Workspace Trust" }).first().waitFor({ timeout: 30_000 });
    expect(await buttons.filter({ hasText: /Deploy This Flow|Run Deployment|Create Work Pool/ }).count()).toBe(0);
    await screenshot(page, artifacts, "1-restricted-views");
  });

  it("offers no command that deploys, runs, cancels or creates", async () => {
    const page = workbench.page;
    for (const title of ["Ferry: Deploy From ferry.yaml", "Ferry: Run Deployment", "Ferry: Create Work Pool"]) {
      await expect(runCommand(page, title, { timeout: 5_000 })).rejects.toThrow(/no command titled/);
    }
    await page.keyboard.press("Escape");
    // Read-only commands stay.
    await runCommand(page, "Ferry: Refresh");
  });

  it("marks a bad ferry.json with the schema's errors in the editor (jsonValidation)", async () => {
    const page = workbench.page;
    await page.keyboard.press("Control+P");
    await page.keyboard.type("ferry.json");
    await pickQuickItem(page, "ferry.json");
    await page.locator('.tab[aria-label*="ferry.json"]').first().waitFor({ timeout: 30_000 });
    // VS Code's JSON support shows schema violations as warnings: work_pool's pattern and paused's type.
    const marks = page.locator(".view-overlays .squiggly-warning, .view-overlays .squiggly-error");
    await marks.first().waitFor({ timeout: 90_000 });
    await screenshot(page, artifacts, "2-schema-diagnostics");
    await expect.poll(() => marks.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  });

  it("ships ferry.yaml's schema in the .vsix, which refuses the bad ferry.yaml (the YAML extension is not installed offline)", () => {
    const schema = JSON.parse(readFileSync(join(scratch, "vsix", "extension", "dist", "ferry.schema.json"), "utf8")) as object;
    const validate = createAjv().compile(schema);
    expect(validate(parse(BAD_PROJECT))).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toEqual(expect.arrayContaining(["/deployments/0/paused"]));
    expect(paths.some((p) => p.startsWith("/deployments/0/work_pool"))).toBe(true);
  });
});
