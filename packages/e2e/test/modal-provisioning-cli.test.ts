import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startModalLocal, type ModalLocal } from "@ferry/modal-local";
import { sdkClients } from "@ferry/provider-modal";
import type { Credentials, WorkPool } from "@ferry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ferry as runFerry, parseJson, startServer, transcript, type CliResult, type ServerProcess } from "../../../apps/cli/test/cli-harness.js";

// `ferry work-pool create --type modal:push --provision-infra` as a user runs it: their Modal token in
// ~/.modal.toml (or MODAL_TOKEN_ID / MODAL_TOKEN_SECRET), the official SDK inside the CLI, and Modal
// here @ferry/modal-local (sandboxes in memory), reached through the plugin's server_url option.
let home: string;
let server: ServerProcess;
let local: ModalLocal;
let env: Record<string, string>;

const ferry = (args: string[], extra: Record<string, string> = {}) => runFerry(args, { home, env: { ...env, ...extra } });
const ok = (result: CliResult) => expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-e2e-modal-provision-"));
  local = await startModalLocal({ docker: null });
  const options = JSON.stringify({ "@ferry/provider-modal": { server_url: local.url } });
  // The user's Modal configuration: a profile file with an active profile, as `modal token new` writes it.
  const config = join(home, "modal.toml");
  await writeFile(config, `[elsewhere]\ntoken_id = "ak-Elsewhere0"\ntoken_secret = "as-Elsewhere0"\n\n[me]\ntoken_id = "${local.token.tokenId}"\ntoken_secret = "${local.token.tokenSecret}"\nactive = true\n`);
  env = { FERRY_PROVIDER_OPTIONS: options, MODAL_CONFIG_PATH: config };
  server = await startServer(home, 60_000, { FERRY_PROVIDERS: "@ferry/provider-modal", FERRY_PROVIDER_OPTIONS: options, MODAL_CONFIG_PATH: join(home, "none.toml") });
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await local?.close();
  await rm(home, { recursive: true, force: true });
});

describe("ferry work-pool create --provision-infra (modal:push) against modal-local", () => {
  it("reads the active profile's token, checks it with Modal, stores it as the pool's credentials and makes the app", async () => {
    const result = await ferry(["work-pool", "create", "m", "--type", "modal:push", "--provision-infra", "--yes"]);
    ok(result);
    expect(result.stdout).toMatch(/RESOURCE\s+NAME\s+ACTION/);
    expect(result.stderr).toMatch(/^✓ Modal token pool credentials: created \(checked against Modal: profile 'me' of .*modal\.toml\)/m);
    expect(result.stderr).toMatch(/^✓ Modal app ferry: created/m);
    expect(result.stdout).toMatch(/Created work pool 'm' \(modal:push\) with credentials 'm-modal'/);
    const pool = parseJson<WorkPool>(await ferry(["work-pool", "inspect", "m", "--json"]));
    expect(pool).toMatchObject({ type: "modal:push", credentials: "m-modal" });
    expect(pool.base_job_template.variables.properties.app_name!.default).toBe("ferry");
    const credentials = parseJson<Credentials>(await ferry(["credentials", "inspect", "m-modal", "--json"]));
    expect(credentials).toMatchObject({ type: "modal", data: { token_id: local.token.tokenId, token_secret: "********" } });
    expect(transcript.join("\n")).not.toContain(local.token.tokenSecret);
    expect(local.calls().some((c) => c.rpc === "EnvironmentGetOrCreate" && c.tokenId === local.token.tokenId && c.status === "OK")).toBe(true);
  });

  it("provision-infra on the pool finds everything and stores nothing again", async () => {
    const result = await ferry(["work-pool", "provision-infra", "m", "--json"]);
    ok(result);
    const out = JSON.parse(result.stdout) as { plan: { action: string }[] };
    expect(out.plan.map((s) => s.action)).toEqual(["exists", "exists"]);
  });

  it("a token Modal refuses stops provisioning with Modal's words and how to make a token; no pool is made", async () => {
    const result = await ferry(["work-pool", "create", "refused", "--type", "modal:push", "--provision-infra", "--yes", "--modal-profile", "elsewhere"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/Modal did not accept the token \(.+\): make a token with 'modal token new'/);
    expect((await ferry(["work-pool", "inspect", "refused"])).code).toBe(4);
  });

  it("without any token, says how to make one", async () => {
    const result = await ferry(["work-pool", "create", "none", "--type", "modal:push", "--provision-infra", "--yes"], { MODAL_CONFIG_PATH: join(home, "missing.toml") });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("modal token new");
    expect(result.stderr).toContain("MODAL_TOKEN_ID and MODAL_TOKEN_SECRET");
  });

  it("deprovision terminates the pool's leftover sandboxes in its app, and leaves another pool's", async () => {
    const modal = sdkClients(local.url)({ token: local.token, environment: null });
    const app = await modal.apps.fromName("ferry");
    const image = modal.images.fromRegistry("ferry-engine:latest");
    const mine = await modal.sandboxes.create(app, image, { command: ["sleep", "600"], tags: { "ferry-pool": "m" } });
    const theirs = await modal.sandboxes.create(app, image, { command: ["sleep", "600"], tags: { "ferry-pool": "other" } });
    const result = await ferry(["work-pool", "deprovision", "m", "--yes"]);
    ok(result);
    expect(result.stderr).toMatch(new RegExp(`^✓ Modal sandbox ${mine.sandboxId}: removed`, "m"));
    expect(result.stdout).toContain("Removed 1 cloud resources of pool 'm'");
    // The pool still uses the token provisioning stored: the server refuses to delete it, and says so.
    expect(result.stderr).toMatch(/^– Ferry credentials m-modal: left alone \(.*in use.*\); remove them with 'ferry work-pool delete m' then 'ferry credentials delete m-modal'$/m);
    expect(local.sandbox(mine.sandboxId)).toMatchObject({ terminateRequested: true, status: "finished" });
    expect(local.sandbox(theirs.sandboxId)?.status).toBe("running");
    await theirs.terminate();
  });

  it("deprovision of a deleted pool removes the token provisioning stored for it", async () => {
    ok(await ferry(["work-pool", "delete", "m", "--yes"]));
    const result = await ferry(["work-pool", "deprovision", "m", "--yes", "--type", "modal:push"]);
    ok(result);
    expect(result.stdout).toMatch(/Ferry credentials\s+m-modal\s+delete/);
    expect(result.stderr).toMatch(/^✓ Ferry credentials m-modal: removed$/m);
    const listed = await ferry(["credentials", "ls", "--json"]);
    ok(listed);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((c) => c.name)).not.toContain("m-modal");
  });
});
