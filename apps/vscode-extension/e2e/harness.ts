// End-to-end harness: a real VS Code (code-server, the npm package, installed outside the repo by
// `bash scripts/install-code-server.sh`) with the extension installed from its .vsix, driven through
// Debian's Chromium with playwright-core. General helpers only; the tests live in e2e/*.e2e.test.ts.
//
// The selectors below are VS Code 1.100 workbench DOM classes (code-server 4.100.3). They are not an API:
// a code-server upgrade may need them adjusted. They are collected in `SEL` to make that easy.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Locator, Page } from "playwright-core";

export const CODE_SERVER_VERSION = "4.100.3";
const INSTALL_HINT = "bash scripts/install-code-server.sh";

const CHROMIUM = process.env.FERRY_CHROMIUM ?? "/usr/bin/chromium";

/** The Chromium the workbench opens in: FERRY_CHROMIUM, else Debian's. */
export function chromiumPath(): string {
  return CHROMIUM;
}
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const DEFAULT_TIMEOUT = 30_000;

// The functions given to page.evaluate/waitForFunction run in the browser. This package is typechecked
// without the DOM lib, so they are typed with this much of the DOM (module-local, not a global).
interface DomElement {
  textContent: string | null;
  offsetParent: unknown;
  offsetHeight: number;
  style: { display: string; top: string };
  value: string;
  placeholder: string;
  type: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
}
declare const document: { querySelector(selector: string): DomElement | null };

/** Workbench DOM selectors (VS Code 1.100). */
const SEL = {
  workbench: ".monaco-workbench",
  activityBar: ".part.activitybar",
  activityItem: ".part.activitybar .action-item",
  sideBar: ".part.sidebar",
  sideBarTitle: ".part.sidebar .composite.title .title-label h2",
  pane: ".part.sidebar .pane",
  paneHeaderTitle: ".pane-header .title",
  listRow: ".monaco-list-row",
  rowLabel: ".label-name",
  rowDescription: ".label-description",
  quickInput: ".quick-input-widget",
  quickInputBox: ".quick-input-widget .quick-input-box input",
  quickInputBoxError: ".quick-input-widget .quick-input-box .monaco-inputbox.error",
  quickInputList: ".quick-input-widget .quick-input-list",
  quickInputMessage: ".quick-input-widget .quick-input-message",
  quickInputTitle: ".quick-input-widget .quick-input-title",
  notification: ".notification-list-item",
  notificationMessage: ".notification-list-item-message",
  notificationButton: ".notification-list-item-buttons-container .monaco-button",
  notificationsCenter: ".notifications-center",
  notificationsBell: "#status\\.notifications",
  outputEditor: ".part.panel .output-view .monaco-editor",
  viewLines: ".view-lines",
  linesContent: ".lines-content",
} as const;

// ---------------------------------------------------------------------------------------------------
// code-server

/** How to start the installed code-server: its own Node.js and its entry script. */
export interface CodeServerCommand {
  /** The Node.js code-server runs on (install-code-server.sh pins it: code-server 4.100.3 needs Node 20). */
  node: string;
  /** code-server's entry script (node_modules/code-server/out/node/entry.js). */
  entry: string;
}

/**
 * The installed code-server (FERRY_CODE_SERVER_DIR, else ~/.cache/ferry/code-server-<v>), read from the
 * marker file the install script writes last. code-server is started with the Node.js named there, not
 * the `node` first on PATH (the project's Node.js 24, which code-server's native modules were not built for).
 */
export function codeServerCommand(): CodeServerCommand {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const dir = process.env.FERRY_CODE_SERVER_DIR || join(cache, "ferry", `code-server-${CODE_SERVER_VERSION}`);
  const notInstalled = (why: string) =>
    new Error(
      `code-server ${CODE_SERVER_VERSION} is not installed in ${dir} (${why}): run \`${INSTALL_HINT}\` (from the repo root) first` +
        " (to install elsewhere set FERRY_CODE_SERVER_DIR for both: under turbo, XDG_CACHE_HOME does not reach the tests)",
    );
  let marker: Partial<CodeServerCommand & { codeServer: string }>;
  try {
    marker = JSON.parse(readFileSync(join(dir, ".ferry-install-complete"), "utf8")) as typeof marker;
  } catch (error) {
    throw notInstalled(`no readable .ferry-install-complete: ${(error as Error).message}`);
  }
  if (marker.codeServer !== CODE_SERVER_VERSION) throw notInstalled(`the install is of code-server ${String(marker.codeServer)}`);
  if (!marker.node || !existsSync(marker.node)) throw notInstalled(`its Node.js ${String(marker.node)} is missing`);
  if (!marker.entry || !existsSync(marker.entry)) throw notInstalled(`its entry script ${String(marker.entry)} is missing`);
  return { node: marker.node, entry: marker.entry };
}

