import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

// The architecture check (scripts/check-architecture.mjs, run by `npm run lint`) must fail when a line
// is crossed, or it proves nothing: here it checks a small tree laid out like the repository, with one
// breach of each rule, then the same tree without them.
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const CHECK = join(REPO, "scripts", "check-architecture.mjs");

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), "ferry-architecture-"));
  copyFileSync(join(REPO, ".dependency-cruiser.cjs"), join(root, ".dependency-cruiser.cjs"));
  copyFileSync(join(REPO, "tsconfig.base.json"), join(root, "tsconfig.base.json"));
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"), "dir");
  const all: Record<string, string> = {
    "packages/provider-acme/package.json": JSON.stringify({ name: "@acme/provider", ferry: { cloud: { terms: ["acme"] } } }),
    "packages/provider-acme/src/index.ts": 'export const provider = "acme:push";\n',
    "packages/server/src/plugins.ts": "export const load = (name: string) => import(name);\n",
    "packages/core/src/index.ts": 'import { parse } from "yaml";\nexport const read = parse;\n',
    "apps/vscode-extension/src/view.ts": "export const view = 1;\n",
    "apps/cli/src/main.ts": '// Pools of the acme cloud are provisioned by its plugin: comments may name a cloud.\nexport const types = ["ferry:managed"];\n',
    "packages/e2e/test/everything.test.ts":
      'import "../../server/src/plugins.js";\nimport "../../provider-acme/src/index.js";\nimport "@aws-sdk/client-ecs";\nexport const pool = "acme:push";\n',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(dir: string): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, [CHECK, "--root", dir], { encoding: "utf8" });
  return { code: result.status, output: result.stdout + result.stderr };
}

describe("the architecture check", () => {
  it("passes a tree that keeps the rules (e2e may import everything; comments may name a cloud)", () => {
    const { code, output } = check(tree({}));
    expect(output).toMatch(/no dependency violations found/);
    expect(output).toMatch(/cloud names: none/);
    expect(code).toBe(0);
  });

  it("fails on each breach, naming the rule and the file", () => {
    const { code, output } = check(
      tree({
        "packages/core/src/uses-server.ts": 'import { load } from "../../server/src/plugins.js";\nexport const x = load;\n',
        "packages/core/src/uses-a-library.ts": 'import pRetry from "p-retry";\nexport const r = pRetry;\n',
        "packages/server/src/names-the-provider.ts": 'import { provider } from "../../provider-acme/src/index.js";\nexport const p = provider;\n',
        "packages/server/src/uses-an-sdk.ts": 'import { ECSClient } from "@aws-sdk/client-ecs";\nexport const c = ECSClient;\n',
        "packages/provider-acme/src/reaches-the-server.ts": 'import { load } from "../../server/src/plugins.js";\nexport const l = load;\n',
        "apps/cli/src/imports-an-app.ts": 'import { view } from "../../vscode-extension/src/view.js";\nexport const v = view;\n',
        "apps/cli/src/a-test.test.ts": 'import { provider } from "../../../packages/provider-acme/src/index.js";\nexport const t = provider;\n',
        "apps/cli/src/names-a-cloud.ts": 'export const hint = `use --type acme:push`;\nexport function acmeTemplate() {}\n',
      }),
    );
    expect(code).toBe(1);
    expect(output).toMatch(/core-is-pure: packages\/core\/src\/uses-server\.ts → packages\/server\/src\/plugins\.ts/);
    expect(output).toMatch(/core-is-pure: packages\/core\/src\/uses-a-library\.ts → .*p-retry/);
    expect(output).toMatch(/no-cloud-in-hosts: packages\/server\/src\/names-the-provider\.ts → packages\/provider-acme\/src\/index\.ts/);
    expect(output).toMatch(/no-cloud-in-hosts: packages\/server\/src\/uses-an-sdk\.ts → .*@aws-sdk/);
    expect(output).toMatch(/providers-do-not-import-the-server: packages\/provider-acme\/src\/reaches-the-server\.ts/);
    expect(output).toMatch(/apps-do-not-import-apps: apps\/cli\/src\/imports-an-app\.ts → apps\/vscode-extension\/src\/view\.ts/);
    expect(output).toMatch(/no-cloud-in-hosts: apps\/cli\/src\/a-test\.test\.ts/);
    expect(output).toMatch(/apps\/cli\/src\/names-a-cloud\.ts:1: 'acme' \(@acme\/provider\)/);
    expect(output).toMatch(/apps\/cli\/src\/names-a-cloud\.ts:2: 'acme' \(@acme\/provider\) in "acmeTemplate"/);
    expect(output).not.toMatch(/packages\/e2e\//);
    expect(output).not.toMatch(/apps\/cli\/src\/main\.ts/);
  });
});
