import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podOutcome, PLATFORM_EXIT_CODE } from "./pod-exit.js";

const NOW = Date.parse("2026-12-05T10:00:00Z");
const options = { unschedulableTimeoutSeconds: 300 };
const pod = (status: V1Pod["status"], more: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name: "p", creationTimestamp: new Date("2026-12-05T09:59:00Z") }, spec: { containers: [{ name: "engine", image: "ferry-engine:1" }] }, status, ...more });
const terminated = (exitCode: number, reason: string) => pod({ phase: exitCode === 0 ? "Succeeded" : "Failed", containerStatuses: [{ name: "engine", image: "i", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode, reason, startedAt: new Date("2026-12-05T09:59:10Z"), finishedAt: new Date("2026-12-05T09:59:40Z") } } }] });
const waiting = (reason: string, message: string) => pod({ phase: "Pending", containerStatuses: [{ name: "engine", image: "i", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason, message } } }] });
const deadlineJob: V1Job = { spec: { activeDeadlineSeconds: 3660, template: {} }, status: { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded" }] } };

describe("podOutcome", () => {
  it("reads the exit code and times from the container's terminated state", () => {
    expect(podOutcome(terminated(3, "Error"), undefined, NOW, options)).toEqual({
      ended: true, ran: true, exit: { exitCode: 3, oomKilled: false, startedAt: "2026-12-05T09:59:10.000Z", finishedAt: "2026-12-05T09:59:40.000Z" },
    });
  });

  it("reports OOMKilled as an out-of-memory kill", () => {
    expect(podOutcome(terminated(137, "OOMKilled"), undefined, NOW, options)).toMatchObject({ ended: true, exit: { exitCode: 137, oomKilled: true } });
  });

  it("keeps waiting while the pod is pending or running, and through a first ErrImagePull", () => {
    expect(podOutcome(pod({ phase: "Pending" }), undefined, NOW, options)).toEqual({ ended: false });
    expect(podOutcome(waiting("ErrImagePull", "blip"), undefined, NOW, options)).toEqual({ ended: false });
    expect(podOutcome(undefined, {}, NOW, options)).toEqual({ ended: false });
  });

  it("ends a run whose image cannot be pulled, naming the image and how to fix it", () => {
    const outcome = podOutcome(waiting("ImagePullBackOff", 'Back-off pulling image "ferry-engine:1"'), undefined, NOW, options);
    expect(outcome).toMatchObject({ ended: true, ran: false, exit: { exitCode: PLATFORM_EXIT_CODE, reason: expect.stringMatching(/^the image 'ferry-engine:1' could not be pulled \(ImagePullBackOff\): Back-off pulling image .*imagePullSecrets/) } });
  });

  it("ends an evicted pod with Kubernetes' message", () => {
    const evicted = pod({ phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." });
    expect(podOutcome(evicted, undefined, NOW, options)).toMatchObject({ ended: true, exit: { reason: "Kubernetes evicted the run's pod: The node was low on resource: memory." } });
    const killed = { ...terminated(137, "Error"), status: { ...terminated(137, "Error").status, reason: "Evicted", message: "low on memory" } };
    expect(podOutcome(killed, undefined, NOW, options)).toMatchObject({ ended: true, ran: true, exit: { exitCode: 137, reason: "Kubernetes evicted the run's pod: low on memory" } });
  });

  it("says a run stopped at the Job's deadline timed out, with or without its pod's last state", () => {
    expect(podOutcome(terminated(143, "Error"), deadlineJob, NOW, options)).toMatchObject({ ended: true, exit: { exitCode: 143, timedOut: true, reason: expect.stringContaining("activeDeadlineSeconds 3660") } });
    expect(podOutcome(undefined, deadlineJob, NOW, options)).toMatchObject({ ended: true, ran: false, exit: { timedOut: true } });
  });

  it("waits for a node up to the timeout, then ends the run with the scheduler's words", () => {
    const since = new Date(NOW - 100_000);
    const unschedulable = pod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient memory.", lastTransitionTime: since }] });
    expect(podOutcome(unschedulable, undefined, NOW, options)).toEqual({ ended: false, recheckAt: since.getTime() + 300_000 });
    expect(podOutcome(unschedulable, undefined, since.getTime() + 300_000, options)).toMatchObject({ ended: true, exit: { reason: expect.stringMatching(/^no node could run the run's pod for 300 s: 0\/3 nodes are available: 3 Insufficient memory\./) } });
  });

  it("ends a run whose pod was deleted before its container ended", () => {
    expect(podOutcome(pod({ phase: "Running" }), undefined, NOW, { ...options, gone: true })).toMatchObject({ ended: true, exit: { reason: "the run's pod was deleted before its container ended" } });
  });
});
