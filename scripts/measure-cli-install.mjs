#!/usr/bin/env node
// What `npm i -g @ferry/cli` installs: packs every public workspace package, installs the CLI's
// tarball (its @ferry/* dependencies from their tarballs, the rest from npm's cache, --prefer-offline) into a
// temporary folder, and prints its size and package count. The goal (issue 19): under 30 MB and 60
// packages. Run after the build:  node scripts/measure-cli-install.mjs [--json]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const work = mkdtempSync(join(tmpdir(), "ferry-cli-install-"));
try {
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  const dirs = ["packages", "apps"].flatMap((g) => readdirSync(join(root, g)).map((n) => join(root, g, n)));
  const packed = {};
  for (const dir of dirs) {
    if (!existsSync(join(dir, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (pkg.private) continue;
    const [info] = JSON.parse(npm(["pack", "--json", "--pack-destination", tarballs], dir));
    packed[pkg.name] = `file:${join(tarballs, info.filename)}`;
  }
  const project = join(work, "install");
  mkdirSync(project);
  const { "@ferry/cli": cli, ...others } = packed;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "measure", private: true, dependencies: { "@ferry/cli": cli }, overrides: others }, null, 2));
  npm(["install", "--prefer-offline", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"], project);

  const lock = JSON.parse(readFileSync(join(project, "node_modules", ".package-lock.json"), "utf8"));
  const packages = Object.keys(lock.packages).filter((p) => p.startsWith("node_modules/"));
  const bytes = (path) => {
    const s = statSync(path);
    if (!s.isDirectory()) return s.size;
    return readdirSync(path).reduce((sum, name) => sum + bytes(join(path, name)), 0);
  };
  const size = bytes(join(project, "node_modules"));
  const heaviest = packages
    .map((p) => ({ name: p.replace(/^.*node_modules\//, ""), bytes: bytes(join(project, p)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 10);
  const result = { packages: packages.length, bytes: size, megabytes: Math.round((size / 1e6) * 10) / 10, heaviest };
  if (process.argv.includes("--json")) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`npm i -g @ferry/cli: ${result.megabytes} MB in ${result.packages} packages (goal: < 30 MB, < 60 packages)`);
    for (const h of heaviest) console.log(`  ${(h.bytes / 1e6).toFixed(1).padStart(6)} MB  ${h.name}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
