// The web UI's browser harness: Debian's Chromium (FERRY_CHROMIUM, else /usr/bin/chromium) driven by
// playwright-core, never a browser Playwright downloads. General helpers only; the scenario lives in
// web-ui.e2e.test.ts. A `BrowserWatch` records, for a whole browser context, every console error, page
// error and CSP violation, and the body of every response, so the test can hold each step to "nothing
// went wrong in the page" and "this secret never reached the browser".
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";
import { serviceCheck, type ServiceCheck } from "../../../../test-support/services.js";

const CHROMIUM = process.env.FERRY_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go (gitignored): packages/e2e/test-results/web-ui. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test-results", "web-ui");

/** Skips the suite, with the fix, when the Chromium is missing; under CI the skip reporter fails the run. */
export function chromiumCheck(): ServiceCheck {
  return serviceCheck(
    existsSync(CHROMIUM) ? null : `Chromium: not at ${CHROMIUM}; apt-get install -y chromium (Debian's package), or set FERRY_CHROMIUM to a Chromium binary (bash .ci/run installs it)`,
  );
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export interface RecordedResponse {
  url: string;
  status: number;
  body: string;
}

/** What went wrong in the pages of a context, and what the server sent them. */
export class BrowserWatch {
  /** Console errors, page errors and CSP violations, each as one line naming the page it happened on. */
  readonly problems: string[] = [];
  readonly responses: RecordedResponse[] = [];
  private readonly pending = new Set<Promise<void>>();

  private constructor(context: BrowserContext) {
    for (const page of context.pages()) this.attach(page);
    context.on("page", (page) => this.attach(page));
    context.on("response", (response) => this.record(response));
  }

  /**
   * Watches every page of `context`. Chromium reports a CSP refusal in the console already; a listener
   * for the DOM's securitypolicyviolation event names it plainly too (init scripts are not subject to
   * the page's CSP).
   */
  static async of(context: BrowserContext): Promise<BrowserWatch> {
    await context.addInitScript(
      `document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline code") + " at " + e.sourceFile + ":" + e.lineNumber));`,
    );
    return new BrowserWatch(context);
  }

  private attach(page: Page): void {
    page.on("console", (message) => {
      if (message.type() === "error") this.problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => this.problems.push(`page error on ${page.url()}: ${error.message}`));
  }

  private record(response: Response): void {
    const type = response.headers()["content-type"] ?? "";
    // A live event stream never ends: its body cannot be awaited. Its events are FlowRun and log JSON.
    if (type.startsWith("text/event-stream")) return;
    if (!/json|text|javascript|html|css|svg/.test(type)) return;
    const read = response
      .text()
      .then((body) => void this.responses.push({ url: response.url(), status: response.status(), body }))
      // Bodies of redirects and of pages navigated away from cannot be read; their URL and status are kept.
      .catch(() => void this.responses.push({ url: response.url(), status: response.status(), body: "" }))
      .finally(() => this.pending.delete(read));
    this.pending.add(read);
  }

  /** Waits until every response seen so far has its body recorded. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /**
   * The problems recorded since the last call, and forgets them. `allow` drops expected ones, e.g. the
   * 401 the browser reports for the session probe while signed out.
   */
  takeProblems(allow: RegExp[] = []): string[] {
    const taken = this.problems.splice(0, this.problems.length);
    return taken.filter((p) => !allow.some((re) => re.test(p)));
  }
}

/** Chromium's console line for a request the server answered 401: expected while signed out. */
export const SIGNED_OUT_401 = /Failed to load resource: the server responded with a status of 401/;

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = (require("axe-core") as { source: string }).source;

/**
 * Runs axe-core in the page and returns its serious and critical violations, one readable line each.
 * axe is evaluated over the DevTools protocol, not added as a <script>: the UI's Content-Security-Policy
 * rightly refuses inline scripts, and the scan must not weaken it.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(`(() => { if (!window.axe) { ${AXE_SOURCE}\n } return typeof window.axe.run; })()`);
  if (loaded !== "function") throw new Error(`axe-core did not load in ${page.url()}`);
  const violations = (await page.evaluate(`window.axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)`)) as AxeViolation[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => {
      const nodes = v.nodes.slice(0, 5).map((n) => `      ${JSON.stringify(n.target)} ${n.html.slice(0, 160)}${n.failureSummary ? `\n        ${n.failureSummary.replace(/\n/g, " ")}` : ""}`);
      return `  ${v.impact} ${v.id}: ${v.help} (${v.helpUrl}), ${v.nodes.length} element(s):\n${nodes.join("\n")}`;
    });
}

/** Saves a screenshot of the viewport (or the whole page) as test-results/web-ui/<name>.png. */
export async function screenshot(page: Page, name: string, { fullPage = false } = {}): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, animations: "disabled", fullPage });
  return path;
}

/** Writes a text artifact (e.g. the server's log) next to the screenshots. */
export async function saveArtifact(name: string, text: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await writeFile(join(ARTIFACTS, name), text);
}
