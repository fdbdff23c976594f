// Bundles the extension into one CommonJS file, as VS Code loads extensions: `vscode` is provided by
// the editor at run time, so it stays external; everything else (the API client, YAML) is inlined, so
// the .vsix carries no node_modules.
import { readFile, rm } from "node:fs/promises";
import { build } from "esbuild";

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
  // Minified, as it ships: the .vsix takes this file as it is (its source map stays out of the package).
  sourcemap: "linked",
  minify: true,
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`built dist/extension.cjs for ${pkg.name} ${pkg.version} (${Math.round(bytes / 1024)} KiB)`);
