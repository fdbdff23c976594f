import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, type CliResult } from "../../../apps/cli/test/cli-harness.js";
import { FerryClient, type Deployment } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { axeViolations, BrowserWatch, chromiumCheck, launchChromium, saveArtifact, screenshot, SIGNED_OUT_401 } from "./support/browser.js";

/**
 * The web UI end to end, as a user meets it: a real server on embedded PGlite that runs managed runs on
 * the process backend (the engine as a child process, code cloned from a file:// git repository), the
 * real CLI to deploy, and Debian's Chromium. Each step asserts what the page shows, through the
 * accessible names the UI promises (roles, labels, headings), never its CSS.
 *
 * Along the way every page must log no console error, page error or CSP violation, and the credentials'
 * secret (and the API key) must never reach the browser after they were typed in: every response body
 * and every page's HTML are searched for them. The last cases scan every page with axe-core (no serious or
 * critical violation) and keep a screenshot of each in test-results/web-ui/.
 */
const FLOWS: Record<string, string> = {
  "flows/greet.py": `import time

def greet(name: str = "world", count: int = 4):
    for i in range(1, count + 1):
        print(f"line {i} of {count} for {name}", flush=True)
        time.sleep(2)
    return {"greeted": name}
`,
  "flows/sleepy.py": `import time

def main():
    print("sleeping", flush=True)
    time.sleep(600)
`,
};
const POOL = "managed-ui";
const CREDENTIALS = "repo-token";
const GREET = "greet/daily";
const SLEEPY = "sleepy/long";
const LONG = { timeout: 60_000 };