export interface CodeServer {
  /** Base URL of the workbench, with the folder to open, e.g. http://127.0.0.1:41234/?folder=/tmp/ws */
  url: string;
  /** Everything code-server printed so far (stdout and stderr). */
  logs(): string;
  /** Directory of VS Code's own logs (window, extension host, output channels as files). */
  logsDir: string;
  /** Stops code-server and everything it started (extension host, pty host...). */
  close(): Promise<void>;
}

export interface StartCodeServerOptions {
  /** The .vsix to install (absolute, or relative to the current directory). */
  vsix: string;
  /** The folder to open as the workspace. */
  folder: string;
  /** Scratch directory for this instance: user data in dataDir/user, extensions in dataDir/extensions. */
  dataDir: string;
  /** User settings added to (and overriding) the quiet defaults. */
  settings?: Record<string, unknown>;
  /** Added to the environment of code-server and so of the extension host. */
  env?: Record<string, string>;
  /** How long to wait until code-server serves (default 60 s). */
  timeout?: number;
  /** "restricted": Workspace Trust on and the folder not trusted (Restricted Mode); default off. */
  workspaceTrust?: "disabled" | "restricted";
}

const QUIET_SETTINGS: Record<string, unknown> = {
  "telemetry.telemetryLevel": "off",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "update.mode": "none",
  "update.showReleaseNotes": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "git.openRepositoryInParentFolders": "never",
  "editor.accessibilitySupport": "off",
  "chat.commandCenter.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "files.hotExit": "off",
  // Output channels use the Log language; unwrapped, one channel line is one line of outputChannelText.
  "[Log]": { "editor.wordWrap": "off" },
};

/** Workspace Trust on, without its start-up dialog: a folder never trusted opens in Restricted Mode. */
const RESTRICTED_SETTINGS: Record<string, unknown> = {
  "security.workspace.trust.enabled": true,
  "security.workspace.trust.startupPrompt": "never",
  "security.workspace.trust.banner": "never",
  "security.workspace.trust.untrustedFiles": "open",
  "security.workspace.trust.emptyWindow": false,
};

/**
 * Installs the .vsix into a fresh data dir and starts code-server on a free 127.0.0.1 port with
 * `folder` open. Resolves once it answers HTTP; the workbench itself loads in the browser (openWorkbench).
 */
