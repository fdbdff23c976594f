import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Builds the binary under test, and checks the server it starts is built. */
export default function setup(): void {
  const cliDir = fileURLToPath(new URL("..", import.meta.url));
  const serverEntry = fileURLToPath(new URL("../../../packages/server/dist/index.js", import.meta.url));
  if (!existsSync(serverEntry)) {
    throw new Error(`@ferry/server is not built (${serverEntry} is missing); run 'npx turbo run build --filter=@ferry/server' first`);
  }
  execFileSync(process.execPath, ["build.mjs"], { cwd: cliDir, stdio: "inherit" });
}
