import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeProfiles } from "@ferry/client-node";
import { FerryClient, parseProjectFile } from "@ferry/core";
import { serviceCheck, type ServiceCheck } from "../../../test-support/services.js";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import {
  answerInput,
  chromiumPath,
  clickNotificationButton,
  codeServerCommand,
  expandTreeItem,
  openViewContainer,
  openWorkbench,
  outputChannelLog,
  outputChannelText,
  pickQuickItem,
  runCommand,
  screenshot,
  startCodeServer,
  treeItemLabels,
  waitForNotification,
  waitForTreeItem,
  type CodeServer,
  type Workbench,
} from "./harness.js";

/**
 * The extension in a real VS Code (code-server, driven by Playwright in Chromium) against a real
 * Ferry server on the embedded store, running managed runs on the process backend. The workspace is
 * a git repository with the examples' flows whose origin is a local bare repository, as a user's
 * clone of their GitHub repository would be.
 */
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, "..");
const repoRoot = resolve(packageDir, "../..");
const artifacts = resolve(packageDir, "test-results", "e2e");

/** Chromium and code-server, which the test drives; `bash .ci/run` installs both. */
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
// Both suites share the file's hooks, which vitest runs only when a suite of the file runs.
const needs = browserAndEditor();

let scratch: string;
let vscePackageWarnings: string[] = [];
let project: string;
let server: RunningServer;
let client: FerryClient;
let code: CodeServer;
let workbench: Workbench;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.email=e2e@example.com", "-c", "user.name=e2e", ...args], { cwd }).toString().trim();
}

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), "ferry-vscode-e2e-"));

  // The .vsix, packaged from the build as a user would install it.
  const vsix = join(scratch, "ferry-vscode.vsix");
  // `vsce package` as the README says, which must not warn (a missing field, a missing LICENSE…).
  const packaged = spawnSync(process.execPath, [join(repoRoot, "node_modules/@vscode/vsce/vsce"), "package", "--out", vsix], { cwd: packageDir, encoding: "utf8" });
  const packageOutput = `${packaged.stdout}\n${packaged.stderr}`;
  if (packaged.status !== 0) throw new Error(`vsce package failed:\n${packageOutput}`);
  vscePackageWarnings = packageOutput.split("\n").filter((line) => /WARNING/i.test(line));

  // A repository with the example flows, pushed to its origin.
  const origin = join(scratch, "origin.git");
  project = join(scratch, "flows-project");
  mkdirSync(project);
  cpSync(join(repoRoot, "examples/flows"), join(project, "flows"), { recursive: true });
  writeFileSync(
    join(project, "flows/slow.py"),
    'import time\n\n\ndef slow(seconds: int = 1):\n    print(f"sleeping {seconds}s", flush=True)\n    time.sleep(seconds)\n    return seconds\n',
  );
  git(scratch, "init", "-q", "--bare", "-b", "main", origin);
  git(project, "init", "-q", "-b", "main");
  git(project, "add", ".");
  git(project, "commit", "-qm", "flows");
  git(project, "remote", "add", "origin", origin);
  git(project, "push", "-q", "-u", "origin", "main");

  const home = join(scratch, "server-home");
  server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }));
  client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
  await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed", description: "runs on this machine" } });

  // An empty FERRY_HOME: the extension must not find the developer's own CLI profile.
  const userHome = join(scratch, "user-ferry-home");
  mkdirSync(userHome);
  code = await startCodeServer({ vsix, folder: project, dataDir: join(scratch, "code-server"), env: { FERRY_HOME: userHome } });
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

async function openFile(relativePath: string): Promise<void> {
  const page = workbench.page;
  await page.keyboard.press("Control+P");
  await page.keyboard.type(relativePath);
  await pickQuickItem(page, relativePath.split("/").pop()!);
  await page.locator(`.tab[aria-label*="${relativePath.split("/").pop()}"]`).first().waitFor({ timeout: 30_000 });
}

