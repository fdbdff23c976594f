import { BatchV1Api, CoreV1Api, KubeConfig, Watch, type V1Job } from "@kubernetes/client-node";
import type { ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "@ferry/local-containers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKubernetesLocal, type KubernetesLocal } from "../src/index.js";

/**
 * The official client against kubernetes-local, with a hand-written container runtime instead of
 * Docker: a container of image `quick` prints two lines and exits 0; any other runs until stopped
 * (exit 143); `missing` is not on the node.
 */
class FakeRuntime implements ContainerRuntime {
  launches: ContainerLaunch[] = [];
  async hasImage(image: string) {
    return image !== "missing";
  }
  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    this.launches.push(launch);
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exit = resolve));
    if (launch.image === "quick") setTimeout(() => exit(0), 50);
    return {
      id: `fake-${this.launches.length}`,
      follow: async (onLine: (line: OutputLine) => void) => {
        for (const message of ["first", "second"]) onLine({ stream: "stdout", timestamp: Date.now(), message });
        await exited;
      },
      wait: async () => ({ exitCode: await exited, oomKilled: false }),
      stop: async () => exit(143),
      remove: async () => undefined,
    };
  }
  async find() {
    return null;
  }
  async removeAll() {}
}

const NS = "runs";
const jobOf = (name: string, image: string, suspend = false): V1Job => ({
  metadata: { name, labels: { app: "t" } },
  spec: { backoffLimit: 0, suspend, template: { metadata: { labels: { app: "t" } }, spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "main", image }] } } },
});

describe("kubernetes-local through the official client", () => {
  let local: KubernetesLocal;
  let runtime: FakeRuntime;
  let batch: BatchV1Api;
  let core: CoreV1Api;
  let config: KubeConfig;

  beforeAll(async () => {
    runtime = new FakeRuntime();
    local = await startKubernetesLocal({ runtime, bookmarkIntervalMs: 200 });
    config = new KubeConfig();
    config.loadFromString(local.kubeconfig(NS));
    batch = config.makeApiClient(BatchV1Api);
    core = config.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await local?.close();
  });

  it("answers over TLS with its CA from the kubeconfig, and refuses a request without the token (401 Status)", async () => {
    expect(local.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const other = new KubeConfig();
    other.loadFromString(local.kubeconfig(NS).replace(local.token, "wrong"));
    await expect(other.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: NS })).rejects.toMatchObject({ code: 401 });
  });

  it("runs a Job's pod to completion, answers a second create 409 AlreadyExists, and serves the pod's log", async () => {
    await batch.createNamespacedJob({ namespace: NS, body: jobOf("quick-1", "quick") });
    const again = await batch.createNamespacedJob({ namespace: NS, body: jobOf("quick-1", "quick") }).catch((e: { code: number; body: string }) => e);
    expect(again).toMatchObject({ code: 409 });
    expect(JSON.parse((again as { body: string }).body)).toMatchObject({ kind: "Status", status: "Failure", reason: "AlreadyExists", code: 409, message: 'jobs.batch "quick-1" already exists' });
    await expect.poll(async () => (await batch.readNamespacedJob({ name: "quick-1", namespace: NS })).status?.conditions?.map((c) => c.type), { timeout: 10_000 }).toEqual(["Complete"]);
    const [pod] = (await core.listNamespacedPod({ namespace: NS, labelSelector: "batch.kubernetes.io/job-name=quick-1" })).items;
    expect(pod!.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(pod!.metadata!.ownerReferences![0]).toMatchObject({ kind: "Job", name: "quick-1", controller: true });
    expect(await core.readNamespacedPodLog({ name: pod!.metadata!.name!, namespace: NS, tailLines: 1 })).toBe("second\n");
    expect(local.jobCount(NS)).toBe(1);
    await batch.deleteNamespacedJob({ name: "quick-1", namespace: NS, propagationPolicy: "Background" });
    await expect.poll(async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: "app=t" })).items.length).toBe(0);
  });

  it("starts no pod while a Job is suspended, reads its Secret as env, and deletes in the foreground: pod, then Secret, then Job", async () => {
    const body = jobOf("fg-1", "sleeper", true);
    body.spec!.template.spec!.containers[0]!.envFrom = [{ secretRef: { name: "fg-1-env" } }];
    const job = await batch.createNamespacedJob({ namespace: NS, body });
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: "job-name=fg-1" })).items).toEqual([]);
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "fg-1-env", ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "fg-1", uid: job.metadata!.uid! }] }, stringData: { TOKEN: "t0k" } } });
    await batch.patchNamespacedJob({ name: "fg-1", namespace: NS, body: [{ op: "replace", path: "/spec/suspend", value: false }] });
    await expect.poll(() => runtime.launches.find((l) => l.env.TOKEN === "t0k")?.image).toBe("sleeper");
    const deleted = await batch.deleteNamespacedJob({ name: "fg-1", namespace: NS, propagationPolicy: "Foreground" });
    expect(deleted).toBeDefined();
    await expect.poll(async () => (await batch.listNamespacedJob({ namespace: NS })).items.map((j) => j.metadata!.name), { timeout: 10_000 }).toEqual([]);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: "job-name=fg-1" })).items).toEqual([]);
    await expect(core.readNamespacedSecret({ name: "fg-1-env", namespace: NS })).rejects.toMatchObject({ code: 404 });
  });

  it("puts a pod whose image is missing in ImagePullBackOff", async () => {
    await batch.createNamespacedJob({ namespace: NS, body: jobOf("missing-1", "missing") });
    await expect.poll(async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: "job-name=missing-1" })).items[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason, { timeout: 10_000 }).toBe("ImagePullBackOff");
    await batch.deleteNamespacedJob({ name: "missing-1", namespace: NS, propagationPolicy: "Background" });
  });

  it("resumes a watch from a resourceVersion, and answers 410 Gone once that version is compacted", async () => {
    const list = await core.listNamespacedPod({ namespace: NS });
    const events: string[] = [];
    const watchFrom = (resourceVersion: string) =>
      new Promise<unknown>((resolve) => {
        void new Watch(config).watch(`/api/v1/namespaces/${NS}/pods`, { resourceVersion, allowWatchBookmarks: true }, (type, object: { code?: number }) => {
          events.push(type === "ERROR" ? `ERROR ${object.code}` : type);
        }, resolve);
      });
    const first = watchFrom(list.metadata!.resourceVersion!);
    await batch.createNamespacedJob({ namespace: NS, body: jobOf("watched-1", "quick") });
    await expect.poll(() => events.includes("ADDED")).toBe(true);
    await expect.poll(() => events.includes("BOOKMARK")).toBe(true);
    local.expireWatches();
    await first;
    events.length = 0;
    await watchFrom(list.metadata!.resourceVersion!);
    expect(events).toEqual(["ERROR 410"]);
  });
});
