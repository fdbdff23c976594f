// Bundles the extension into one CommonJS file, as VS Code loads extensions: `vscode` is provided by
// the editor at run time, so it stays external; everything else (the API client, YAML) is inlined, so
// the .vsix carries no node_modules.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { build } from "esbuild";
import { PROJECT_FILE_JSON_SCHEMA } from "@ferry/core";

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));

await rm(new URL("./dist/extension.cjs", import.meta.url), { force: true });
const result = await build({
  entryPoints: ["src/extension.ts"],
  outfile: "dist/extension.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  // The editor's Node.js, not the project's: the oldest VS Code in engines.vscode (1.90, Electron 29)
  // runs extensions on Node 20.9, as the code-server of the end-to-end test (4.100.3) runs on Node 20.
  target: "node20",
  external: ["vscode"],
  // Bundled ES modules (@ferry/client-node's plugin loader) read import.meta.url, which CommonJS output
  // leaves empty: give it this bundle's own file URL, what it would be were the bundle a module.
  define: { "import.meta.url": "__ferryImportMetaUrl" },
  // ("use strict" first, so the banner does not turn the bundle's own directive into a plain string.)
  banner: { js: '"use strict";const __ferryImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Minified, as it ships: the .vsix takes this file as it is (its source map stays out of the package).
  sourcemap: "linked",
  minify: true,
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`built dist/extension.cjs for ${pkg.name} ${pkg.version} (${Math.round(bytes / 1024)} KiB)`);

// ferry.yaml's JSON Schema, from core's (the parser's fields), for yamlValidation and jsonValidation.
await mkdir(new URL("./dist/", import.meta.url), { recursive: true });
await writeFile(new URL("./dist/ferry.schema.json", import.meta.url), `${JSON.stringify(PROJECT_FILE_JSON_SCHEMA, null, 2)}\n`);
console.log("wrote dist/ferry.schema.json");