export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  const codeServer = codeServerCommand();
  const dataDir = resolve(opts.dataDir);
  const userDataDir = join(dataDir, "user");
  const extensionsDir = join(dataDir, "extensions");
  const configFile = join(dataDir, "config.yaml");
  await mkdir(join(userDataDir, "User"), { recursive: true });
  await mkdir(extensionsDir, { recursive: true });
  // Our own config file, so code-server does not write or read ~/.config/code-server/config.yaml.
  await writeFile(configFile, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
  await writeFile(
    join(userDataDir, "User", "settings.json"),
    JSON.stringify({ ...QUIET_SETTINGS, ...(opts.workspaceTrust === "restricted" ? RESTRICTED_SETTINGS : {}), ...opts.settings }, null, 2),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  // Keep the test runner's own variables out of the editor.
  delete env.NODE_OPTIONS;
  delete env.VSCODE_IPC_HOOK_CLI;
  const common = ["--config", configFile, "--user-data-dir", userDataDir, "--extensions-dir", extensionsDir];

  const install = await runToEnd(codeServer.node, [codeServer.entry, ...common, "--force", "--install-extension", resolve(opts.vsix)], env, 120_000);
  if (install.code !== 0 || !/successfully installed/i.test(install.output)) {
    throw new Error(`code-server --install-extension ${opts.vsix} failed (exit ${install.code}):\n${install.output}`);
  }

  const args = [
    codeServer.entry,
    ...common,
    "--bind-addr", "127.0.0.1:0",
    "--auth", "none",
    "--disable-telemetry",
    "--disable-update-check",
    ...(opts.workspaceTrust === "restricted" ? [] : ["--disable-workspace-trust"]),
    "--disable-getting-started-override",
    "--ignore-last-opened",
    resolve(opts.folder),
  ];
  // detached: own process group, so close() can stop the whole tree.
  const child = spawn(codeServer.node, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  if (child.pid !== undefined) liveGroups.add(child.pid);
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const close = async () => {
    await killTree(child, exited);
    if (child.pid !== undefined) liveGroups.delete(child.pid);
  };

  try {
    const deadline = Date.now() + (opts.timeout ?? 60_000);
    let base: string | undefined;
    while (!base) {
      const match = /HTTP server listening on (http:\/\/[^\s]+?)\/?\s/.exec(output);
      if (match?.[1]) base = match[1];
      else if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} before listening`);
      else if (Date.now() > deadline) throw new Error("timed out waiting for code-server to listen");
      else await sleep(100);
    }
    while (!(await healthy(base))) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${base}/healthz`);
      await sleep(200);
    }
    return {
      url: `${base}/?folder=${encodeURIComponent(resolve(opts.folder))}`,
      logs: () => output,
      logsDir: join(userDataDir, "logs"),
      close,
    };
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}\n--- code-server output ---\n${output}`, { cause: error });
  }
}

async function healthy(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${cmd} ${args.join(" ")} timed out after ${timeout} ms:\n${output}`));
    }, timeout);
    child.once("error", fail);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

async function killTree(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    signalGroup(pid, "SIGKILL"); // stragglers of an exited leader
    return;
  }
  signalGroup(pid, "SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  // The leader may be gone while children (extension host) linger: always sweep the group.
  signalGroup(pid, "SIGKILL");
  if (!stopped) await Promise.race([exited, sleep(2_000)]);
}

// Process groups of running code-servers, killed if the test process exits without closing them.
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const pid of liveGroups) signalGroup(pid, "SIGKILL");
});

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------------
// Browser

export interface Workbench {
  page: Page;
  /** Closes the browser, writes the page's console messages to artifactsDir/browser-console.log. */
  close(): Promise<void>;
}

export interface OpenWorkbenchOptions {
  /** Where screenshots and the browser console log go. */
  artifactsDir: string;
  /** How long to wait for the workbench (default 90 s). */
  timeout?: number;
  /**
   * The title of a view container the extension under test contributes to the activity bar: the
   * workbench counts as usable only once it shows, i.e. once the extensions are scanned and their
   * commands are in the palette (on a cold machine that can take longer than a command's wait).
   */
  extensionViewContainer?: string;
}

