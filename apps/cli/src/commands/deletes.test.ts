import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { profilesPath, readProfiles, writeProfiles } from "@ferry/client-node";
import { run } from "../program.js";
import { deployment } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeIoOptions } from "../testing/fake-io.js";

const KEY_ID = "00000000-0000-7000-8000-00000000000a";
const SCHEDULE_ID = "00000000-0000-7000-8000-00000000000b";
const d = deployment();
const deleted = () => json(200, { deleted: true });

/** Every command that deletes, with the request that does the deleting (null: a local file). */
const DELETES: { argv: string[]; prompt: RegExp; deletes: string | null }[] = [
  { argv: ["work-pool", "delete", "p"], prompt: /^Delete work pool 'p'\?$/, deletes: "DELETE /api/work-pools/p" },
  { argv: ["deployment", "delete", "etl/nightly"], prompt: /^Delete deployment etl\/nightly\? Its runs are kept\.$/, deletes: `DELETE /api/deployments/${d.id}` },
  { argv: ["credentials", "delete", "acme"], prompt: /^Delete credentials 'acme'\?$/, deletes: "DELETE /api/credentials/acme" },
  { argv: ["api-key", "delete", KEY_ID], prompt: /^Revoke API key 'ci' \(/, deletes: `DELETE /api/api-keys/${KEY_ID}` },
  { argv: ["oidc-trust", "delete", "gh"], prompt: /^Delete trust policy 'gh'\?/, deletes: "DELETE /api/oidc-trust-policies/gh" },
  {
    argv: ["deployment", "schedule", "rm", "etl/nightly", SCHEDULE_ID],
    prompt: /^Remove schedule .* from etl\/nightly/,
    deletes: `DELETE /api/deployments/${d.id}/schedules/${SCHEDULE_ID}`,
  },
  { argv: ["profile", "delete", "old"], prompt: /^Delete profile 'old'/, deletes: null },
];

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-deletes-"));
  await writeProfiles(profilesPath(home), { active: null, profiles: { old: { api_url: "http://old.test" } } });
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

function setup(options: FakeIoOptions = {}) {
  const server = fakeServer({
    "GET /api/deployments": () => json(200, { items: [d], next_cursor: null }),
    "GET /api/api-keys": () => json(200, { items: [{ id: KEY_ID, name: "ci", prefix: "fy_other", created_at: d.created_at, last_used_at: null }], next_cursor: null }),
    "DELETE /api/work-pools/p": deleted,
    [`DELETE /api/deployments/${d.id}`]: deleted,
    "DELETE /api/credentials/acme": deleted,
    [`DELETE /api/api-keys/${KEY_ID}`]: deleted,
    "DELETE /api/oidc-trust-policies/gh": deleted,
    [`DELETE /api/deployments/${d.id}/schedules/${SCHEDULE_ID}`]: () => json(200, d),
  });
  const io = fakeIo({ ...options, env: { FERRY_HOME: home, FERRY_API_URL: "http://ferry.test", FERRY_API_KEY: "fy_testkey_0123456789abcdefghijklmnop" }, fetch: server.fetch });
  const deletes = () => server.requests.filter((r) => r.method === "DELETE").map((r) => `${r.method} ${r.path}`);
  return { io, deletes };
}

async function profileKept(): Promise<boolean> {
  return Boolean((await readProfiles(profilesPath(home))).profiles.old);
}

describe.each(DELETES)("ferry $argv.0 $argv.1 follows the confirmation rule", ({ argv, prompt, deletes: request }) => {
  it("is refused without --yes when stdin is not a terminal, as a usage error naming --yes", async () => {
    const { io, deletes } = setup({ stdinIsTTY: false });
    expect(await run(argv, io)).toBe(2);
    expect(io.err()).toMatch(/^Error: refusing to delete without confirmation: stdin is not a terminal; pass --yes to confirm\n/);
    expect(io.prompts).toEqual([]);
    expect(deletes()).toEqual([]);
    if (!request) expect(await profileKept()).toBe(true);
  });

  it("asks on a terminal, and deletes nothing when the answer is no", async () => {
    const { io, deletes } = setup({ stdinIsTTY: true, confirm: false });
    expect(await run(argv, io)).toBe(1);
    expect(io.prompts).toHaveLength(1);
    expect(io.prompts[0]).toMatch(prompt);
    expect(io.err()).toMatch(/Nothing deleted\./);
    expect(deletes()).toEqual([]);
    if (!request) expect(await profileKept()).toBe(true);
  });

  it("deletes when the answer is yes", async () => {
    const { io, deletes } = setup({ stdinIsTTY: true, confirm: true });
    expect(await run(argv, io)).toBe(0);
    expect(deletes()).toEqual(request ? [request] : []);
    if (!request) expect(await profileKept()).toBe(false);
  });

  it("deletes without asking with --yes (and -y), terminal or not", async () => {
    for (const flag of ["--yes", "-y"]) {
      await writeProfiles(profilesPath(home), { active: null, profiles: { old: { api_url: "http://old.test" } } });
      const { io, deletes } = setup({ stdinIsTTY: false });
      expect(await run([...argv, flag], io)).toBe(0);
      expect(io.prompts).toEqual([]);
      expect(deletes()).toEqual(request ? [request] : []);
      if (!request) expect(await profileKept()).toBe(false);
    }
  });
});
