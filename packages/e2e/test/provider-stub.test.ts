import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeProviderConformance, describeProvisionerConformance } from "@ferry/provider-kit/conformance";
import { StubCloud, stubProvider, stubProvisioner } from "./fixtures/provider-stub/index.js";

// The one-file stub provider passes both conformance suites, like every provider package: proof that a
// cloud written on the kit is a thin translator. Its cloud is a JSON file, as in the CLI test.

interface Account {
  jobs: unknown[];
  resources: { id: string; kind: string; name: string; tags: Record<string, string>; secret?: string }[];
  throttle: number;
  failNext: string[];
  counter: number;
}

function account(): { cloud: StubCloud; read(): Account; write(change: (a: Account) => void): void; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ferry-stub-cloud-"));
  const file = join(dir, "account.json");
  const read = (): Account => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Account;
    } catch {
      return { jobs: [], resources: [], throttle: 0, failNext: [], counter: 0 };
    }
  };
  return {
    cloud: new StubCloud(file),
    read,
    write(change) {
      const a = read();
      change(a);
      writeFileSync(file, JSON.stringify(a));
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describeProviderConformance("the stub provider (one file on the kit)", async () => {
  const acct = account();
  // The pool's key, as provisioning would have made it.
  const secret = `stub-secret-${Date.now()}-conformance`;
  acct.write((a) => a.resources.push({ id: "key-0", kind: "key", name: "pool-key", tags: {}, secret }));
  const make = () => stubProvider(acct.cloud);
  return {
    provider: make(),
    restart: make,
    jobs: {
      quick: { outcome: "complete", duration_ms: 30 },
      long: { outcome: "hang" },
      failing: { variables: { outcome: "fail", exit_code: 3 }, exitCode: 3 },
      unstartable: { variables: { outcome: "unstartable" }, reason: /was not found in its registry/ },
      refused: { network: "network-that-does-not-exist" },
    },
    credentials: { key_id: "key-0", key_secret: secret },
    secret,
    badCredentials: { key_id: "key-unknown", key_secret: secret },
    startedJobs: async () => acct.read().jobs.length,
    throttle: (calls) => acct.write((a) => void (a.throttle = calls)),
    refuseCancel: (calls) =>
      acct.write((a) => {
        a.failNext = [...a.failNext.filter((o) => o !== "StopJob"), ...(calls > 0 ? ["StopJob"] : [])];
      }),
    cleanup: acct.cleanup,
  };
});

describeProvisionerConformance("the stub provisioner (one file on the kit's step engine)", async () => {
  const acct = account();
  const operations: Record<string, string> = { network: "CreateNetwork", key: "CreateKey" };
  return {
    provisioner: stubProvisioner(acct.cloud),
    snapshot: async () => acct.read().resources.map((r) => `${r.kind} ${r.id} ${r.name} ${JSON.stringify(r.tags)}`).sort(),
    failAt: (step) => acct.write((a) => void a.failNext.push(operations[step]!)),
    seedForeign: async () =>
      acct.write((a) => {
        // The expected network name without a tag (adopted by provisioning, kept by removal), and another pool's network.
        a.resources.push({ id: "network-foreign-1", kind: "network", name: "ferry-stub-net", tags: {} });
        a.resources.push({ id: "network-foreign-2", kind: "network", name: "their-net", tags: { "ferry-pool": "someone-else" } });
      }),
    cleanup: acct.cleanup,
  };
});
