import { describe, expect, it } from "vitest";
import { parseBenchOptions } from "./options.js";
import { buildReport, formatReport } from "./report.js";
import { distribution } from "./stats.js";
import type { UiFigures } from "./ui-bench.js";
import { initialScripts } from "./ui-bundle.js";

const options = (argv: string[] = []) => parseBenchOptions(["--stores", "pglite", "--no-managed", ...argv], {}, "/cli")!;

const figures: UiFigures = {
  ui: true,
  runs: 10_000,
  loads: 3,
  chromium: "/usr/bin/chromium",
  initialJs: { files: [{ path: "/assets/index-a.js", bytes: 400_000, gzipBytes: 120_000 }], gzipBytes: 120_000 },
  seedSeconds: 41.2,
  pages: [
    { page: "flow runs", path: "/runs", load: distribution([180, 220, 200]), firstMs: 640 },
    { page: "flow run (200 log lines)", path: "/runs/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", load: distribution([150, 160, 170]), firstMs: 300 },
  ],
  serverWarnings: 0,
  serverWarningSamples: [],
};

describe("the web UI in the bench", () => {
  it("is on by default with 10000 runs and 5 loads; --no-ui and sizes from flags", () => {
    expect(options()).toMatchObject({ ui: true, uiRuns: 10_000, uiLoads: 5, childUi: false });
    expect(options(["--no-ui"]).ui).toBe(false);
    expect(options(["--no-ui", "--ui"]).ui).toBe(true);
    expect(options(["--ui-runs", "500", "--ui-loads", "2"])).toMatchObject({ uiRuns: 500, uiLoads: 2 });
    expect(() => options(["--ui-loads", "0"])).toThrow(/--ui-loads: '0' must be a whole number of at least 1/);
  });

  it("prints a table of pages with p50, max and the first load, and the initial JS gzipped", () => {
    const text = formatReport(buildReport(options(), [{ store: "pglite", skipped: "test" }], null, null, figures));
    expect(text).toContain("against 10000 runs (put into the store in 41 s)");
    expect(text).toMatch(/flow runs +\/runs +200 +220 +640 +< 1000/);
    expect(text).toMatch(/flow run \(200 log lines\) +\/runs\/:id +160 +170 +300/);
    expect(text).toMatch(/initial JS, gzipped +1 file\(s\) +117\.2 KB/);
  });

  it("says why the UI was skipped or failed", () => {
    expect(formatReport(buildReport(options(), [], null, null, { ui: true, skipped: "no Chromium at /x" }))).toContain("skipped, no Chromium at /x");
    expect(formatReport(buildReport(options(), [], null, null, { ui: true, failed: "boom" }))).toContain("FAILED, boom");
    expect(formatReport(buildReport(options(["--no-ui"]), [], null, null, null))).not.toContain("Web UI");
  });

  it("finds index.html's module scripts and modulepreloads, not stylesheets or other origins", () => {
    const html = `<script type="module" crossorigin src="/assets/index-a.js"></script><link rel="modulepreload" href="/assets/vendor-b.js">
      <link rel="stylesheet" href="/assets/index.css"><script type="module" src="https://cdn.example.com/x.js"></script>`;
    expect(initialScripts(html)).toEqual(["/assets/index-a.js", "/assets/vendor-b.js"]);
  });
});
