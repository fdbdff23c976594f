import { describe, expect, it } from "vitest";
import { buildCacheClaim, buildRunJob, buildRunSecret, cacheClaimName, jobName, labelValue } from "./job-spec.js";
import { parseKubernetesOptions } from "./kubernetes-options.js";

const settings = parseKubernetesOptions({ namespace: "ferry-runs" });
const spec = {
  flowRunId: "019a1b2c-3d4e-7f00-8000-000000000001",
  workspaceId: "ws-1",
  workPoolId: "pool-1",
  image: "ferry-engine:latest",
  env: { FERRY_API_URL: "http://ferry:4200", FERRY_BOOTSTRAP_TOKEN: "fb_secret" },
  memoryMib: 2048,
  cpus: 1,
  cacheKey: "a".repeat(64),
  maxRuntimeSeconds: 3600,
};

describe("buildRunJob", () => {
  const job = buildRunJob(spec, settings);
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;

  it("names the Job from the run, never retries it, and bounds it by the run's maximum runtime and a TTL", () => {
    expect(job.metadata).toMatchObject({ name: `ferry-run-${spec.flowRunId}`, namespace: "ferry-runs" });
    expect(job.spec).toMatchObject({ backoffLimit: 0, completions: 1, parallelism: 1, activeDeadlineSeconds: 3660, ttlSecondsAfterFinished: 3600, suspend: true });
    expect(pod.restartPolicy).toBe("Never");
  });

  it("labels the Job and its pod with the run, workspace and pool, and keeps the long cache key in an annotation", () => {
    const labels = { "ferry/managed": "true", "ferry/flow-run-id": spec.flowRunId, "ferry/workspace-id": "ws-1", "ferry/work-pool-id": "pool-1" };
    expect(job.metadata!.labels).toMatchObject(labels);
    expect(job.spec!.template.metadata!.labels).toMatchObject(labels);
    expect(job.metadata!.annotations).toMatchObject({ "ferry/cache-key": spec.cacheKey });
  });

  it("locks the pod down: non-root, no capabilities, no escalation, read-only root, RuntimeDefault seccomp, no service account token", () => {
    expect(pod).toMatchObject({ automountServiceAccountToken: false, enableServiceLinks: false, securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false, capabilities: { drop: ["ALL"] } });
    expect(pod).not.toHaveProperty("runtimeClassName");
    expect(buildRunJob(spec, parseKubernetesOptions({ namespace: "ferry-runs", runtimeClassName: "gvisor" })).spec!.template.spec!.runtimeClassName).toBe("gvisor");
  });

  it("gives the engine writable emptyDirs for its home and scratch and the workspace's cache claim, and equal requests and limits", () => {
    expect(container.volumeMounts!.map((m) => m.mountPath)).toEqual(["/home/ferry", "/tmp", "/ferry/cache"]);
    expect(pod.volumes).toEqual([
      { name: "home", emptyDir: { sizeLimit: "2048Mi" } },
      { name: "scratch", emptyDir: { sizeLimit: "2048Mi" } },
      { name: "cache", persistentVolumeClaim: { claimName: cacheClaimName("ferry", "ws-1", spec.cacheKey) } },
    ]);
    expect(container.resources).toEqual({ requests: { memory: "2048Mi", cpu: "1000m" }, limits: { memory: "2048Mi", cpu: "1000m" } });
    const emptyCache = buildRunJob(spec, parseKubernetesOptions({ namespace: "ferry-runs", cache: { mode: "emptyDir" } }));
    expect(emptyCache.spec!.template.spec!.volumes![2]).toEqual({ name: "cache", emptyDir: {} });
  });

  it("keeps the run's environment out of the pod spec: it comes from the Secret, and only the cache's place is set there", () => {
    expect(JSON.stringify(job)).not.toContain("fb_secret");
    expect(container.envFrom).toEqual([{ secretRef: { name: `${job.metadata!.name}-env` } }]);
    expect(container.env).toEqual([{ name: "FERRY_CACHE_DIR", value: "/ferry/cache" }]);
  });

  it("refuses a variable name envFrom would skip without a word", () => {
    expect(() => buildRunJob({ ...spec, env: { "BAD-NAME": "x" } }, settings)).toThrow(/invalid runner launch spec/);
  });
});

describe("buildRunSecret", () => {
  it("is owned by the Job (garbage-collected with it) and holds the run's env with HOME and TMPDIR the run may override", () => {
    const secret = buildRunSecret({ ...spec, env: { ...spec.env, TMPDIR: "/tmp/mine" } }, settings, { name: "ferry-run-x", uid: "uid-1" });
    expect(secret.metadata!.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "Job", name: "ferry-run-x", uid: "uid-1", controller: true, blockOwnerDeletion: true }]);
    expect(secret.stringData).toEqual({ HOME: "/home/ferry", TMPDIR: "/tmp/mine", ...spec.env });
  });
});

describe("names", () => {
  it("names a Job from an id that is no DNS label by a digest, the same every time", () => {
    expect(jobName("ferry", "Run_1")).toMatch(/^ferry-run-[0-9a-f]{32}$/);
    expect(jobName("ferry", "Run_1")).toBe(jobName("ferry", "Run_1"));
    expect(jobName("ferry", "x".repeat(60))).toHaveLength("ferry-run-".length + 32);
  });

  it("gives two workspaces with the same cache key two claims", () => {
    expect(cacheClaimName("ferry", "ws-1", "k")).not.toBe(cacheClaimName("ferry", "ws-2", "k"));
    expect(buildCacheClaim({ workspaceId: "ws-1", cacheKey: "k" }, settings).spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } });
  });

  it("keeps a valid label value, digests one Kubernetes would refuse", () => {
    expect(labelValue("ws-1")).toBe("ws-1");
    expect(labelValue("a".repeat(64))).toMatch(/^h-[0-9a-f]{40}$/);
  });
});

describe("parseKubernetesOptions", () => {
  it("names each bad option", () => {
    expect(() => parseKubernetesOptions({ namespace: "Bad_NS", user: "0:0", cache: { size: "ten" } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ issues: expect.arrayContaining([expect.objectContaining({ path: "namespace" }), expect.objectContaining({ path: "user" }), expect.objectContaining({ path: "cache.size" })]) }) }));
  });
});
