import type { V1NetworkPolicy, V1NetworkPolicyPeer } from "@kubernetes/client-node";
import { runnerLabels } from "./job-spec.js";

export interface RunsNetworkPolicyOptions {
  /** The runs' namespace. */
  namespace: string;
  labelPrefix?: string;
  /** The cluster's pod and service ranges (e.g. 10.0.0.0/8): runs may not reach them, except DNS and the Ferry API below. */
  clusterCidrs: string[];
  /** Where the Ferry API runs: its pods' namespace and labels, and its port. */
  ferryApi: { namespace: string; podLabels: Record<string, string>; port: number };
  /** The cluster DNS pods; default kube-system's `k8s-app: kube-dns` (CoreDNS keeps that label). */
  dns?: { namespace: string; podLabels: Record<string, string> };
  /** Policy name. Default `<prefix>-runs`. */
  name?: string;
}

/** The cloud metadata service (and the rest of link-local), which hands out a node's credentials. */
export const METADATA_CIDR = "169.254.0.0/16";

/**
 * The NetworkPolicy of the runs' namespace: runs' pods take no connections at all, and may connect to
 * the cluster DNS, the Ferry API (its engine reports there) and the internet, but not to the cluster's
 * other pods and services or the metadata address. IPv6 egress is left out (no rule allows it), so a
 * dual-stack cluster's runs reach the internet over IPv4 only.
 */
export function buildRunsNetworkPolicy(options: RunsNetworkPolicyOptions): V1NetworkPolicy {
  const labels = runnerLabels(options.labelPrefix ?? "ferry");
  const dns = options.dns ?? { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } };
  const inNamespace = (namespace: string, podLabels: Record<string, string>): V1NetworkPolicyPeer => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: { matchLabels: podLabels },
  });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: options.name ?? `${options.labelPrefix ?? "ferry"}-runs`, namespace: options.namespace },
    spec: {
      podSelector: { matchLabels: { [labels.managed]: "true" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [
        {
          to: [inNamespace(dns.namespace, dns.podLabels)],
          ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
        },
        { to: [inNamespace(options.ferryApi.namespace, options.ferryApi.podLabels)], ports: [{ protocol: "TCP", port: options.ferryApi.port }] },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...options.clusterCidrs, METADATA_CIDR] } }] },
      ],
    },
  };
}