describe("the Ferry extension in code-server", needs, () => {
  it("is packaged by vsce without warnings", () => {
    expect(vscePackageWarnings).toEqual([]);
  });

  it("signs in with a key kept in secret storage", async () => {
    const page = workbench.page;
    await runCommand(page, "Ferry: Sign In");
    await answerInput(page, server.url);
    await answerInput(page, server.bootstrap!.apiKey);
    await waitForNotification(page, /signed in to workspace/);
    await openViewContainer(page, "Ferry");
    await waitForTreeItem(page, "Work Pools", /managed/);
    await screenshot(page, artifacts, "1-signed-in");
    // The key is in SecretStorage, not in the user's settings.
    // apiUrl is machine-scoped: code-server keeps it in the Machine settings, beside the User ones.
    const settings = ["User", "Machine"]
      .map((scope) => join(scratch, "code-server", "user", scope, "settings.json"))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file, "utf8"))
      .join("\n");
    expect(settings).toContain(server.url);
    expect(settings).not.toContain(server.bootstrap!.apiKey);
  });

  it("deploys the flow in the active editor, writing ferry.yaml", async () => {
    const page = workbench.page;
    await openFile("flows/hello.ts");
    await runCommand(page, "Ferry: Deploy This Flow");
    await pickQuickItem(page, "hello");
    await pickQuickItem(page, "managed");
    await answerInput(page, "editor");
    await waitForNotification(page, /deployed hello\/editor created/, { timeout: 60_000 });
    await screenshot(page, artifacts, "2-deployed");

    const file = parseProjectFile(readFileSync(join(project, "ferry.yaml"), "utf8"));
    expect(file.deployments).toEqual([
      expect.objectContaining({ name: "editor", flow_name: "hello", entrypoint: "flows/hello.ts:hello", work_pool: "managed" }),
    ]);
    const deployment = await client.resolveDeployment("hello/editor");
    expect(deployment.source).toMatchObject({ git_url: expect.stringContaining("origin.git"), branch: "main" });
    expect(deployment.parameter_schema).toMatchObject({ type: "object", properties: { name: { type: "string" } } });
    await expandTreeItem(page, "Work Pools", /^managed/);
    await waitForTreeItem(page, "Work Pools", "hello/editor");
  });

  it("runs it, follows its logs in the output channel, and shows COMPLETED in the view", async () => {
    const page = workbench.page;
    await clickNotificationButton(page, /deployed hello\/editor created/, "Run");
    // The deployment's parameter schema came from the flow's signature: `params: { name?: string }`.
    await answerInput(page, "VS Code", { prompt: /name/ });
    await pickQuickItem(page, "Run");
    await waitForTreeItem(page, "Recent Runs", /hello\/editor.*COMPLETED/, { timeout: 180_000 });
    await screenshot(page, artifacts, "3-completed-view");
    await waitForNotification(page, /hello\/editor .* COMPLETED/);

    const runs = await client.api.listFlowRuns({ query: {} });
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]!.state.type).toBe("COMPLETED");
    expect(runs.items[0]!.parameters).toEqual({ name: "VS Code" });
    expect(runs.items[0]!.result).toEqual({ greeting: "Hello, VS Code!" });

    // What the channel shows on screen, and (exactly, without scrolling) what was written to it.
    const shown = await outputChannelText(page, "Ferry Run Logs");
    expect(shown).toContain("Hello, VS Code!");
    const logs = await outputChannelLog(code, "Ferry Run Logs");
    expect(logs).toMatch(/── RUNNING ──/);
    expect(logs).toMatch(/INFO {4}\[flow\] Hello, VS Code!/);
    expect(logs).toMatch(/── COMPLETED ──/);
    expect(logs).toMatch(/ended COMPLETED\./);
    expect(logs).not.toContain(server.bootstrap!.apiKey);
    await screenshot(page, artifacts, "4-run-logs");
    expect((await treeItemLabels(page, "Work Pools")).join("\n")).toMatch(/hello\/editor.*COMPLETED/);
  });

  it("deploys from ferry.yaml, asks for parameters from the schema, and cancels a running run", async () => {
    const page = workbench.page;
    appendFileSync(
      join(project, "ferry.yaml"),
      [
        "  - name: wait",
        "    flow_name: slow",
        "    entrypoint: flows/slow.py:slow",
        "    work_pool: managed",
        "    parameters: { seconds: 1 }",
        "    parameter_schema:",
        "      type: object",
        "      properties: { seconds: { type: integer, description: how long to sleep } }",
        "",
      ].join("\n"),
    );
    await runCommand(page, "Ferry: Deploy From ferry.yaml");
    // Both deployments are picked to begin with: accept them as they are.
    await page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: "slow/wait" }).waitFor({ timeout: 30_000 });
    await page.keyboard.press("Enter");
    await waitForNotification(page, /deployed hello\/editor unchanged, slow\/wait created/, { timeout: 60_000 });

    await runCommand(page, "Ferry: Run Deployment");
    await pickQuickItem(page, "slow/wait");
    await answerInput(page, "1.5", { prompt: "seconds" }).then(
      () => expect.fail("a non-integer was accepted for an integer parameter"),
      (error: Error) => expect(error.message).toMatch(/whole number/),
    );
    await answerInput(page, "300");
    await pickQuickItem(page, "Run");
    await waitForTreeItem(page, "Recent Runs", /slow\/wait.*RUNNING/, { timeout: 120_000 });
    const [running] = (await client.api.listFlowRuns({ query: { state: "RUNNING" } })).items;
    expect(running?.parameters).toEqual({ seconds: 300 });
    await screenshot(page, artifacts, "5-running");

    await runCommand(page, "Ferry: Cancel Run");
    await pickQuickItem(page, "slow/wait");
    await page.locator(".monaco-dialog-box .monaco-button", { hasText: "Cancel Run" }).click();
    await waitForTreeItem(page, "Recent Runs", /slow\/wait.*CANCELLED/, { timeout: 120_000 });
    await waitForNotification(page, /slow\/wait .* was CANCELLED/);
    expect((await client.api.getFlowRun({ params: { id: running!.id } })).state.type).toBe("CANCELLED");
    await screenshot(page, artifacts, "6-cancelled");

    // The view as the extension's README shows it.
    await runCommand(page, "Notifications: Clear All Notifications");
    await screenshot(page, artifacts, "overview");
  });

  it("shows an error with its fix and an action: a second managed pool is past the tier, and Open Quota shows why", async () => {
    const page = workbench.page;
    await runCommand(page, "Ferry: Create Work Pool");
    await pickQuickItem(page, "ferry:managed");
    await answerInput(page, "second");
    await waitForNotification(page, /Create work pool failed: the free tier allows 1 managed work pool/);
    await screenshot(page, artifacts, "7-quota-error");
    await clickNotificationButton(page, /Create work pool failed/, "Open Quota");
    // The quota opens as a Markdown preview, a webview: find the frame that renders it.
    const deadline = Date.now() + 30_000;
    let preview = "";
    while (!preview.includes("Ferry quota") && Date.now() < deadline) {
      for (const frame of page.frames()) {
        const text = await frame.evaluate<string>("document.body ? document.body.innerText : ''").catch(() => "");
        if (text.includes("Ferry quota")) preview = text;
      }
      if (!preview) await page.waitForTimeout(250);
    }
    expect(preview).toContain("Ferry quota: default");
    expect(preview).toMatch(/Managed work pools\s+1\s+1/);
    await screenshot(page, artifacts, "8-quota");
    expect((await client.api.listWorkPools()).items.map((p) => p.name)).toEqual(["managed"]);
  });
});

describe("the Ferry extension with the CLI's profile", needs, () => {
  let second: CodeServer | undefined;
  let view: Workbench | undefined;

  afterAll(async () => {
    await view?.close();
    await second?.close();
  });

  it("uses the active profile of the CLI's profiles.json without signing in", async () => {
    const home = join(scratch, "cli-home");
    await writeProfiles(join(home, "profiles.json"), {
      active: "local",
      profiles: { local: { api_url: server.url, api_key: server.bootstrap!.apiKey } },
    });
    second = await startCodeServer({ vsix: join(scratch, "ferry-vscode.vsix"), folder: project, dataDir: join(scratch, "code-server-profile"), env: { FERRY_HOME: home } });
    view = await openWorkbench(second.url, { artifactsDir: artifacts, extensionViewContainer: "Ferry" });
    await openViewContainer(view.page, "Ferry");
    await expandTreeItem(view.page, "Work Pools", /^managed/);
    await waitForTreeItem(view.page, "Work Pools", /hello\/editor.*COMPLETED/);
    await waitForTreeItem(view.page, "Recent Runs", /slow\/wait.*CANCELLED/);
    await screenshot(view.page, artifacts, "9-profile");
  });
});
