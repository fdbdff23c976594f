import type { ContainerGroup } from "@azure/arm-containerinstance";
import type { InfrastructureStatus } from "@ferry/core";
import { CONTAINER_NAME } from "./container-group.js";

interface AciEvent {
  name?: string | undefined;
  message?: string | undefined;
  type?: string | undefined;
}

/** Waiting reasons that never resolve for a group whose restart policy is Never: the image will not come. */
const PULL_FAILURE = /ImagePullBackOff|ErrImagePull|InvalidImageName|RegistryUnavailable|Failed to pull image|InaccessibleImage/i;

/**
 * ACI's view of a run's container group as an InfrastructureStatus. A group that could not start its
 * container (image pull, quota, region capacity, subnet) is `failed` with Azure's words, so the run is
 * CRASHED with them instead of waiting for a container that will never run.
 */
export function groupStatus(group: ContainerGroup): InfrastructureStatus {
  const container = group.containers.find((c) => c.name === CONTAINER_NAME) ?? group.containers[0];
  const view = container?.instanceView;
  const current = view?.currentState;
  const events = [...(view?.events ?? []), ...(group.instanceView?.events ?? [])];
  if (current?.state === "Terminated") {
    const exitCode = current.exitCode ?? -1;
    if (exitCode === 0) return { phase: "exited", exitCode: 0 };
    const detail = current.detailStatus?.trim();
    return { phase: "exited", exitCode, ...(detail && detail !== "Completed" ? { message: explainTermination(detail) } : {}) };
  }
  const pull = pullFailure(current?.detailStatus, events);
  if (pull) return { phase: "failed", message: pull };
  const provisioning = group.provisioningState ?? "Pending";
  if (provisioning === "Failed" || provisioning === "Unhealthy") {
    return { phase: "failed", message: `Azure could not start the container group: ${reasonOf(current?.detailStatus, events) || `provisioning state ${provisioning}`}` };
  }
  if (group.instanceView?.state === "Stopped") return { phase: "failed", message: "the container group was stopped before its container ended" };
  if (current?.state === "Running") return { phase: "running" };
  const waiting = reasonOf(current?.detailStatus, events);
  return { phase: "pending", message: `ACI is ${provisioning === "Succeeded" ? "starting the container" : "provisioning the container group"} (${[provisioning, waiting].filter(Boolean).join(": ")})` };
}

function pullFailure(detailStatus: string | undefined, events: AciEvent[]): string | null {
  const failed = events.find((e) => e.type === "Warning" && PULL_FAILURE.test(`${e.name ?? ""} ${e.message ?? ""}`));
  if (!failed && !(detailStatus && PULL_FAILURE.test(detailStatus))) return null;
  const said = failed?.message?.trim() || detailStatus || "the registry refused it";
  return `the image could not be pulled: ${said} (check the image name and tag, that the registry is reachable, and image_registry's identity or login)`;
}

function reasonOf(detailStatus: string | undefined, events: AciEvent[]): string {
  const warning = [...events].reverse().find((e) => e.type === "Warning" && e.message);
  return [detailStatus?.trim(), warning?.message?.trim()].filter((s): s is string => Boolean(s)).join("; ");
}

function explainTermination(detail: string): string {
  if (/OOMKilled|out of memory/i.test(detail)) return "the container ran out of memory: raise the memory job variable";
  return detail;
}
