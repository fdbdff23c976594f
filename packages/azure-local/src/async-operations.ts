import { randomUUID } from "node:crypto";

/** A long-running operation's status, as `Azure-AsyncOperation` answers it. */
export interface AsyncOperation {
  id: string;
  /** Where it is polled: `/subscriptions/{sub}/providers/{namespace}/locations/{location}/operations/{id}`. */
  path: string;
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled";
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

export class AsyncOperations {
  private readonly operations = new Map<string, AsyncOperation>();

  constructor(private readonly now: () => number = Date.now) {}

  start(subscriptionId: string, namespace: string, location: string): AsyncOperation {
    const id = randomUUID();
    const operation: AsyncOperation = {
      id,
      path: `/subscriptions/${subscriptionId}/providers/${namespace}/locations/${location.toLowerCase().replace(/\s+/g, "")}/operations/${id}`,
      status: "InProgress",
      startTime: new Date(this.now()).toISOString(),
    };
    this.operations.set(id, operation);
    return operation;
  }

  succeed(operation: AsyncOperation): void {
    if (operation.status !== "InProgress") return;
    operation.status = "Succeeded";
    operation.endTime = new Date(this.now()).toISOString();
  }

  fail(operation: AsyncOperation, code: string, message: string): void {
    if (operation.status !== "InProgress") return;
    operation.status = "Failed";
    operation.endTime = new Date(this.now()).toISOString();
    operation.error = { code, message };
  }

  get(id: string): AsyncOperation | undefined {
    return this.operations.get(id);
  }

  /** The status document a poll answers. */
  static view(operation: AsyncOperation): Record<string, unknown> {
    return {
      id: operation.path,
      name: operation.id,
      status: operation.status,
      startTime: operation.startTime,
      ...(operation.endTime === undefined ? {} : { endTime: operation.endTime }),
      ...(operation.error === undefined ? {} : { error: operation.error }),
    };
  }

  /** Headers of a 201/202 that started `operation`: poll `Azure-AsyncOperation`; `Location` answers 202 until done. */
  static headers(baseUrl: string, operation: AsyncOperation, apiVersion: string): Record<string, string> {
    const url = `${baseUrl}${operation.path}?api-version=${encodeURIComponent(apiVersion)}`;
    return { "Azure-AsyncOperation": url };
  }
}
