// Bundles the CLI into one file so `ferry` starts fast: no module resolution across node_modules at
// startup. The server stays external: it is imported only by `ferry server start`; so does AWS provisioning
// (the AWS SDK), imported only by the work-pool provisioning commands, and dockerode and the ECR client,
// imported only by a deploy with a build section.
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
  external: ["@ferry/server", "@ferry/provider-aws", "dockerode", "@aws-sdk/client-ecr"],
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
