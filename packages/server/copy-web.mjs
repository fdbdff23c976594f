// Part of this package's build: ships the web UI inside the server. Copies apps/web's build (dist/) to
// dist/web, which the server serves at /. Without a UI build the server still works and its / says how
// to make one (`npm run build` at the repository's root builds the UI first: @ferry/web is a devDependency).
import { cpSync, existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../../apps/web/dist", import.meta.url));
const to = fileURLToPath(new URL("./dist/web", import.meta.url));
rmSync(to, { recursive: true, force: true });
if (existsSync(`${from}/index.html`)) {
  cpSync(from, to, { recursive: true });
  console.log(`web UI: copied ${from} to ${to}`);
} else {
  console.log(`web UI: ${from} has no build; the server will say how to build it (npm run build at the repository's root)`);
}
