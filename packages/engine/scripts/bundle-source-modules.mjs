// Stages every workspace package's engine-side blob-source module ("./source" in its exports) into
// OUT/node_modules/<name>/, one esbuild bundle with all its dependencies inlined, so the engine's
// `import("<name>/source")` resolves inside the image. Which packages: whatever the workspace has; the
// engine names no provider.
//
//   node bundle-source-modules.mjs ESBUILD_DIR OUT_DIR   (run from the repository, after their build)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [esbuildDir, outDir] = process.argv.slice(2);
if (!esbuildDir || !outDir) throw new Error("usage: bundle-source-modules.mjs ESBUILD_DIR OUT_DIR");
const esbuild = createRequire(join(esbuildDir, "package.json"))(esbuildDir);

/** The file an ESM import of the "./source" export loads: a string, or the import/default condition. */
function entryOf(target) {
  if (typeof target === "string") return target;
  if (target && typeof target === "object") return entryOf(target.import ?? target.node ?? target.default);
  return undefined;
}

const workspaces = JSON.parse(execFileSync("npm", ["query", ".workspace"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
const sources = workspaces.filter((p) => p.exports && typeof p.exports === "object" && "./source" in p.exports);
if (sources.length === 0) throw new Error("no workspace package exports ./source: run this from the repository checkout");

for (const pkg of sources) {
  const entry = entryOf(pkg.exports["./source"]);
  const from = join(pkg.realpath ?? pkg.path, entry ?? "");
  if (!entry || !existsSync(from)) throw new Error(`${pkg.name}'s ./source export (${entry}) is not built: run npx turbo run build --filter=${pkg.name}...`);
  const dir = join(outDir, "node_modules", pkg.name);
  mkdirSync(join(dir, "dist"), { recursive: true });
  await esbuild.build({
    entryPoints: [from],
    outfile: join(dir, "dist", "source.js"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    // The cloud SDKs are CommonJS that require() Node's built-ins; an ESM bundle has no require of its own.
    banner: { js: `import { createRequire as __ferryCreateRequire } from "node:module"; const require = __ferryCreateRequire(import.meta.url);` },
  });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", exports: { "./source": "./dist/source.js" } }, null, 2)}\n`);
  console.log(`staged ${pkg.name}/source (${(statSync(join(dir, "dist", "source.js")).size / 1e6).toFixed(1)} MB)`);
}
