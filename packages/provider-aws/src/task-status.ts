import type { Container, Task } from "@aws-sdk/client-ecs";
import type { InfrastructureStatus } from "@ferry/core";

const SEPARATOR = "::";

/** `cluster::taskArn`, the infrastructure id users know from Prefect. */
export function infrastructureIdFor(cluster: string, taskArn: string): string {
  return `${cluster}${SEPARATOR}${taskArn}`;
}

export function parseInfrastructureId(id: string): { cluster: string; taskArn: string } | null {
  const at = id.indexOf(SEPARATOR);
  if (at <= 0) return null;
  const cluster = id.slice(0, at);
  const taskArn = id.slice(at + SEPARATOR.length);
  return taskArn ? { cluster, taskArn } : null;
}

const NOT_STARTED = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

/**
 * ECS's view of a task as an InfrastructureStatus. A task that stopped before its container ran (image
 * pull, network setup, no capacity) is `failed` with the reason in plain words, so the run is marked
 * Crashed with it (Prefect left such runs Pending, #22410).
 */
export function taskStatus(task: Task, containerName: string): InfrastructureStatus {
  const container = task.containers?.find((c) => c.name === containerName) ?? task.containers?.[0];
  const last = task.lastStatus ?? "PENDING";
  if (last === "STOPPED") {
    if (typeof container?.exitCode === "number") {
      const why = stoppedReason(task, container);
      return container.exitCode === 0 ? { phase: "exited", exitCode: 0 } : { phase: "exited", exitCode: container.exitCode, ...(why ? { message: why } : {}) };
    }
    return { phase: "failed", message: explainStop(task, container) };
  }
  if (NOT_STARTED.has(last)) {
    const detail = last === "PROVISIONING" ? "ECS is provisioning the task's capacity and network" : last === "PENDING" ? "ECS is pulling the image and starting the container" : "ECS is setting up the task";
    return { phase: "pending", message: `${detail} (${last})` };
  }
  // RUNNING, or on its way to STOPPED (DEACTIVATING, STOPPING, DEPROVISIONING): it ran if it started.
  if (last === "RUNNING" || task.startedAt) return { phase: "running" };
  return { phase: "pending", message: `the task is ${last.toLowerCase()} before it started` };
}

function stoppedReason(task: Task, container: Container | undefined): string | undefined {
  if (container?.reason && /OutOfMemory/i.test(container.reason)) return "the container ran out of memory: raise the memory job variable";
  return reasonsOf(task, container) || undefined;
}

/** The container's and the task's reasons, once each: ECS often repeats one inside the other. */
function reasonsOf(task: Pick<Task, "stoppedReason">, container?: Pick<Container, "reason">): string {
  const parts = [container?.reason, task.stoppedReason].filter((s): s is string => Boolean(s?.trim()));
  return parts.filter((p, i) => !parts.some((q, j) => j !== i && q.includes(p) && (q.length > p.length || j < i))).join("; ");
}

/** Why a task stopped without its container exiting, in words a user can act on. */
export function explainStop(task: Pick<Task, "stopCode" | "stoppedReason">, container?: Pick<Container, "reason">): string {
  const text = reasonsOf(task, container);
  const after = (marker: RegExp) => {
    const m = marker.exec(text);
    return m ? text.slice(m.index + m[0].length).replace(/^[:\s]+/, "") || text : text;
  };
  if (/CannotPullContainerError/i.test(text)) {
    return `the image could not be pulled: ${after(/CannotPullContainerError/i)} (check the image name and tag, that the execution role may pull it, and that the subnets reach the registry)`;
  }
  if (/ResourceInitializationError/i.test(text)) {
    return `the task's resources could not be set up: ${after(/ResourceInitializationError/i)} (check the execution role, secrets, and that the subnets reach ECR and CloudWatch through a public IP, a NAT gateway or VPC endpoints)`;
  }
  if (/CannotStartContainerError/i.test(text)) return `the container could not start: ${after(/CannotStartContainerError/i)}`;
  if (/OutOfMemory/i.test(text)) return "the container ran out of memory: raise the memory job variable";
  switch (task.stopCode) {
    case "TaskFailedToStart":
      return `the task failed to start: ${text || "ECS gave no reason"}`;
    case "SpotInterruption":
      return `the Fargate Spot capacity was reclaimed by AWS${text ? `: ${text}` : ""}`;
    case "UserInitiated":
      return `the task was stopped${text ? `: ${text}` : ""}`;
    case "TerminationNotice":
    case "ServiceSchedulerInitiated":
      return `ECS stopped the task${text ? `: ${text}` : ""}`;
    default:
      return `the task stopped without an exit code${text ? `: ${text}` : ""}`;
  }
}
