#!/usr/bin/env node
// What `npm i -g @ferry/cli` installs: packs the CLI and the workspace packages it needs at run time (its
// @ferry/* dependencies, transitively; optional peers such as @ferry/server are not installed by npm, so not
// here either), installs the CLI's tarball (its @ferry/* dependencies from their tarballs, the rest from npm's
// cache, --prefer-offline) into a temporary folder, and prints its size and package count. The goal (issue 19):
// under 30 MB and 60 packages. Run after the build:
//   node scripts/measure-cli-install.mjs [--json] [--check] [--prefix DIR]
// --check exits 1 when the install is past the goal (npm run check:cli-install; npm test checks the same goal in apps/cli/test/install.test.ts, which runs this script); --prefix installs into DIR and
// keeps it (tests run the installed `ferry`), instead of a temporary folder removed afterwards.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const GOAL = { megabytes: 30, packages: 60 };

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** The public workspace packages by name, with their folders and manifests. */
function workspacePackages() {
  const found = new Map();
  for (const dir of ["packages", "apps"].flatMap((g) => readdirSync(join(root, g)).map((n) => join(root, g, n)))) {
    if (!existsSync(join(dir, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (!pkg.private) found.set(pkg.name, { dir, pkg });
  }
  return found;
}

/** `name` and the workspace packages npm installs with it: dependencies and non-optional peers, transitively. */
function installedWith(name, workspace, seen = new Set()) {
  if (seen.has(name) || !workspace.has(name)) return seen;
  seen.add(name);
  const { pkg } = workspace.get(name);
  const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  const needed = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n))];
  for (const dep of needed) installedWith(dep, workspace, seen);
  return seen;
}

const bytes = (path) => {
  const s = lstatSync(path); // a symlink (node_modules/.bin) counts once, as itself
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + bytes(join(path, name)), 0);
};

/** Packs and installs the CLI into `work` (which must exist); returns what got installed. */
export function measureCliInstall(work) {
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs, { recursive: true });
  const workspace = workspacePackages();
  const packed = {};
  for (const name of installedWith("@ferry/cli", workspace)) {
    const [info] = JSON.parse(npm(["pack", "--json", "--pack-destination", tarballs], workspace.get(name).dir));
    packed[name] = `file:${join(tarballs, info.filename)}`;
  }
  const project = join(work, "install");
  mkdirSync(project, { recursive: true });
  const { "@ferry/cli": cli, ...others } = packed;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "measure", private: true, dependencies: { "@ferry/cli": cli }, overrides: others }, null, 2));
  npm(["install", "--prefer-offline", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"], project);

  const lock = JSON.parse(readFileSync(join(project, "node_modules", ".package-lock.json"), "utf8"));
  const packages = Object.keys(lock.packages).filter((p) => p.startsWith("node_modules/"));
  const size = bytes(join(project, "node_modules"));
  const heaviest = packages
    .map((p) => ({ name: p.replace(/^.*node_modules\//, ""), bytes: bytes(join(project, p)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 10);
  const megabytes = Math.round((size / 1e6) * 10) / 10;
  return {
    packages: packages.length,
    bytes: size,
    megabytes,
    withinGoal: size < GOAL.megabytes * 1e6 && packages.length < GOAL.packages,
    bin: join(project, "node_modules", ".bin", "ferry"),
    heaviest,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--prefix");
  const work = at >= 0 ? resolve(args[at + 1]) : mkdtempSync(join(tmpdir(), "ferry-cli-install-"));
  try {
    const result = measureCliInstall(work);
    if (args.includes("--json")) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`npm i -g @ferry/cli: ${result.megabytes} MB in ${result.packages} packages (goal: < ${GOAL.megabytes} MB, < ${GOAL.packages} packages)`);
      for (const h of result.heaviest) console.log(`  ${(h.bytes / 1e6).toFixed(1).padStart(6)} MB  ${h.name}`);
    }
    if (args.includes("--check") && !result.withinGoal) {
      console.error(
        `The CLI's install grew past the goal (${result.megabytes} MB, ${result.packages} packages): bundle the new dependency in apps/cli/build.mjs ` +
          "(a devDependency there), or load it only when used from a package the user installs beside the CLI.",
      );
      process.exitCode = 1;
    }
  } finally {
    if (at < 0) rmSync(work, { recursive: true, force: true });
  }
}
