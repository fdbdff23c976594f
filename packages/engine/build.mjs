// Bundles the engine into one file that runs on the base image's Node.js 24 (node22: the oldest the
// project supports, as when the engine runs outside the image), with @ferry/core inside it.
// esbuild stays external: the engine calls it at run time to bundle TypeScript flows, so it ships as
// a dependency (and in the image) instead of being bundled.
import { chmod, cp, readFile, rm } from "node:fs/promises";
import { build } from "esbuild";

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));

await rm(new URL("./dist", import.meta.url), { recursive: true, force: true });
const result = await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/engine.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  external: ["esbuild"],
  define: { __ENGINE_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM output one.
    js: "#!/usr/bin/env node\nimport { createRequire as __ferryCreateRequire } from 'node:module';\nconst require = __ferryCreateRequire(import.meta.url);",
  },
  sourcemap: "linked",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
await chmod("dist/engine.mjs", 0o755);
await cp("src/shims", "dist/shims", {
  recursive: true,
  filter: (source) => !source.endsWith(".test.ts") && !source.includes("__pycache__"),
});
// The Python SDK (packages/python-sdk, import name `ferry`) goes beside the shim, which puts it last on
// sys.path: a flow that imports `ferry` for its `@flow` decorator runs without installing it, and a
// version the run installs itself wins.
await cp("../python-sdk/src/ferry", "dist/shims/python/ferry", {
  recursive: true,
  filter: (source) => !source.includes("__pycache__"),
});
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`built dist/engine.mjs for ${pkg.name} ${pkg.version} (${Math.round(bytes / 1024)} KiB) and dist/shims (with the Python SDK)`);
