import type { Provisioner } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { providerConformanceChecks, provisionerConformanceChecks, type ConformanceCheck } from "../src/conformance/index.js";
import type { AcmeBug } from "./support/acme-cloud.js";
import type { AcmeProvisionerBug } from "./support/acme-account.js";
import { acmeHarness, acmeProvisionerHarness } from "./support/harnesses.js";

// A suite that cannot fail proves nothing: each broken provider or provisioner below fails the check
// that guards against its bug (the same implementations without the bug pass: conformance.test.ts).

function named<H>(checks: ConformanceCheck<H>[], prefix: string): ConformanceCheck<H> {
  const found = checks.find((c) => c.name.startsWith(prefix));
  if (!found) throw new Error(`no check starts with '${prefix}'`);
  return found;
}

describe("the ComputeProvider suite fails a provider that", () => {
  it.each<[string, AcmeBug, string, RegExp]>([
    ["starts a second job when a run is submitted again", "double-start", "starts one job when the same run is submitted twice", /expected 'job-2' to be 'job-1'/],
    ["starts a second job when a restarted server resubmits (no find)", "double-start", "a restarted provider resubmitting", /expected 'job-2' to be 'job-1'/],
    ["puts the credentials' secret in an error", "leak-secret", "keeps the credentials' secret", /the secret is in: .*with secret acme-secret/],
    ["logs the credentials", "log-secret", "keeps the credentials' secret", /to deeply equal \[\]/],
    ["reports every exit code as 0", "exit-zero", "reports a job's non-zero exit code", /exitCode: 3/],
    ["does not call throttling retryable", "no-retry-class", "submits through throttling", /expected a provider_throttled FerryError/],
    ["resolves a cancel the cloud refused", "cancel-swallows", "cancel that fails rejects", /a refused stop must reject with a FerryError/],
  ])("%s", async (_what, bug, check, why) => {
    await expect(named(providerConformanceChecks, check).run(() => acmeHarness([bug]))).rejects.toThrow(why);
  });
});

/** A provisioner that drops the user's options instead of checking them: a typo would go unnoticed. */
function ignoringOptions(p: Provisioner): Provisioner {
  const strip = <T extends { options: Record<string, string> }>(input: T): T => ({ ...input, options: {} });
  return { ...p, type: p.type, optionsSchema: p.optionsSchema, plan: (i) => p.plan(strip(i)), apply: (i, on) => p.apply(strip(i), on), planRemoval: (i) => p.planRemoval(strip(i)), remove: (i, on) => p.remove(strip(i), on) };
}

describe("the Provisioner suite fails a provisioner that", () => {
  it.each<[string, AcmeProvisionerBug, string, RegExp]>([
    ["makes a second key when applied again", "second-key", "applying again creates nothing", /to deeply equal \[\]/],
    ["never stores the key it makes (a re-run makes another)", "no-key-storage", "applying again creates nothing", /to deeply equal \[\]/],
    ["removes what is not tagged for the pool", "remove-untagged", "removal touches nothing without the pool's tag", /id: 'bucket'/],
    ["leaves behind something it made", "forget-made", "removal deletes what provisioning made", /to deeply equal/],
  ])("%s", async (_what, bug, check, why) => {
    await expect(named(provisionerConformanceChecks, check).run(() => acmeProvisionerHarness([bug]))).rejects.toThrow(why);
  });

  it("accepts options it does not know", async () => {
    const setup = async () => {
      const h = await acmeProvisionerHarness();
      return { ...h, provisioner: ignoringOptions(h.provisioner) };
    };
    await expect(named(provisionerConformanceChecks, "refuses an unknown option").run(setup)).rejects.toThrow(/expected the call to fail/);
  });
});
