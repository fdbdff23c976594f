import { timestamp } from "./time.js";

// Cloud Run resources are kept as the messages the clients read (camelCase fields, enums as names).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

export type ConditionState = "CONDITION_PENDING" | "CONDITION_RECONCILING" | "CONDITION_SUCCEEDED" | "CONDITION_FAILED";

export interface ConditionReason {
  message?: string;
  /** google.cloud.run.v2.Condition.CommonReason, e.g. `CONTAINER_MISSING`. */
  reason?: string;
  /** google.cloud.run.v2.Condition.ExecutionReason, e.g. `NON_ZERO_EXIT_CODE`, `CANCELLED`. */
  executionReason?: string;
}

/** A google.cloud.run.v2.Condition; failures carry severity ERROR as Cloud Run's do. */
export function condition(type: string, state: ConditionState, nowMs: number, why: ConditionReason = {}): Message {
  const result: Message = { type, state, lastTransitionTime: timestamp(nowMs) };
  if (why.message !== undefined) result.message = why.message;
  if (state === "CONDITION_FAILED") result.severity = "ERROR";
  if (why.reason !== undefined) result.reason = why.reason;
  else if (why.executionReason !== undefined) result.executionReason = why.executionReason;
  return result;
}

/** Replaces the condition of that type (keeping the order), or appends it. */
export function setCondition(resource: Message, next: Message): void {
  const conditions: Message[] = resource.conditions ?? [];
  const index = conditions.findIndex((c) => c.type === next.type);
  if (index >= 0) {
    const previous = conditions[index]!;
    // The transition time moves only when the state does.
    if (previous.state === next.state) next.lastTransitionTime = previous.lastTransitionTime;
    conditions[index] = next;
  } else conditions.push(next);
  resource.conditions = conditions;
}

export function conditionOf(resource: Message, type: string): Message | undefined {
  return (resource.conditions as Message[] | undefined)?.find((c) => c.type === type);
}

/** Every Cloud Run job, execution and task of the local project. */
export class RunState {
  readonly jobs = new Map<string, Message>();
  readonly executions = new Map<string, Message>();
  readonly tasks = new Map<string, Message>();

  executionsOf(jobName: string): Message[] {
    return [...this.executions.values()].filter((e) => (e.name as string).startsWith(`${jobName}/executions/`));
  }

  tasksOf(executionName: string): Message[] {
    return [...this.tasks.values()].filter((t) => (t.name as string).startsWith(`${executionName}/tasks/`)).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  /** Removes the execution and its tasks (a deleted execution, or one of a deleted job). */
  forgetExecution(name: string): void {
    this.executions.delete(name);
    for (const task of this.tasksOf(name)) this.tasks.delete(task.name as string);
  }
}