/** Launches Debian's Chromium, opens the workbench at `url` and waits until it is usable. */
export async function openWorkbench(url: string, opts: OpenWorkbenchOptions): Promise<Workbench> {
  await mkdir(opts.artifactsDir, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), "ferry-e2e-chromium-"));
  let context: BrowserContext | undefined;
  const consoleLines: string[] = [];
  const close = async () => {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
    await writeFile(join(opts.artifactsDir, "browser-console.log"), consoleLines.join("\n") + "\n").catch(() => undefined);
  };
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1400, height: 900 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(DEFAULT_TIMEOUT);
    page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
    const timeout = opts.timeout ?? 90_000;
    await page.goto(url, { waitUntil: "domcontentloaded", timeout });
    await waitFor(page.locator(SEL.workbench).first(), "the workbench (.monaco-workbench)", timeout);
    await waitFor(page.locator(SEL.activityBar).first(), "the activity bar", timeout);
    await waitFor(page.locator(".part.statusbar").first(), "the status bar", timeout);
    if (opts.extensionViewContainer) {
      const title = cssString(opts.extensionViewContainer);
      const item = page.locator(SEL.activityItem).filter({ has: page.locator(`a.action-label[aria-label="${title}"], a.action-label[aria-label^="${title} ("]`) });
      await waitFor(item.first(), `the activity bar item "${opts.extensionViewContainer}" (the extension's contributions)`, timeout);
    }
    await dismissStartupNoise(page);
    return { page, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// Notifications VS Code or code-server may show by itself at start-up. Anything else (e.g. the
// extension's own messages) is left alone for the test to see.
const NOISE = [
  /recommend/i,
  /would you like to install/i,
  /do you want to install/i,
  /release notes/i,
  /new version of code-server/i,
  /git not found/i,
  /telemetry/i,
];

async function dismissStartupNoise(page: Page): Promise<void> {
  await sleep(500);
  const items = page.locator(SEL.notification);
  for (let i = (await items.count()) - 1; i >= 0; i--) {
    const item = items.nth(i);
    const text = (await item.locator(SEL.notificationMessage).textContent().catch(() => null)) ?? "";
    if (NOISE.some((re) => re.test(text))) {
      await item.hover().catch(() => undefined);
      await item.locator(".codicon-notifications-clear").first().click({ timeout: 2_000 }).catch(() => undefined);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Command palette and quick input

/** Runs a command by its palette title, e.g. "Ferry: Sign In" (category and title, as shown). */
export async function runCommand(page: Page, title: string, opts: { timeout?: number } = {}): Promise<void> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const deadline = Date.now() + timeout;
  const input = page.locator(SEL.quickInputBox);
  const row = quickRows(page).filter({ has: page.locator(SEL.rowLabel, { hasText: exactly(title) }) }).first();
  // The palette lists the commands whose `when` holds at the moment it opens, and context keys (editorIsOpen,
  // ferry.signedIn) are updated asynchronously: on a loaded machine the palette can open a moment before the
  // key flips. So a command missing from the list is looked for again in a freshly opened palette.
  for (;;) {
    await closeQuickInput(page);
    await page.keyboard.press("F1");
    // F1 can be swallowed while focus is somewhere odd (a webview, a just-closed widget): try once more.
    if (!(await input.waitFor({ state: "visible", timeout: Math.min(5_000, timeout) }).then(() => true, () => false))) {
      await page.keyboard.press("Control+Shift+P");
      await waitFor(input, "the command palette (F1, then Ctrl+Shift+P)", timeout);
    }
    await input.fill(`>${title}`);
    const left = deadline - Date.now();
    if (await row.waitFor({ state: "visible", timeout: Math.max(1_000, Math.min(5_000, left)) }).then(() => true, () => false)) break;
    if (Date.now() >= deadline) {
      throw new Error(`command palette: no command titled "${title}" within ${timeout} ms; shown: ${JSON.stringify(await visibleQuickLabels(page))}`);
    }
  }
  await row.click();
  await waitForQuickInputGone(page, `command palette still open after choosing "${title}"`, 5_000);
}

/**
 * Waits for the open quick pick to show an item with this label (exact text, or a RegExp tested against
 * the label) and clicks it. The list is virtualised: for long lists pass `filter: true` to type the label
 * into the box first (only for string labels; fine for showQuickPick's default label matching).
 */
export async function pickQuickItem(page: Page, label: string | RegExp, opts: { timeout?: number; filter?: boolean } = {}): Promise<void> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const pattern = typeof label === "string" ? exactly(label) : label;
  if (opts.filter && typeof label === "string") {
    await waitFor(page.locator(SEL.quickInputBox), "a quick pick", timeout);
    await page.locator(SEL.quickInputBox).fill(label);
  }
  const row = quickRows(page).filter({ has: page.locator(SEL.rowLabel, { hasText: pattern }) }).first();
  try {
    await row.waitFor({ state: "visible", timeout });
  } catch {
    throw new Error(`quick pick: no item ${String(label)} within ${timeout} ms; shown: ${JSON.stringify(await visibleQuickLabels(page))}`);
  }
  await row.click();
}

/**
 * Answers the open input box (window.showInputBox, including password boxes): `text` replaces the value,
 * null keeps the prefilled one; then Enter. With `prompt`, first waits for the box whose title, prompt or
 * placeholder matches (a box showing a validation error matches any prompt, since the error replaces
 * the prompt). Throws with the validation message when the box refuses the value.
 */
export async function answerInput(
  page: Page,
  text: string | null,
  opts: { prompt?: string | RegExp; timeout?: number } = {},
): Promise<void> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const what = opts.prompt === undefined ? "an input box" : `an input box with prompt ${String(opts.prompt)}`;
  const handle = await page
    .waitForFunction(
      ([sel, prompt]) => {
        const widget = document.querySelector(sel.quickInput);
        const input = document.querySelector(sel.quickInputBox);
        const list = document.querySelector(sel.quickInputList);
        if (!widget || !input || widget.style.display === "none" || widget.offsetParent === null) return false;
        if (list && list.offsetHeight > 0) return false; // a quick pick, not an input box
        if (input.value.startsWith(">")) return false; // the command palette
        if (prompt && !document.querySelector(sel.quickInputBoxError)) {
          const text = [
            widget.querySelector(sel.quickInputTitle)?.textContent,
            document.querySelector(sel.quickInputMessage)?.textContent,
            input.placeholder,
          ].join("\n");
          if (!new RegExp(prompt.source, prompt.flags).test(text)) return false;
        }
        return true;
      },
      [SEL, opts.prompt === undefined ? null : toPattern(opts.prompt)] as const,
      { timeout, polling: 100 },
    )
    .catch(async () => {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; quick input shows: ${await quickInputState(page)}`);
    });
  await handle.dispose();
  const input = page.locator(SEL.quickInputBox);
  if (text !== null) await input.fill(text);
  const before = await quickInputState(page);
  await input.press("Enter");
  // Done when the box closes or another one replaces it. A refused value keeps the box open, marked
  // as an error (validateInput runs in the extension host, so the mark may come a moment later).
  const deadline = Date.now() + Math.min(timeout, 10_000);
  let errorSince: number | undefined;
  while (Date.now() < deadline) {
    await sleep(100);
    if (!(await input.isVisible())) return;
    const error = await page.locator(SEL.quickInputBoxError).isVisible();
    if (!error && (await quickInputState(page)) !== before) return;
    errorSince = error ? (errorSince ?? Date.now()) : undefined;
    if (errorSince !== undefined && Date.now() - errorSince > 1_500) break;
  }
  const message = ((await page.locator(SEL.quickInputMessage).textContent().catch(() => null)) ?? "").trim();
  throw new Error(
    `input box did not accept ${text === null ? "its prefilled value" : JSON.stringify(text)}: ${message || "(no message)"}`,
  );
}

function quickRows(page: Page): Locator {
  return page.locator(`${SEL.quickInputList} ${SEL.listRow}`);
}

async function visibleQuickLabels(page: Page): Promise<string[]> {
  return page.locator(`${SEL.quickInputList} ${SEL.listRow} ${SEL.rowLabel}`).allTextContents().catch(() => []);
}

async function quickInputState(page: Page): Promise<string> {
  return page
    .evaluate((sel) => {
      const widget = document.querySelector(sel.quickInput);
      const input = document.querySelector(sel.quickInputBox);
      if (!widget || !input || widget.style.display === "none") return "(closed)";
      return JSON.stringify({
        title: widget.querySelector(sel.quickInputTitle)?.textContent ?? "",
        message: document.querySelector(sel.quickInputMessage)?.textContent ?? "",
        placeholder: input.placeholder,
        type: input.type,
        value: input.value,
      });
    }, SEL)
    .catch(() => "(unknown)");
}

async function closeQuickInput(page: Page): Promise<void> {
  if (await page.locator(SEL.quickInputBox).isVisible()) {
    await page.keyboard.press("Escape");
    await waitForQuickInputGone(page, "could not close the open quick input", 5_000);
  }
}

async function waitForQuickInputGone(page: Page, message: string, timeout: number): Promise<void> {
  // Another quick input may legitimately replace it (a command that asks something): only the
  // palette's own ">" prefix means it is still the palette.
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const visible = await page.locator(SEL.quickInputBox).isVisible();
    if (!visible) return;
    const value = await page.locator(SEL.quickInputBox).inputValue().catch(() => "");
    if (!value.startsWith(">")) return;
    await sleep(100);
  }
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------------
// Notifications

/**
 * Waits for a notification whose message contains `text` (case-insensitive) or matches the RegExp, and
 * returns it. Toasts without buttons hide after a while (and a notification that arrives while the
 * notification centre is open never toasts), so every few seconds this also looks in the notification
 * centre, closing it again when the notification is not there. A notification found in the centre is
 * returned with the centre left open.
 */
export async function waitForNotification(page: Page, text: string | RegExp, opts: { timeout?: number } = {}): Promise<Locator> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const deadline = Date.now() + timeout;
  const item = page.locator(SEL.notification).filter({ has: page.locator(SEL.notificationMessage, { hasText: text }) }).first();
  const center = page.locator(SEL.notificationsCenter);
  const seen = (ms: number) => item.waitFor({ state: "visible", timeout: Math.max(1, ms) }).then(() => true, () => false);
  let probe = Date.now() + Math.min(3_000, timeout / 2);
  for (;;) {
    if (await seen(Math.min(probe, deadline) - Date.now())) return item;
    const wasOpen = await center.isVisible().catch(() => false);
    if (!wasOpen) await page.locator(SEL.notificationsBell).click({ timeout: 2_000 }).catch(() => undefined);
    if (await seen(500)) return item;
    if (!wasOpen && (await center.isVisible().catch(() => false))) {
      await page.locator(SEL.notificationsBell).click({ timeout: 2_000 }).catch(() => undefined);
    }
    if (Date.now() >= deadline) break;
    probe = Date.now() + 5_000;
  }
  // Say what there is: open the centre (it lists every notification) and leave it open for the screenshot.
  if (!(await center.isVisible().catch(() => false))) await page.locator(SEL.notificationsBell).click({ timeout: 2_000 }).catch(() => undefined);
  await sleep(300);
  const shown = await page.locator(SEL.notificationMessage).allTextContents().catch(() => []);
  throw new Error(`timed out after ${timeout} ms waiting for a notification ${String(text)}; notifications: ${JSON.stringify(shown)}`);
}

/** Clicks the button labelled `button` on the notification matching `text`. */
export async function clickNotificationButton(page: Page, text: string | RegExp, button: string, opts: { timeout?: number } = {}): Promise<void> {
  const item = await waitForNotification(page, text, opts);
  const target = item.locator(SEL.notificationButton, { hasText: exactly(button) }).first();
  if (!(await target.isVisible())) {
    const buttons = await item.locator(SEL.notificationButton).allTextContents();
    throw new Error(`notification ${String(text)} has no button "${button}"; buttons: ${JSON.stringify(buttons)}`);
  }
  await target.click();
}

// ---------------------------------------------------------------------------------------------------
// Views

/** Shows the view container whose activity-bar item has this title (e.g. "Ferry"). */
export async function openViewContainer(page: Page, title: string, opts: { timeout?: number } = {}): Promise<void> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const item = page
    .locator(SEL.activityItem)
    .filter({ has: page.locator(`a.action-label[aria-label="${cssString(title)}"], a.action-label[aria-label^="${cssString(title)} ("]`) })
    .first();
  try {
    await item.waitFor({ state: "visible", timeout });
  } catch {
    const labels = await page.locator(`${SEL.activityItem} a.action-label`).evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")));
    throw new Error(`activity bar: no item "${title}" within ${timeout} ms; items: ${JSON.stringify(labels)}`);
  }
  const active = /\bchecked\b/.test((await item.getAttribute("class")) ?? "");
  // Clicking the active container's icon would hide the side bar.
  if (!active || !(await page.locator(SEL.sideBar).isVisible())) await item.click();
  // "FERRY", or "SOLO: SOLO VIEW" for a container with a single view.
  const heading = page.locator(SEL.sideBarTitle).filter({ hasText: new RegExp(`^\\s*${escapeRegExp(title)}\\s*(:|$)`, "i") });
  await waitFor(heading.first(), `the side bar to show "${title}"`, timeout);
}

function paneOf(page: Page, viewTitle: string): Locator {
  return page.locator(SEL.pane).filter({ has: page.locator(SEL.paneHeaderTitle, { hasText: exactly(viewTitle, "i") }) }).first();
}

/**
 * Labels of the rendered rows of the tree view titled `viewTitle` (in the open side bar), as
 * "label" or "label — description". Only rows rendered by the virtualised list are seen: scroll or
 * collapse for long trees.
 */
export async function treeItemLabels(page: Page, viewTitle: string, opts: { timeout?: number } = {}): Promise<string[]> {
  const pane = paneOf(page, viewTitle);
  await waitFor(pane, `a view titled "${viewTitle}" in the side bar (open its container first)`, opts.timeout ?? DEFAULT_TIMEOUT, "attached");
  return rowLabels(pane);
}

function rowLabels(pane: Locator): Promise<string[]> {
  return pane.locator(`.pane-body ${SEL.listRow}`).evaluateAll((rows, sel) => {
    const visible = (rows as unknown as DomElement[]).filter((r) => r.offsetParent !== null);
    visible.sort((a, b) => Number(a.getAttribute("data-index") ?? 0) - Number(b.getAttribute("data-index") ?? 0));
    return visible.map((row) => {
      const label = row.querySelector(sel.rowLabel)?.textContent?.trim() ?? row.getAttribute("aria-label") ?? "";
      const description = row.querySelector(sel.rowDescription)?.textContent?.trim() ?? "";
      return description ? `${label} — ${description}` : label;
    });
  }, SEL);
}

/**
 * Waits until the tree view shows a row matching `text` (a string matches the label or the whole
 * "label — description"; a RegExp is tested against "label — description") and returns that row.
 */
export async function waitForTreeItem(page: Page, viewTitle: string, text: string | RegExp, opts: { timeout?: number } = {}): Promise<Locator> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const deadline = Date.now() + timeout;
  const pane = paneOf(page, viewTitle);
  await waitFor(pane, `a view titled "${viewTitle}" in the side bar (open its container first)`, timeout, "attached");
  for (;;) {
    const labels = await rowLabels(pane);
    const index = labels.findIndex((full) =>
      typeof text === "string" ? full === text || full.split(" — ")[0] === text : text.test(full),
    );
    if (index >= 0) {
      const label = labels[index]?.split(" — ")[0] ?? "";
      return pane.locator(`.pane-body ${SEL.listRow}`).filter({ has: page.locator(SEL.rowLabel, { hasText: exactly(label) }) }).first();
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for "${String(text)}" in view "${viewTitle}"; rows: ${JSON.stringify(labels)}`);
    }
    await sleep(200);
  }
}

