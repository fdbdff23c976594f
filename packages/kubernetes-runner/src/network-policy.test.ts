import { describe, expect, it } from "vitest";
import { buildRunsNetworkPolicy } from "./network-policy.js";

describe("buildRunsNetworkPolicy", () => {
  const policy = buildRunsNetworkPolicy({ namespace: "ferry-runs", clusterCidrs: ["10.0.0.0/8"], ferryApi: { namespace: "ferry", podLabels: { app: "ferry-server" }, port: 4200 } });

  it("selects the runs' pods and lets nothing in", () => {
    expect(policy.metadata).toEqual({ name: "ferry-runs", namespace: "ferry-runs" });
    expect(policy.spec!.podSelector).toEqual({ matchLabels: { "ferry/managed": "true" } });
    expect(policy.spec!.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec!.ingress).toEqual([]);
  });

  it("lets runs reach DNS, the Ferry API's port and the internet, not the cluster's ranges or the metadata address", () => {
    const [dns, api, internet] = policy.spec!.egress!;
    expect(dns!.ports).toEqual([{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }]);
    expect(dns!.to![0]!.namespaceSelector).toEqual({ matchLabels: { "kubernetes.io/metadata.name": "kube-system" } });
    expect(api).toEqual({ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ferry" } }, podSelector: { matchLabels: { app: "ferry-server" } } }], ports: [{ protocol: "TCP", port: 4200 }] });
    expect(internet).toEqual({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "169.254.0.0/16"] } }] });
  });
});
