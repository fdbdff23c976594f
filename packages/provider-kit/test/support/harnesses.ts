import { captureLogger } from "../../src/conformance/index.js";
import { acmeProvisioner, AcmeAccount, type AcmeProvisionerBug } from "./acme-account.js";
import { AcmeCloud, AcmeProvider, type AcmeBug } from "./acme-cloud.js";

/** The conformance harnesses of Acme's provider and provisioner, optionally with bugs. */
const ACME_KEY = { id: "AK1", secret: "acme-secret-7f3b9c" };

export async function acmeHarness(bugs: AcmeBug[] = []) {
  const cloud = new AcmeCloud(ACME_KEY);
  const log = captureLogger();
  const make = () => new AcmeProvider(cloud, { logger: log.logger, bugs });
  return {
    provider: make(),
    restart: make,
    jobs: {
      quick: { outcome: "complete" },
      long: { outcome: "hang" },
      failing: { variables: { outcome: "exit-3" }, exitCode: 3 },
      unstartable: { variables: { image: "missing/app:1" }, reason: /missing\/app:1 was not found/ },
      refused: { zone: "nowhere" },
    },
    credentials: { key_id: ACME_KEY.id, key_secret: ACME_KEY.secret },
    secret: ACME_KEY.secret,
    badCredentials: { key_id: "AK-unknown", key_secret: ACME_KEY.secret },
    startedJobs: async () => cloud.jobs.size,
    throttle: (calls: number) => cloud.throttle(calls),
    refuseCancel: (calls: number) => cloud.refuseStops(calls),
    logLines: log.lines,
    cleanup: () => cloud.dispose(),
  };
}

export async function acmeProvisionerHarness(bugs: AcmeProvisionerBug[] = []) {
  const account = new AcmeAccount();
  const step: Record<string, string> = { network: "Createnetwork", user: "Createuser", key: "Createkey", bucket: "Createbucket" };
  return {
    provisioner: acmeProvisioner(account, bugs),
    snapshot: async () => account.snapshot(),
    failAt: (id: string) => account.failNext(step[id]!),
    seedForeign: async () => {
      // The expected network name without the tag (adopted by apply, kept by removal), and another pool's bucket.
      account.create("network", "ferry-net", {});
      account.create("bucket", "their-bucket", { "ferry-pool": "someone-else" });
    },
  };
}

