import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FerryError, type InfrastructureRef, type SubmitRequest } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { describeProviderConformance, describeProvisionerConformance } from "../src/conformance/index.js";
import { acmeHarness, acmeProvisionerHarness } from "./support/harnesses.js";

// The suites on core's fake (what the server's tests drive) and on Acme, a made-up cloud with a
// provider and a provisioner written on the kit: both must pass; conformance-catches.test.ts shows
// that broken versions fail.

/** Core's fake, with its "cloud" answering throttled on demand (shared by every instance, as a cloud is). */
class ThrottlingFake extends FakeComputeProvider {
  constructor(
    private readonly cloud: { throttled: number; refusedStops: number },
    journalFile: string,
  ) {
    super({ type: "fake:push", journalFile });
  }

  override submit(request: SubmitRequest) {
    return this.gate().then(() => super.submit(request));
  }

  override status(ref: InfrastructureRef) {
    return this.gate().then(() => super.status(ref));
  }

  override cancel(ref: InfrastructureRef, reason: string) {
    return this.gate().then(() => {
      if (this.cloud.refusedStops > 0) {
        this.cloud.refusedStops--;
        throw new FerryError("provider_auth", "fake platform: not allowed to stop this job");
      }
      return super.cancel(ref, reason);
    });
  }

  private async gate(): Promise<void> {
    if (this.cloud.throttled > 0) {
      this.cloud.throttled--;
      throw new FerryError("provider_throttled", "fake platform: rate exceeded");
    }
  }
}

describeProviderConformance("core's FakeComputeProvider", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-fake-conformance-"));
  const journal = join(dir, "journal.jsonl");
  const cloud = { throttled: 0, refusedStops: 0 };
  const instances: FakeComputeProvider[] = [];
  const make = () => {
    const p = new ThrottlingFake(cloud, journal);
    instances.push(p);
    return p;
  };
  return {
    provider: make(),
    restart: make,
    jobs: {
      quick: { outcome: "complete" },
      long: { outcome: "hang" },
      failing: { variables: { outcome: "exit-1" }, exitCode: 1 },
      unstartable: { variables: { outcome: "fail-to-start" }, reason: /pull/i },
      refused: { outcome: "submit-error" },
    },
    credentials: null,
    secret: "fake-has-no-credentials",
    startedJobs: async () => {
      try {
        return readFileSync(journal, "utf8").split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    throttle: (calls) => void (cloud.throttled = calls),
    refuseCancel: (calls) => void (cloud.refusedStops = calls),
    cleanup: () => {
      for (const p of instances) p.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeProviderConformance("AcmeProvider (written on the kit)", () => acmeHarness());

describeProvisionerConformance("the Acme provisioner (written on the kit's step engine)", () => acmeProvisionerHarness());
