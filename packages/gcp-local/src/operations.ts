import { randomUUID } from "node:crypto";
import type { status as Status } from "@grpc/grpc-js";
import { notFound } from "./grpc-error.js";
import { page } from "./paging.js";
import type { PackedAny } from "./protos.js";
import type { ServiceMethods } from "./grpc-services.js";
import type { Timestamp } from "./time.js";

/** A google.longrunning.Operation as the server keeps it: metadata read afresh on every poll. */
interface StoredOperation {
  name: string;
  metadata: () => PackedAny | undefined;
  done: boolean;
  response?: PackedAny;
  error?: { code: number; message: string };
  waiters: (() => void)[];
}

export interface OperationMessage {
  name: string;
  metadata?: PackedAny;
  done: boolean;
  response?: PackedAny;
  error?: { code: number; message: string; details: [] };
}

/** Long-running operations of every service: started by a method, finished by whatever it waits for. */
export class OperationStore {
  private readonly operations = new Map<string, StoredOperation>();

  /** A new operation under `projects/P/locations/L` (Cloud Run, Artifact Registry) or `operations/` (Service Usage). */
  start(prefix: string, metadata: () => PackedAny | undefined): string {
    const name = prefix === "operations" ? `operations/${randomUUID()}` : `${prefix}/operations/${randomUUID()}`;
    this.operations.set(name, { name, metadata, done: false, waiters: [] });
    return name;
  }

  succeed(name: string, response: PackedAny): void {
    this.finish(name, (operation) => (operation.response = response));
  }

  fail(name: string, code: Status, message: string): void {
    this.finish(name, (operation) => (operation.error = { code, message }));
  }

  isDone(name: string): boolean {
    return this.operations.get(name)?.done === true;
  }

  get(name: string): OperationMessage {
    const operation = this.operations.get(name);
    if (operation === undefined) throw notFound(`Operation ${name} not found.`);
    const message: OperationMessage = { name, done: operation.done };
    const metadata = operation.metadata();
    if (metadata !== undefined) message.metadata = metadata;
    if (operation.response !== undefined) message.response = operation.response;
    if (operation.error !== undefined) message.error = { ...operation.error, details: [] };
    return message;
  }

  /** Resolves when the operation is done or `timeoutMs` passed, whichever comes first. */
  async wait(name: string, timeoutMs: number): Promise<OperationMessage> {
    const operation = this.operations.get(name);
    if (operation === undefined) throw notFound(`Operation ${name} not found.`);
    if (!operation.done) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        operation.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.get(name);
  }

  list(prefix: string): OperationMessage[] {
    return [...this.operations.keys()].filter((name) => name.startsWith(prefix)).map((name) => this.get(name));
  }

  delete(name: string): void {
    if (!this.operations.delete(name)) throw notFound(`Operation ${name} not found.`);
  }

  private finish(name: string, set: (operation: StoredOperation) => void): void {
    const operation = this.operations.get(name);
    if (operation === undefined || operation.done) return;
    set(operation);
    operation.done = true;
    for (const waiter of operation.waiters.splice(0)) waiter();
  }
}

function durationMs(duration: Timestamp | undefined, fallback: number): number {
  if (duration === undefined) return fallback;
  return Number(duration.seconds ?? 0) * 1000 + Math.floor((duration.nanos ?? 0) / 1e6);
}

/** google.longrunning.Operations over the store: what the clients' `operation.promise()` polls. */
export function operationsService(store: OperationStore): ServiceMethods {
  return {
    GetOperation: async (request) => store.get(request.name),
    // Google waits at most the request's timeout; without one the call's own deadline applies (kept short here).
    WaitOperation: async (request) => store.wait(request.name, Math.min(durationMs(request.timeout, 30_000), 60_000)),
    ListOperations: async (request) => {
      const { items, nextPageToken } = page(store.list(request.name ?? ""), request);
      return { operations: items, nextPageToken };
    },
    DeleteOperation: async (request) => {
      store.delete(request.name);
      return {};
    },
    CancelOperation: async (request) => {
      store.get(request.name);
      return {};
    },
  };
}
