#!/usr/bin/env node
// The architecture, checked (run by `npm run lint`, so by CI):
//  1. dependency-cruiser with .dependency-cruiser.cjs: who may import whom (core is pure; the server,
//     the clients, core and the kit import no provider, no cloud's local server and no cloud SDK; a
//     provider never imports the server; an app never imports another app; only packages/e2e imports
//     everything).
//  2. No cloud named in the code of core, the server, the clients or the kit: each provider package
//     declares its cloud's words in its package.json ("ferry": {"cloud": {"terms": [...]}}); none of
//     those words may appear in an identifier, a string or a template of a cloud-neutral package.
//     Comments may name a cloud (they explain, e.g. "as Prefect's ECS worker does"); so may Markdown.
// Needs the workspace built (dependency-cruiser resolves @ferry/* packages through their exports).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// `--root DIR` checks another tree laid out like this one (the check's own test gives it a small one).
const rootArg = process.argv.indexOf("--root");
const root = rootArg > 0 ? process.argv[rootArg + 1] : join(dirname(fileURLToPath(import.meta.url)), "..");
const tool = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules/dependency-cruiser/bin/dependency-cruiser.mjs");

/** Cloud-neutral folders: their code (tests included) may not name a cloud. */
const NEUTRAL = ["packages/core/src", "packages/server/src", "packages/server/test", "packages/client-node/src", "packages/managed-runner/src", "packages/managed-runner/test", "packages/engine/src", "packages/provider-kit/src", "packages/provider-kit/test", "apps", "bench/src"];
const SKIP_DIRS = new Set(["node_modules", "dist", ".turbo", "coverage", "test-results", ".vscode-test"]);

let failed = false;

// 1. Imports.
/** Each workspace's source folders (never its dist/, which is only seen as what an import resolves to). */
const sourceRoots = ["packages", "apps"]
  .flatMap((group) => (existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => `${group}/${name}`) : []))
  .concat(existsSync(join(root, "bench")) ? ["bench"] : [])
  .flatMap((workspace) => ["src", "test", "e2e", "scripts"].map((folder) => `${workspace}/${folder}`))
  .filter((dir) => existsSync(join(root, dir)));
const cruise = spawnSync(process.execPath, [tool, "--config", ".dependency-cruiser.cjs", "--output-type", "err", ...sourceRoots], {
  cwd: root,
  encoding: "utf8",
});
if (cruise.status !== 0) {
  failed = true;
  process.stderr.write(cruise.stdout + cruise.stderr);
  process.stderr.write("\nimport rules broken (see .dependency-cruiser.cjs for why each rule exists)\n");
} else {
  process.stdout.write(cruise.stdout.trim() ? `${cruise.stdout.trim()}\n` : "import rules: ok\n");
}

// 2. Cloud names.
const terms = new Map();
for (const dir of readdirSync(join(root, "packages"))) {
  const file = join(root, "packages", dir, "package.json");
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    continue;
  }
  for (const term of pkg.ferry?.cloud?.terms ?? []) terms.set(term.toLowerCase(), pkg.name);
}
if (terms.size === 0) {
  console.error('no provider package declares its cloud\'s words ("ferry": {"cloud": {"terms": [...]}} in its package.json): the cloud-name check would pass vacuously');
  process.exit(1);
}

/** The words of an identifier or a text: camelCase, snake_case, kebab-case, dots and slashes all split. */
function words(text) {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function* sourceFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(name) && !/\.d\.ts$/.test(name)) yield path;
  }
}

const findings = [];
for (const folder of NEUTRAL) {
  for (const file of sourceFiles(join(root, folder))) {
    const rel = relative(root, file);
    // An app's committed bundle is generated from its sources, which are checked.
    if (/^apps\/[^/]+\/(dist|out)\//.test(rel)) continue;
    const text = readFileSync(file, "utf8");
    // The parser, not a scanner: comments are trivia (never checked), and regular expressions, strings
    // and templates are told apart the way the compiler does.
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS);
    const visit = (node) => {
      let value = null;
      if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) value = node.text;
      else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isRegularExpressionLiteral(node)) value = node.text;
      else if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) value = node.text;
      else if (ts.isJsxText(node)) value = node.text;
      if (value !== null) {
        for (const word of words(value)) {
          const owner = terms.get(word);
          if (!owner) continue;
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          findings.push(`${rel}:${line + 1}: '${word}' (${owner}) in ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
}
if (findings.length) {
  failed = true;
  console.error(findings.join("\n"));
  console.error(
    `\n${findings.length} cloud name(s) in cloud-neutral code: move the cloud-specific part into its provider package, or use a neutral name (e.g. acme:push) in a test`,
  );
} else {
  console.log(`cloud names: none in ${NEUTRAL.join(", ")} (words of ${[...new Set(terms.values())].join(", ")})`);
}
process.exit(failed ? 1 : 0);
