// @vitest-environment node
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { init, parse } from "es-module-lexer";
import { describe, expect, it } from "vitest";

// The budget for what a first visit downloads before any page renders: the entry script, what it
// imports statically (transitively) and what index.html preloads. Page chunks (lazy) are not counted.
// Runs after `vite build` (turbo's test task depends on build): it measures dist/, not the sources.
const BUDGET_BYTES = 300 * 1024;
const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

/** Paths (relative to dist) of index.html's module scripts and modulepreload links. */
function initialScripts(html: string): string[] {
  const found: string[] = [];
  for (const tag of html.match(/<(script|link)\b[^>]*>/gi) ?? []) {
    const attr = (name: string) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']+)["']`, "i").exec(tag)?.[1];
    const isModuleScript = /^<script/i.test(tag) && attr("type") === "module" && attr("src");
    const isPreload = /^<link/i.test(tag) && attr("rel") === "modulepreload" && attr("href");
    const url = isModuleScript ? attr("src") : isPreload ? attr("href") : undefined;
    if (url && !/^[a-z]+:/i.test(url)) found.push(url.replace(/^\//, ""));
  }
  return found;
}

/** The static imports of a built chunk, as dist-relative paths (dynamic `import()` is left out). */
function staticImports(file: string, code: string): string[] {
  const [imports] = parse(code);
  return imports
    // d === -1: a static import or re-export; -2: import.meta; >= 0: a dynamic import().
    .filter((i) => i.d === -1 && i.n !== undefined && !/^[a-z]+:/i.test(i.n))
    .map((i) => (i.n!.startsWith("/") ? i.n!.slice(1) : posix.join(posix.dirname(file), i.n!)));
}

/** Every file of the initial JS, with its gzipped size. */
function initialJs(): { file: string; gzip: number }[] {
  const queue = initialScripts(readFileSync(join(DIST, "index.html"), "utf8"));
  const seen = new Map<string, number>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    const code = readFileSync(join(DIST, file));
    seen.set(file, gzipSync(code).length);
    queue.push(...staticImports(file, code.toString("utf8")));
  }
  return [...seen].map(([file, gzip]) => ({ file, gzip }));
}

describe("the UI's initial JavaScript", () => {
  it("reads index.html's module scripts and preloads, not other tags", () => {
    const html = `<script type="module" crossorigin src="/assets/index-a.js"></script>
      <link rel="modulepreload" crossorigin href="/assets/vendor-b.js"><link rel="stylesheet" href="/assets/index.css">
      <script src="https://example.com/x.js" type="module"></script>`;
    expect(initialScripts(html)).toEqual(["assets/index-a.js", "assets/vendor-b.js"]);
  });

  it(`is under ${BUDGET_BYTES / 1024} KB gzipped`, async () => {
    expect(existsSync(join(DIST, "index.html")), `no ${DIST}/index.html: build first (npx turbo run build --filter=@ferry/web)`).toBe(true);
    await init;
    const files = initialJs();
    expect(files.length).toBeGreaterThan(0);
    const total = files.reduce((sum, f) => sum + f.gzip, 0);
    const table = files.map((f) => `  ${f.file}: ${(f.gzip / 1024).toFixed(1)} KB`).join("\n");
    console.log(`initial JS: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)\n${table}`);
    expect(total, `the initial JS is ${(total / 1024).toFixed(1)} KB gzipped, over the budget; move heavy modules into lazy page chunks:\n${table}`).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
