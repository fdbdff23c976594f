// Bundles the CLI into one file so `ferry` starts fast (no module resolution across node_modules at startup)
// and installs small: `npm i -g @ferry/cli` fetches no dependency at all (goal of issue 19: < 30 MB, < 60
// packages, checked by scripts/measure-cli-install.mjs). Its third-party code, dockerode included, is
// inside dist/ferry.js, with the licences of those packages in dist/licenses.txt.
// Not bundled:
// - @ferry/server, an optional peer: only `ferry server start` and `server reset-key` import it, and it
//   brings the embedded databases (tens of MB); without it those commands say how to install it.
// - providers' client plugins: imported at run time by name, only by the commands that need them.
// - ssh2's native parts (cpu-features, sshcrypto.node): optional, loaded in a try; ssh2 falls back to
//   pure JavaScript.
// - dockerode's BuildKit session (gRPC and protobuf, loading .proto files beside its sources): the CLI
//   builds with the classic builder (src/images/README.md), so those modules are stubs that say so.
import { chmod, readFile, writeFile } from "node:fs/promises";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { licensesText } from "../../scripts/bundle-licenses.mjs";

const pkg = JSON.parse(await readFile(new URL("./package.json", import.meta.url), "utf8"));
const workingDir = fileURLToPath(new URL(".", import.meta.url));

const BUILDKIT_ONLY = /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
/** Replaces the modules only dockerode's BuildKit paths use with one that throws when touched. */
const buildkitStub = {
  name: "buildkit-stub",
  setup(b) {
    b.onResolve({ filter: BUILDKIT_ONLY }, (args) => ({ path: args.path, namespace: "buildkit-stub" }));
    b.onLoad({ filter: /.*/, namespace: "buildkit-stub" }, (args) => ({
      loader: "js",
      contents:
        `const message = ${JSON.stringify(`${args.path} is not in the bundled ferry CLI: it builds images with Docker's classic builder, not a BuildKit session`)};\n` +
        "module.exports = new Proxy({}, { get(_, key) { if (key === '__esModule' || typeof key === 'symbol') return undefined; throw new Error(message); } });\n",
    }));
  },
};

await rm(new URL("./dist", import.meta.url), { recursive: true, force: true });
const result = await build({
  absWorkingDir: workingDir,
  entryPoints: ["src/main.ts"],
  outfile: "dist/ferry.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  external: ["@ferry/server", "cpu-features", "*.node"],
  plugins: [buildkitStub],
  banner: {
    // Bundled CommonJS dependencies call require() and read __filename/__dirname (ssh2's WebAssembly
    // loaders do); give the ESM output those, as Node gives a CommonJS module.
    js:
      "#!/usr/bin/env node\nimport { createRequire as __ferryCreateRequire } from 'node:module';\nimport { fileURLToPath as __ferryFileURLToPath } from 'node:url';\n" +
      "const require = __ferryCreateRequire(import.meta.url);\nconst __filename = __ferryFileURLToPath(import.meta.url);\nconst __dirname = __ferryFileURLToPath(new URL('.', import.meta.url));",
  },
  sourcemap: "linked",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
await chmod("dist/ferry.js", 0o755);
await writeFile("dist/licenses.txt", licensesText(result.metafile, { workingDir, bundle: "dist/ferry.js" }));
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`built dist/ferry.js for ${pkg.name} ${pkg.version} (${Math.round(bytes / 1024)} KiB) and dist/licenses.txt`);
