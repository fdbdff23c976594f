import { notFound } from "./rpc.js";
import type { AppRecord, ModalLocalState } from "./state.js";

/** Longest a long poll (wait, log stream, image join) holds a call, whatever the client asks. */
export const MAX_POLL_SECONDS = 55;

/** A long poll's wait in milliseconds: what the client asked, at most MAX_POLL_SECONDS. */
export function pollMs(timeoutSeconds: number | undefined): number {
  return Math.min(Math.max(timeoutSeconds ?? 0, 0), MAX_POLL_SECONDS) * 1000;
}

/** The environment a request names (empty: the default), or NOT_FOUND. */
export function environmentOf(state: ModalLocalState, name: string): string {
  const resolved = state.environmentName(name);
  if (!state.environments.has(resolved)) throw notFound(`Environment '${resolved}' not found`);
  return resolved;
}

export function appOf(state: ModalLocalState, appId: string): AppRecord {
  const app = state.apps.get(appId);
  if (app === undefined) throw notFound(`App ${appId} not found`);
  return app;
}
