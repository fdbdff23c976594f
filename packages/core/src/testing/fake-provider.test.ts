import { FakeComputeProvider } from "./fake-provider.js";
import { describeProviderConformance } from "./provider-conformance.js";

describeProviderConformance("FakeComputeProvider", async () => {
  const provider = new FakeComputeProvider();
  return {
    provider,
    quickJob: { outcome: "complete" },
    longJob: { outcome: "hang" },
    cleanup: () => provider.dispose(),
  };
});
