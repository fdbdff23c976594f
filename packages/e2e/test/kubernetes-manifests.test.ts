import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

/**
 * deploy/kubernetes/*.yaml against the Kubernetes API's schemas (kubernetes-models: types, required
 * fields, enums), plus what the schemas cannot say: the properties deploy/README.md promises.
 */
const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../deploy/kubernetes");

/** The kinds the manifests use, by apiVersion/kind: a manifest of another kind fails until it is added. */
const MODELS = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
} as const;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Parses every YAML document of a text and validates each against its kind's schema; throws on the first problem. */
export function validateManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value === null) continue;
    const key = `${value.apiVersion}/${value.kind}` as keyof typeof MODELS;
    const Model = MODELS[key];
    if (!Model) throw new Error(`${source}: no schema for ${key} (add its kubernetes-models class to MODELS)`);
    try {
      new Model(value as never).validate();
    } catch (error) {
      throw new Error(`${source}: ${value.kind} ${value.metadata?.name}: ${(error as Error).message}`);
    }
    out.push(value);
  }
  return out;
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));
const all = files.flatMap((f) => validateManifests(readFileSync(join(DIR, f), "utf8"), f));
const find = <T,>(kind: string, name: string) => {
  const found = all.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found as unknown as T;
};

describe("deploy/kubernetes manifests", () => {
  it("are each valid against the Kubernetes schemas", () => {
    expect(files.length).toBeGreaterThan(3);
    expect(all.length).toBeGreaterThanOrEqual(10);
  });

  it("fail validation when a manifest is broken", () => {
    const deployment = readFileSync(join(DIR, "deployment.yaml"), "utf8");
    expect(() => validateManifests(deployment.replace("replicas: 2", "replicas: two"), "broken.yaml")).toThrow(/replicas must be integer/);
    expect(() => validateManifests(deployment.replace("containerPort: 4200", "containerPort: http"), "broken.yaml")).toThrow(/containerPort must be integer/);
    expect(() => validateManifests("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 80\n      protocol: SCTPX\n", "broken.yaml")).toThrow(/protocol/);
    expect(() => validateManifests("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", "other.yaml")).toThrow(/no schema for v1\/Pod/);
  });

  it("run two or more non-root servers with the probes, the Secret and the ConfigMap", () => {
    const d = find<Deployment>("Deployment", "ferry-server");
    expect(d.spec!.replicas).toBeGreaterThanOrEqual(2);
    const pod = d.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.serviceAccountName).toBe("ferry-server");
    const [c] = pod.containers;
    expect(c!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c!.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(c!.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c!.envFrom?.map((e) => e.configMapRef?.name)).toEqual(["ferry-config"]);
    const secretEnv = Object.fromEntries((c!.env ?? []).map((e) => [e.name, e.valueFrom?.secretKeyRef?.name]));
    expect(secretEnv).toEqual({ FERRY_DATABASE_URL: "ferry-secrets", FERRY_SECRET_KEY: "ferry-secrets", FERRY_ADMIN_TOKEN: "ferry-secrets" });
    // Every FERRY_* setting comes from the ConfigMap or the Secret, none written into the pod spec.
    expect((c!.env ?? []).every((e) => e.valueFrom)).toBe(true);
    find<ConfigMap>("ConfigMap", "ferry-config");
    const pdb = find<PodDisruptionBudget>("PodDisruptionBudget", "ferry-server");
    expect(pdb.spec!.selector!.matchLabels).toEqual(d.spec!.selector.matchLabels);
    const svc = find<Service>("Service", "ferry");
    expect(svc.spec!.selector).toEqual(d.spec!.selector.matchLabels);
  });

  it("give the runner only what a run is made of, in the runs' namespace", () => {
    const runsNamespace = find<ConfigMap>("ConfigMap", "ferry-config").data!.FERRY_KUBERNETES_NAMESPACE;
    expect(runsNamespace).toBe("ferry-runs");
    const role = find<Role>("Role", "ferry-runner");
    expect(role.metadata!.namespace).toBe(runsNamespace);
    expect(role.rules!.flatMap((r) => r.resources ?? []).sort()).toEqual(["jobs", "persistentvolumeclaims", "pods", "pods/log", "secrets"]);
    expect(all.some((m) => m.kind === "ClusterRole" || m.kind === "ClusterRoleBinding")).toBe(false);
    const binding = find<RoleBinding>("RoleBinding", "ferry-runner");
    expect(binding.metadata!.namespace).toBe(runsNamespace);
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "ferry-server", namespace: "ferry" }]);
  });

  it("let runs reach DNS, the Ferry API and the internet, not the cluster's private ranges or the metadata address", () => {
    const policy = find<NetworkPolicy>("NetworkPolicy", "ferry-runs");
    expect(policy.metadata!.namespace).toBe("ferry-runs");
    expect(policy.spec!.podSelector).toEqual({});
    expect(policy.spec!.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec!.ingress).toEqual([]);
    const egress = policy.spec!.egress!;
    expect(egress.some((r) => r.ports?.some((p) => p.port === 53))).toBe(true);
    expect(egress.some((r) => r.to?.some((t) => t.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "ferry-server"))).toBe(true);
    const v4 = egress.flatMap((r) => r.to ?? []).find((t) => t.ipBlock?.cidr === "0.0.0.0/0")!.ipBlock!;
    expect(v4.except).toEqual(expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]));
  });
});