describe("the web UI in Chromium, against a real server with managed runs", chromiumCheck(), () => {
  let repo: string;
  let home: string;
  let cliHome: string;
  let server: RunningServer;
  let apiKey: string;
  let client: FerryClient;
  let browser: Browser;
  let context: BrowserContext;
  let watch: BrowserWatch;
  let page: Page;
  const serverLog: string[] = [];
  /** The credentials' secret value: typed once into the form, then never seen again. */
  const secret = `ghp_${randomBytes(18).toString("hex")}`;
  let greetRunId = "";
  let greetRunName = "";
  let sleepyRunId = "";
  let greetDeployment: Deployment;

  const ferry = (args: string[]): Promise<CliResult> =>
    runFerry(args, { home: cliHome, cwd: repo, env: { FERRY_API_URL: server.url, FERRY_API_KEY: apiKey } });
  const expectOk = (result: CliResult) => expect({ code: result.code, stderr: result.stderr }, result.stdout).toMatchObject({ code: 0 });

  const heading = (name: string | RegExp) => page.getByRole("heading", { name, exact: typeof name === "string" ? true : undefined });
  const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
  const runState = () => page.getByTestId("run-state");
  const logs = () => page.getByRole("log", { name: "Logs" });

  /**
   * What every step ends with: no console error, page error or CSP violation since the last step (a 401
   * only while signed out), and the secrets in no response and not in the page.
   */
  async function pageIsClean(step: string, { signedOut = false } = {}): Promise<void> {
    await watch.settled();
    expect(watch.takeProblems(signedOut ? [SIGNED_OUT_401] : []), `${step}: the page logged errors`).toEqual([]);
    const html = await page.content();
    for (const [what, value] of [["the credentials' secret", secret], ["the API key", apiKey]] as const) {
      expect(html.includes(value), `${step}: ${what} is in the page's HTML`).toBe(false);
      const leaks = watch.responses.filter((r) => r.body.includes(value)).map((r) => `${r.status} ${r.url}`);
      expect(leaks, `${step}: ${what} is in these responses`).toEqual([]);
    }
  }

  /** Types the API key into the sign-in page and submits it. */
  async function signIn(): Promise<void> {
    await expect.poll(() => heading("Sign in").isVisible(), LONG).toBe(true);
    await page.getByLabel("API key").fill(apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  async function visible(locator: Locator, what: string, timeout = 15_000): Promise<void> {
    try {
      await locator.first().waitFor({ state: "visible", timeout });
    } catch (error) {
      await screenshot(page, `failed-${what.replace(/\W+/g, "-")}`).catch(() => undefined);
      throw new Error(`${what} is not visible on ${page.url()} within ${timeout} ms; the page shows:\n${(await page.locator("body").innerText().catch(() => "")).slice(0, 2000)}`, { cause: error });
    }
  }

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), "ferry-e2e-web-repo-"));
    for (const [path, text] of Object.entries(FLOWS)) {
      mkdirSync(join(repo, path, ".."), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "flows");
    home = mkdtempSync(join(tmpdir(), "ferry-e2e-web-home-"));
    cliHome = mkdtempSync(join(tmpdir(), "ferry-e2e-web-cli-"));
    const logStream = new PassThrough();
    logStream.on("data", (d: Buffer) => serverLog.push(d.toString()));
    server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "info", providers: [] }), { logStream });
    apiKey = server.bootstrap!.apiKey;
    client = new FerryClient({ apiUrl: server.url, apiKey });
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 }, colorScheme: "light" });
    context.setDefaultTimeout(15_000);
    watch = await BrowserWatch.of(context);
    page = await context.newPage();
  }, 120_000);

  // The steps build on each other: after a failed one, the rest fail at once instead of each timing out.
  let failedStep: string | null = null;
  afterEach(({ task }) => {
    if (task.result?.state === "fail") failedStep ??= task.name;
  });
  beforeEach(() => {
    if (failedStep) throw new Error(`not run: the earlier step "${failedStep}" failed`);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await saveArtifact("server.log", serverLog.join("")).catch(() => undefined);
    await server?.close();
    for (const dir of [repo, home, cliHome]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs in with the API key; the key is kept nowhere in the browser", async () => {
    await page.goto("/");
    await visible(heading("Sign in"), "the sign-in heading");
    await signIn();
    await visible(page.getByRole("navigation", { name: "Main" }), "the main navigation");
    await visible(page.getByRole("button", { name: "Sign out" }), "the Sign out button");
    const stored = await page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])");
    expect(String(stored)).not.toContain(apiKey);
    const cookie = (await context.cookies()).find((c) => c.name === "ferry_session");
    expect(cookie, "the session cookie").toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookie!.value).not.toContain(apiKey);
    await pageIsClean("sign-in", { signedOut: true });
  });

  it("creates a managed work pool", async () => {
    await nav("Work pools").click();
    await visible(heading("Work pools"), "the Work pools heading");
    await page.getByRole("button", { name: "New work pool" }).click();
    const dialog = page.getByRole("dialog", { name: "New work pool" });
    await visible(dialog, "the New work pool dialog");
    await dialog.getByLabel("Name", { exact: true }).fill(POOL);
    await choose(dialog, "Type", /ferry:managed|managed/i);
    await dialog.getByRole("button", { name: "Create work pool" }).click();
    await expect.poll(() => dialog.isVisible(), LONG).toBe(false);
    await nav("Work pools").click();
    await visible(page.getByRole("link", { name: POOL, exact: true }), "the new pool's row");
    const pool = await client.api.getWorkPool({ params: { name: POOL } });
    expect(pool.type).toBe("ferry:managed");
    await pageIsClean("work pool created");
  });

  it("creates credentials whose secret is never shown or sent back", async () => {
    await nav("Credentials").click();
    await visible(heading("Credentials"), "the Credentials heading");
    await page.getByRole("button", { name: "New credentials" }).click();
    const dialog = page.getByRole("dialog");
    await visible(dialog.getByRole("button", { name: "Save credentials" }), "the credentials form");
    await dialog.getByLabel("Name", { exact: true }).fill(CREDENTIALS);
    await choose(dialog, "Type", /^git/i);
    const token = dialog.getByLabel(/token/i);
    expect(await token.getAttribute("type"), "a secret field is a password input").toBe("password");
    await token.fill(secret);
    await dialog.getByLabel(/username/i).fill("ferry-bot");
    await dialog.getByRole("button", { name: "Save credentials" }).click();
    await expect.poll(() => dialog.isVisible(), LONG).toBe(false);
    await visible(page.getByRole("button", { name: `Delete ${CREDENTIALS}` }), "the new credentials' row");
    // Stored, with the secret: the server has it (masked in what it returns).
    const stored = await client.api.getCredentials({ params: { name: CREDENTIALS } });
    expect(stored.data).toMatchObject({ username: "ferry-bot", token: "********" });
    await page.reload();
    await visible(page.getByRole("button", { name: `Delete ${CREDENTIALS}` }), "the credentials' row after a reload");
    await pageIsClean("credentials created");
  });

  it("deploys two flows with the CLI; they show in the UI", async () => {
    const common = ["--pool", POOL, "--git-url", `file://${repo}`, "--branch", "main"];
    expectOk(await ferry(["deploy", "--entrypoint", "flows/greet.py:greet", "--flow-name", "greet", "--name", "daily", ...common]));
    expectOk(await ferry(["deploy", "--entrypoint", "flows/sleepy.py:main", "--flow-name", "sleepy", "--name", "long", ...common]));
    const deployments = parseJson<Deployment[]>(await ferry(["deployment", "ls", "--json"]));
    greetDeployment = deployments.find((d) => d.name === "daily")!;
    expect(greetDeployment.parameter_schema, "the CLI read the flow's parameters").not.toBeNull();
    await nav("Deployments").click();
    await visible(heading("Deployments"), "the Deployments heading");
    await visible(page.getByRole("link", { name: SLEEPY, exact: true }), `the ${SLEEPY} row`);
    await page.getByRole("link", { name: GREET, exact: true }).click();
    await visible(heading(GREET), `the ${GREET} heading`);
    await pageIsClean("deployments");
  });

  it("runs a deployment from the UI with a parameter and watches its logs arrive live", async () => {
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: `Run ${GREET}` });
    await visible(dialog, "the run dialog");
    await dialog.getByRole("textbox", { name: /^name/i }).fill("Ada");
    await dialog.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]+$/, LONG);
    greetRunId = new URL(page.url()).pathname.split("/").pop()!;
    const run = await client.api.getFlowRun({ params: { id: greetRunId } });
    expect(run.parameters).toMatchObject({ name: "Ada" });
    greetRunName = run.name;
    await visible(heading(greetRunName), "the run's name as the heading");

    // Live: the first line shows while the run still runs and before the last line was printed.
    await visible(logs().getByText("line 1 of 4 for Ada"), "the first log line", 60_000);
    expect(await runState().innerText()).toBe("Running");
    expect(await logs().getByText("line 4 of 4 for Ada").count(), "the last line is not printed yet").toBe(0);
    await expect.poll(() => runState().innerText(), LONG).toBe("Completed");
    await visible(logs().getByText("line 4 of 4 for Ada"), "the last log line");
    // The whole page: the README's picture of the UI (docs/web-ui.png) is taken from this one.
    await screenshot(page, "run-logs", { fullPage: true });
    await pageIsClean("run completed");
  });

  it("starts a second run and cancels it from its page", async () => {
    await nav("Deployments").click();
    await page.getByRole("link", { name: SLEEPY, exact: true }).click();
    await visible(heading(SLEEPY), `the ${SLEEPY} heading`);
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.getByRole("dialog", { name: `Run ${SLEEPY}` }).getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]+$/, LONG);
    sleepyRunId = new URL(page.url()).pathname.split("/").pop()!;
    await visible(logs().getByText("sleeping"), "the sleepy run's log line", 60_000);
    expect(await runState().innerText()).toBe("Running");
    await page.getByRole("button", { name: "Cancel run" }).click();
    const confirm = page.getByRole("alertdialog");
    await visible(confirm.getByRole("button", { name: "Keep running" }), "the cancel confirmation");
    await confirm.getByRole("button", { name: "Cancel the run" }).click();
    await expect.poll(() => runState().innerText(), LONG).toBe("Cancelled");
    expect((await client.api.getFlowRun({ params: { id: sleepyRunId } })).state.type).toBe("CANCELLED");
    await pageIsClean("run cancelled");
  });

  it("shows the compute hours used on the Quota page", async () => {
    const quota = await client.api.getQuota();
    expect(quota.usage.compute_seconds).toBeGreaterThan(0);
    await nav("Quota").click();
    await visible(heading("Quota"), "the Quota heading");
    const hours = page.getByTestId("quota-compute-hours");
    await visible(hours, "the compute hours");
    const used = Number(/^\s*([\d.]+)/.exec(await hours.innerText())?.[1]);
    expect(used, `compute hours shown: "${await hours.innerText()}"`).toBeGreaterThan(0);
    await expect.poll(async () => /\b1\b/.test(await page.getByTestId("quota-pools").innerText())).toBe(true);
    await pageIsClean("quota");
  });

  it("`ferry ui --no-open` prints a one-time link that signs a browser in", async () => {
    const result = await ferry(["ui", "--no-open"]);
    expectOk(result);
    const link = /(https?:\/\/\S+\/auth\/login\?token=\S+)/.exec(result.stdout + result.stderr)?.[1];
    expect(link, `a sign-in link in:\n${result.stdout}${result.stderr}`).toBeDefined();
    expect(link).not.toContain(apiKey);
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const tab = await other.newPage();
      await tab.goto(link!);
      await tab.getByRole("navigation", { name: "Main" }).waitFor({ state: "visible", timeout: 15_000 });
      expect((await other.request.get(`${server.url}/api/session`)).status()).toBe(200);
    } finally {
      await other.close();
    }
    // Once only: a second browser gets no session from the same link.
    const third = await browser.newContext();
    try {
      await (await third.newPage()).goto(link!);
      expect((await third.request.get(`${server.url}/api/session`)).status()).toBe(401);
    } finally {
      await third.close();
    }
  });

  it("every page: no serious accessibility violation (axe), no console error; screenshots", async () => {
    const failures: string[] = [];
    const inspect = async (name: string, ready: () => Promise<void>, narrow = false) => {
      await ready();
      failures.push(...(await axeViolations(page)).map((v) => `${name}:\n${v}`));
      await screenshot(page, name);
      // The dark theme follows the system (prefers-color-scheme): its contrast is checked too.
      await page.emulateMedia({ colorScheme: "dark" });
      failures.push(...(await axeViolations(page)).map((v) => `${name}, dark:\n${v}`));
      await screenshot(page, `${name}-dark`);
      await page.emulateMedia({ colorScheme: "light" });
      if (narrow) {
        await page.setViewportSize({ width: 390, height: 844 });
        failures.push(...(await axeViolations(page)).map((v) => `${name} at 390 px:\n${v}`));
        await screenshot(page, `${name}-390`);
        await page.setViewportSize({ width: 1280, height: 800 });
      }
      await pageIsClean(name);
    };
    const open = async (path: string, ready: Locator, what: string) => {
      await page.goto(path);
      await visible(ready, what);
    };
    const dialog = async (button: string, name: string | RegExp) => {
      await page.getByRole("button", { name: button, exact: true }).click();
      await visible(page.getByRole("dialog", { name }), `the ${String(name)} dialog`);
    };

    await inspect("runs", () => open("/runs", page.getByText(greetRunName).first(), "the runs list's first run"), true);
    await inspect("run", () => open(`/runs/${greetRunId}`, logs().getByText("line 4 of 4 for Ada"), "the run's logs"), true);
    await inspect("run-cancelled", () => open(`/runs/${sleepyRunId}`, runState(), "the cancelled run's state"));
    await inspect("deployments", () => open("/deployments", page.getByRole("link", { name: GREET, exact: true }), "the deployments list"));
    await inspect("deployment", () => open(`/deployments/${greetDeployment.id}`, heading(GREET), "the deployment's heading"));
    await inspect("deployment-run-dialog", () => dialog("Run", `Run ${GREET}`));
    await inspect("work-pools", () => open("/work-pools", page.getByRole("link", { name: POOL, exact: true }), "the pools list"));
    await inspect("work-pools-new-dialog", () => dialog("New work pool", "New work pool"));
    await inspect("work-pool", () => open(`/work-pools/${POOL}`, heading(POOL), "the pool's heading"));
    await inspect("credentials", () => open("/credentials", page.getByRole("button", { name: `Delete ${CREDENTIALS}` }), "the credentials list"));
    await inspect("credentials-new-dialog", () => dialog("New credentials", /credentials/i));
    await inspect("variables", () => open("/variables", heading("Variables and secrets"), "the variables heading"));
    await inspect("quota", () => open("/quota", page.getByTestId("quota-compute-hours"), "the quota figures"));
    await inspect("api-keys", () => open("/api-keys", heading("API keys"), "the API keys heading"));
    await inspect("api-keys-new-dialog", () => dialog("New API key", /API key/i));
    expect(failures.length, `serious or critical axe violations:\n${failures.join("\n")}`).toBe(0);
  });

  it("signs out; a signed-out visit to a run page asks to sign in, then lands on the run", async () => {
    await page.goto("/runs");
    const before = (await context.cookies()).find((c) => c.name === "ferry_session")!;
    await page.getByRole("button", { name: "Sign out" }).click();
    await visible(heading("Sign in"), "the sign-in page after signing out");
    // Ended on the server, not only forgotten by the browser.
    const stale = await fetch(`${server.url}/api/session`, { headers: { cookie: `ferry_session=${before.value}` } });
    expect(stale.status).toBe(401);

    await page.goto(`/runs/${greetRunId}`);
    await visible(heading("Sign in"), "the sign-in page for a run page");
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    expect(new URL(page.url()).searchParams.get("next")).toBe(`/runs/${greetRunId}`);
    await scanSignIn();
    await signIn();
    await visible(heading(greetRunName), "the run page after signing in");
    expect(new URL(page.url()).pathname).toBe(`/runs/${greetRunId}`);
    await pageIsClean("signed in again", { signedOut: true });
  });

  /** The sign-in page, scanned and photographed like the others (it is only reachable signed out). */
  async function scanSignIn(): Promise<void> {
    const violations = (await axeViolations(page)).map((v) => `sign-in:\n${v}`);
    await screenshot(page, "sign-in");
    await page.emulateMedia({ colorScheme: "dark" });
    violations.push(...(await axeViolations(page)).map((v) => `sign-in, dark:\n${v}`));
    await screenshot(page, "sign-in-dark");
    await page.emulateMedia({ colorScheme: "light" });
    expect(violations.length, `serious or critical axe violations:\n${violations.join("\n")}`).toBe(0);
  }

  /** Picks `option` in the field labelled `label`: a native <select> or a Radix Select (a combobox). */
  async function choose(scope: Locator, label: string, option: RegExp): Promise<void> {
    const field = scope.getByLabel(label, { exact: true });
    const options = field.locator("option");
    if (await options.count()) {
      const labels = await options.allInnerTexts();
      const index = labels.findIndex((o) => option.test(o));
      expect(index, `an option matching ${option} in ${label}: ${labels.join(", ")}`).toBeGreaterThanOrEqual(0);
      await field.selectOption({ label: labels[index]!.trim() });
      return;
    }
    // A Radix Select: its trigger opens a listbox (beside it sits a hidden native <select> for forms).
    await field.click();
    await page.getByRole("listbox").getByRole("option", { name: option }).first().click();
  }
});