/**
 * Expands the (collapsible) row matching `text` in the tree view, so its children get rendered (and
 * become visible to treeItemLabels/waitForTreeItem). A row that is already expanded is left alone.
 */
export async function expandTreeItem(page: Page, viewTitle: string, text: string | RegExp, opts: { timeout?: number } = {}): Promise<void> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const row = await waitForTreeItem(page, viewTitle, text, { timeout });
  const expanded = await row.getAttribute("aria-expanded");
  if (expanded === null) throw new Error(`tree item ${String(text)} in view "${viewTitle}" cannot be expanded (it has no children)`);
  if (expanded === "true") return;
  await row.locator(".monaco-tl-twistie").first().click();
  try {
    await waitForExpanded(row, "true", timeout);
  } catch {
    throw new Error(`tree item ${String(text)} in view "${viewTitle}" did not expand within ${timeout} ms`);
  }
}

async function waitForExpanded(row: Locator, expanded: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while ((await row.getAttribute("aria-expanded")) !== expanded) {
    if (Date.now() > deadline) throw new Error("timeout");
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------
// Output panel

/**
 * Shows the Output panel on `channelName` and returns the channel's text. The output editor is a
 * virtualised Monaco editor (only rendered lines are in the DOM), so this scrolls it from top to bottom
 * collecting lines; with word wrap a long line comes back as several lines. For very long channels read
 * the log files under CodeServer.logsDir instead.
 */
export async function outputChannelText(page: Page, channelName: string, opts: { timeout?: number } = {}): Promise<string> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  await runCommand(page, "Output: Show Output Channels...", { timeout });
  await pickQuickItem(page, channelName, { timeout });
  const editor = page.locator(SEL.outputEditor).first();
  await waitFor(editor, `the Output panel showing "${channelName}"`, timeout);
  // Let the channel's content arrive.
  await sleep(500);
  const lines = new Map<number, string>();
  const collect = async () => {
    const seen = await editor.locator(`${SEL.viewLines} > .view-line`).evaluateAll((els) =>
      (els as unknown as DomElement[]).map((el) => [parseFloat(el.style.top || "0"), (el.textContent ?? "").replace(/\u00a0/g, " ")] as const),
    );
    for (const [top, text] of seen) lines.set(top, text);
  };
  // Monaco keeps the scroll offset in .lines-content's `top`; each .view-line's `top` is absolute, so
  // lines collected at several scroll positions merge by it.
  const scrollTop = () => editor.locator(SEL.linesContent).first().getAttribute("style");
  await editor.click({ position: { x: 60, y: 8 } });
  await page.keyboard.press("Control+Home");
  await sleep(100);
  // PageDown moves the cursor a page and the view follows it, so consecutive views overlap or touch
  // (the mouse wheel would do only 50 px per event here).
  for (let i = 0; i < 2_000; i++) {
    await collect();
    const before = await scrollTop();
    await page.keyboard.press("PageDown");
    await sleep(30);
    if ((await scrollTop()) === before) {
      await sleep(150); // not rendered yet?
      if ((await scrollTop()) === before) break;
    }
  }
  await collect();
  return [...lines.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text).join("\n").replace(/\s+$/, "");
}

/**
 * The text an output channel wrote so far, read from the file VS Code mirrors it to under
 * CodeServer.logsDir: complete and exact (no virtualisation, no wrapping), and needs no UI. Plain channels
 * (createOutputChannel(name)) are in exthost<N>/output_logging_<time>/<n>-<name>.log, log channels
 * (createOutputChannel(name, { log: true })) in exthost<N>/<extension id>/<name>.log. The file is written
 * a moment after appendLine: poll (e.g. with vi.waitFor) when asserting on a fresh line.
 */
export async function outputChannelLog(server: Pick<CodeServer, "logsDir">, channelName: string): Promise<string> {
  const files = await readdir(server.logsDir, { recursive: true }).catch(() => [] as string[]);
  const plain = new RegExp(`^\\d+-${escapeRegExp(channelName)}\\.log$`);
  const candidates = files.filter((file) => {
    const parts = file.split(sep);
    const base = parts.at(-1) ?? "";
    if (!parts.some((p) => p.startsWith("exthost"))) return false;
    return plain.test(base) || (base === `${channelName}.log` && !parts.at(-2)?.startsWith("output_logging_"));
  });
  if (candidates.length === 0) {
    const logs = files.filter((file) => file.endsWith(".log"));
    throw new Error(`no log file for output channel "${channelName}" under ${server.logsDir}; log files: ${JSON.stringify(logs)}`);
  }
  const dated = await Promise.all(candidates.map(async (file) => ({ file, mtime: (await stat(join(server.logsDir, file))).mtimeMs })));
  dated.sort((a, b) => b.mtime - a.mtime);
  return readFile(join(server.logsDir, dated[0]?.file ?? ""), "utf8");
}

// ---------------------------------------------------------------------------------------------------
// Artifacts and small helpers

/** Saves a PNG of the page as artifactsDir/<name>.png and returns its path. */
export async function screenshot(page: Page, artifactsDir: string, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name.replace(/[^\w.-]+/g, "-")}.png`);
  await page.screenshot({ path: file, timeout: 15_000 });
  return file;
}

async function waitFor(locator: Locator, what: string, timeout: number, state: "visible" | "attached" = "visible"): Promise<void> {
  try {
    await locator.waitFor({ state, timeout });
  } catch (error) {
    throw new Error(`timed out after ${timeout} ms waiting for ${what}`, { cause: error });
  }
}

function exactly(text: string, flags = ""): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`, flags);
}

function toPattern(p: string | RegExp): { source: string; flags: string } {
  return typeof p === "string" ? { source: escapeRegExp(p), flags: "i" } : { source: p.source, flags: p.flags };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function cssString(text: string): string {
  return text.replace(/["\\]/g, "\\$&");
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
