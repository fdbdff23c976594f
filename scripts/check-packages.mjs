#!/usr/bin/env node
// What other tools need of every package we publish (not "private"): README, LICENSE, repository,
// engines, types, an exports map (import and require, or an ESM-only note with a require(esm)
// example in the README), sideEffects declared; then publint and Are the Types Wrong (`attw --pack`)
// on the packed package. Run by `npm run lint` (the CI's lint phase) after the build.
//
//   node scripts/check-packages.mjs [package-dir…]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const attw = join(root, "node_modules/@arethetypeswrong/cli/dist/index.js");

function publicPackages() {
  const dirs = ["packages", "apps"].flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)));
  return dirs.filter((dir) => existsSync(join(dir, "package.json")) && !JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private);
}

/** The metadata rules; each problem says what to add. */
export function metadataProblems(pkg, files) {
  const problems = [];
  const readme = files["README.md"];
  if (readme === undefined) problems.push("has no README.md");
  if (files.LICENSE === undefined) problems.push("has no LICENSE file (copy the repository's)");
  if (!pkg.repository?.url || !pkg.repository?.directory) problems.push('needs "repository": { "type": "git", "url", "directory" }');
  if (!pkg.engines?.node) problems.push('needs "engines": { "node": … }');
  if (pkg.sideEffects === undefined) problems.push('needs "sideEffects" (false unless importing it does something)');
  if (!pkg.exports || typeof pkg.exports !== "object") problems.push('needs an "exports" map');
  else if (isLibrary(pkg)) {
    {
      const entries = Object.entries(pkg.exports).filter(([key]) => key !== "./package.json");
      const conditions = entries.map(([, value]) => (typeof value === "object" && value ? Object.keys(value) : []));
      if (!pkg.types && !conditions.some((c) => c.includes("types"))) problems.push('needs "types" (top level, and a "types" condition in exports)');
      const dual = conditions.every((c) => c.includes("import") && c.includes("require"));
      const esmOnlyNote = /ESM-only/i.test(readme ?? "") && /require\(["'][^"']+["']\)/.test(readme ?? "");
      if (!dual && !esmOnlyNote) problems.push("exports have no 'require' condition: add one, or an 'ESM-only' note with a require(esm) example to the README");
    }
  }
  return problems;
}

/** A package with typed entry points; a program (the CLI, the engine) exports files, not an API. */
function isLibrary(pkg) {
  return Object.values(pkg.exports ?? {}).some((v) => v && typeof v === "object");
}

/** The README's require(esm) example, run: CommonJS loading the package by name gets the named export. */
function requireExampleProblem(pkg, readme, dir) {
  const example = /const \{ (\w+) \} = require\("([^"]+)"\);/.exec(readme ?? "");
  if (!example) return null;
  const [, name, spec] = example;
  if (spec !== pkg.name) return `the README's require example loads ${spec}, not ${pkg.name}`;
  try {
    execFileSync(process.execPath, ["--input-type=commonjs", "-e", `const { ${name} } = require(${JSON.stringify(spec)}); if (${name} === undefined) throw new Error("${name} is undefined");`], { cwd: dir, stdio: "pipe", encoding: "utf8" });
    return null;
  } catch (error) {
    return `the README's require(esm) example fails: ${(error.stderr || error.message).trim().split("\n").slice(0, 6).join(" ")}`;
  }
}

function filesOf(dir) {
  const files = {};
  for (const name of ["README.md", "LICENSE"]) if (existsSync(join(dir, name))) files[name] = readFileSync(join(dir, name), "utf8");
  return files;
}

async function check(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const files = filesOf(dir);
  const problems = metadataProblems(pkg, files);
  const requireProblem = requireExampleProblem(pkg, files["README.md"], dir);
  if (requireProblem) problems.push(requireProblem);
  const { messages } = await publint({ pkgDir: dir, level: "warning", strict: true, pack: "npm" });
  for (const message of messages) problems.push(`publint ${message.type}: ${formatMessage(message, pkg) ?? message.code}`);
  // Only packages with entry points have types to check; a bin-only package (the CLI) has none.
  if (isLibrary(pkg)) {
    const esmOnly = !Object.values(pkg.exports).some((v) => v && typeof v === "object" && "require" in v);
    try {
      execFileSync(process.execPath, [attw, "--pack", dir, "--format", "table-flipped", "--no-emoji", "--no-color", ...(esmOnly ? ["--profile", "esm-only"] : [])], {
        cwd: root,
        stdio: "pipe",
        encoding: "utf8",
      });
    } catch (error) {
      problems.push(`attw --pack: ${(error.stdout || error.message).trim()}`);
    }
  }
  return { name: pkg.name, dir: relative(root, dir), problems };
}

const dirs = process.argv.length > 2 ? process.argv.slice(2).map((d) => resolve(d)) : publicPackages();
let failed = 0;
for (const dir of dirs) {
  const { name, dir: rel, problems } = await check(dir);
  if (problems.length) {
    failed++;
    console.log(`✗ ${name} (${rel})`);
    for (const p of problems) console.log(`    ${p.split("\n").join("\n    ")}`);
  } else console.log(`✓ ${name}`);
}
if (failed) {
  console.error(`${failed} of ${dirs.length} packages are not ready to publish`);
  process.exit(1);
}
