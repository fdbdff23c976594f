import { idempotencyKeyForRun, renderJobConfiguration, resolveJobVariables, type InfrastructureRef, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import type { ModalLocal } from "@ferry/modal-local";
import { MODAL_BASE_JOB_TEMPLATE } from "../src/modal-template.js";

/** The SDK reads the server's URL from MODAL_SERVER_URL each time a client is made: tests set it once, at their edge. */
export function pointSdkAt(local: ModalLocal): void {
  process.env.MODAL_SERVER_URL = local.url;
}

export function credentialsOf(token: { tokenId: string; tokenSecret: string }): Record<string, string> {
  return { token_id: token.tokenId, token_secret: token.tokenSecret };
}

/** A request for a run of the default template with `jobVariables`, as the server's dispatcher makes one. */
export function requestFor(jobVariables: Record<string, unknown>, credentials: Record<string, string> | null, pool = "modal-pool"): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(MODAL_BASE_JOB_TEMPLATE, resolveJobVariables(MODAL_BASE_JOB_TEMPLATE, jobVariables));
  const flowRun = { ...fixtureFlowRun("modal:push", jobVariables, jobConfiguration), work_pool: pool };
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_BOOTSTRAP_TOKEN: `frb_secret_${flowRun.id.slice(0, 8)}` },
  };
}

export function refOf(request: SubmitRequest, infrastructureId: string): InfrastructureRef {
  return { infrastructureId, jobConfiguration: request.jobConfiguration, credentials: request.credentials };
}
