// Bundles the CLI into one file so `ferry` starts fast: no module resolution across node_modules at
// startup. The server stays external: it is imported only by `ferry server start`; so does dockerode,
// imported only by a deploy with a build section. Providers are never bundled: their client plugins
// (provisioning, registry logins) are imported at run time by name, only by the commands that need them.
import { chmod, readFile, rm } from "node:fs/promises";
import { build } from "esbuild";

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));

await rm(new URL("./dist", import.meta.url), { recursive: true, force: true });
const result = await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/ferry.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  external: ["@ferry/server", "dockerode"],
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
await chmod("dist/ferry.js", 0o755);
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`built dist/ferry.js for ${pkg.name} ${pkg.version} (${Math.round(bytes / 1024)} KiB)`);
