// Bundles the action into one ESM file that the runner's node24 (action.yml) starts directly: GitHub checks out the
// action's repository and runs dist/index.js without installing anything, so every dependency is inside.
// `node build.mjs --outfile DIR/index.js` writes elsewhere (the staleness test compares the two).
import { build } from "esbuild";

export const BUILD_OPTIONS = {
  entryPoints: ["src/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  // node22: the project's oldest supported Node.js; the runner's node24 runs it too.
  target: "node22",
  // Bundled CommonJS dependencies call require(); give the ESM output one.
  banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module';const require = __ferryCreateRequire(import.meta.url);" },
  legalComments: "none",
  logLevel: "warning",
};

const i = process.argv.indexOf("--outfile");
const outfile = i > 0 ? process.argv[i + 1] : "dist/index.js";
await build({ ...BUILD_OPTIONS, absWorkingDir: new URL(".", import.meta.url).pathname, outfile });
if (i < 0) console.log(`built ${outfile}`);
