import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stateForRunnerExit } from "@ferry/core";
import { describeRunnerConformance, RUNNER_TEST_PROGRAMS, runnerTestSpec, type RunnerTestBehaviour } from "@ferry/core/runner-conformance";
import { startKubernetesLocal, type KubernetesLocal } from "@ferry/kubernetes-local";
import { jobName, KubernetesRunnerBackend, type KubernetesRunnerBackendOptions } from "@ferry/kubernetes-runner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";

// The official client against kubernetes-local, whose pods are containers of this image on the local Docker engine.
const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const NAMESPACE = "ferry-runs";

describe("KubernetesRunnerBackend on kubernetes-local", await dockerService({ images: [IMAGE] }), () => {
  let local: KubernetesLocal;
  let dir: string;
  let kubeconfigPath: string;
  const backends: KubernetesRunnerBackend[] = [];
  const backendOf = (more: Partial<KubernetesRunnerBackendOptions> = {}) => {
    const backend = new KubernetesRunnerBackend({ namespace: NAMESPACE, kubeconfigPath, engineCommand: ["python3", "-c", RUNNER_TEST_PROGRAMS.python], stopGraceSeconds: 2, ...more });
    backends.push(backend);
    return backend;
  };

  beforeAll(async () => {
    local = await startKubernetesLocal({ network: "host", node: { cpus: 4, memoryMib: 4096 } });
    dir = mkdtempSync(join(tmpdir(), "ferry-k8s-test-"));
    kubeconfigPath = local.writeKubeconfig(dir, NAMESPACE);
  });

  afterAll(async () => {
    for (const backend of backends) await backend.close();
    await local?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let shared: KubernetesRunnerBackend | undefined;
  describeRunnerConformance("kubernetes", async () => ({
    backend: (shared ??= backendOf()),
    specFor: (behaviour: RunnerTestBehaviour) => runnerTestSpec(behaviour, { image: IMAGE, cacheKey: "conformance" }),
  }));

  it("adopts the first Job when a new backend (a restarted server) starts the same run: one Job, one pod", async () => {
    const first = backendOf();
    const spec = runnerTestSpec("sleep", { image: IMAGE, cacheKey: "adopt" });
    const a = await first.start(spec);
    const before = local.jobCount(NAMESPACE);
    await first.close();
    const second = backendOf();
    const b = await second.start({ ...spec, env: { ...spec.env, FERRY_BOOTSTRAP_TOKEN: "a-second-token" } });
    expect(b.id).toBe(a.id);
    expect(local.jobCount(NAMESPACE)).toBe(before);
    expect(local.store.list("pods", NAMESPACE).filter((p) => p.metadata.ownerReferences?.[0]?.name === a.id)).toHaveLength(1);
    await second.stop(b.id, "test");
    await second.remove(b.id);
  });

  it("creates the Job Ferry describes: the run's env in a Secret the Job owns, never in the pod spec; the pod locked down", async () => {
    const backend = backendOf();
    const spec = { ...runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "inspect", workspaceId: "ws-inspect" }), maxRuntimeSeconds: 600, workPoolId: "pool-1" };
    spec.env.FERRY_BOOTSTRAP_TOKEN = "fb_secret-value";
    const { id } = await backend.start(spec);
    expect(id).toBe(jobName("ferry", spec.flowRunId));
    const job = local.store.get("jobs", NAMESPACE, id)!;
    expect(JSON.stringify(job)).not.toContain("fb_secret-value");
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 660, ttlSecondsAfterFinished: 3600, suspend: false });
    expect(job.metadata.labels).toMatchObject({ "ferry/flow-run-id": spec.flowRunId, "ferry/workspace-id": "ws-inspect", "ferry/work-pool-id": "pool-1" });
    const secret = local.store.get("secrets", NAMESPACE, `${id}-env`)!;
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Job", name: id, uid: job.metadata.uid })]);
    expect(Buffer.from((secret.data as Record<string, string>).FERRY_BOOTSTRAP_TOKEN!, "base64").toString()).toBe("fb_secret-value");
    const exit = await backend.wait(id);
    expect(exit.exitCode).toBe(0);
    await backend.remove(id);
    // The garbage collector took the Secret with its Job.
    await expect.poll(() => local.store.get("secrets", NAMESPACE, `${id}-env`), { timeout: 10_000 }).toBeUndefined();
  });

  it("ends a run whose image cannot be pulled with the reason in plain words, as CRASHED", async () => {
    const backend = backendOf();
    const spec = runnerTestSpec("exit-0", { image: "ferry-test-missing:none", cacheKey: "missing" });
    const { id } = await backend.start(spec);
    const exit = await backend.wait(id, AbortSignal.timeout(30_000));
    expect(exit.reason).toMatch(/the image 'ferry-test-missing:none' could not be pulled \(ImagePullBackOff\)/);
    const change = stateForRunnerExit({ type: "PENDING" }, exit, { memoryMib: 256, maxRuntimeSeconds: 60, timedOut: false });
    expect(change).toMatchObject({ type: "CRASHED", message: expect.stringContaining("could not be pulled") });
    await backend.remove(id);
  });

  it("ends a run at its Job's deadline as TimedOut, and one no node can take after the unschedulable timeout", async () => {
    const backend = backendOf({ deadlineGraceSeconds: 0, unschedulableTimeoutSeconds: 2 });
    const sleeper = { ...runnerTestSpec("sleep", { image: IMAGE, cacheKey: "deadline" }), maxRuntimeSeconds: 3 };
    const huge = { ...runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "huge" }), memoryMib: 64 * 1024 };
    const [a, b] = [await backend.start(sleeper), await backend.start(huge)];
    const [timedOut, unschedulable] = await Promise.all([backend.wait(a.id, AbortSignal.timeout(60_000)), backend.wait(b.id, AbortSignal.timeout(60_000))]);
    expect(timedOut).toMatchObject({ timedOut: true, reason: expect.stringContaining("activeDeadlineSeconds 3") });
    expect(stateForRunnerExit({ type: "RUNNING" }, timedOut, { memoryMib: 256, maxRuntimeSeconds: 3, timedOut: false })).toMatchObject({ type: "CRASHED", name: "TimedOut" });
    expect(unschedulable.reason).toMatch(/no node could run the run's pod for 2 s: 0\/1 nodes are available: 1 Insufficient memory/);
    await backend.remove(a.id);
    await backend.remove(b.id);
  });

  it("lists again after 410 Gone and keeps following runs", async () => {
    const backend = backendOf();
    const sleeper = await backend.start(runnerTestSpec("sleep", { image: IMAGE, cacheKey: "gone" }));
    const lists = await backend.list();
    expect(lists.find((i) => i.id === sleeper.id)?.running).toBe(true);
    const waiting = backend.wait(sleeper.id, AbortSignal.timeout(60_000));
    await expect.poll(() => backend.pods.lists).toBe(1);
    local.expireWatches();
    await expect.poll(() => backend.pods.lists, { timeout: 20_000 }).toBe(2);
    const quick = await backend.start(runnerTestSpec("exit-0", { image: IMAGE, cacheKey: "gone" }));
    expect((await backend.wait(quick.id, AbortSignal.timeout(60_000))).exitCode).toBe(0);
    await backend.stop(sleeper.id, "test");
    expect((await waiting).exitCode).not.toBe(0);
    await backend.remove(sleeper.id);
    await backend.remove(quick.id);
  });
});
