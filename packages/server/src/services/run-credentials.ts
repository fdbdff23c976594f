import { FerryError, isTerminal, type FlowRunRecord } from "@ferry/core";
import { generateBootstrapToken, hashBootstrapToken, looksLikeBootstrapToken } from "../run-tokens.js";
import { logToRun, type ServiceContext } from "./context.js";

/**
 * How long a bootstrap token may wait for its engine. Long enough for a cloud to pull an image and
 * start a container (minutes on a cold host), short enough that a token read later from a task's
 * description is worthless even if the engine never used it.
 */
export const BOOTSTRAP_TOKEN_TTL_SECONDS = 15 * 60;

/**
 * What a dispatcher puts in a run's infrastructure instead of its run token: a single-use token the
 * engine exchanges at start (`exchangeBootstrapToken`) for the run token, which then lives only in the
 * engine's memory. `runTokenExpires` (seconds since the epoch) is when that run token will stop working.
 */
export async function issueBootstrapToken(
  ctx: ServiceContext,
  run: Pick<FlowRunRecord, "id" | "workspace_id">,
  runTokenExpires: number,
): Promise<string> {
  const { token, hash } = generateBootstrapToken();
  const now = ctx.now().getTime();
  await ctx.store.insertRunBootstrapToken({
    hash,
    flow_run_id: run.id,
    workspace_id: run.workspace_id,
    expires_at: new Date(now + BOOTSTRAP_TOKEN_TTL_SECONDS * 1000).toISOString(),
    run_token_expires_at: new Date(runTokenExpires * 1000).toISOString(),
  });
  return token;
}

/**
 * Trades a bootstrap token for its run's token, once. A second exchange is refused and written into
 * the run's log: either the engine was started twice, or someone who could read the infrastructure's
 * description tried to act as the run.
 */
export async function exchangeBootstrapToken(
  ctx: ServiceContext,
  bootstrapToken: string,
): Promise<{ run_token: string; flow_run_id: string; expires_at: string }> {
  const refuse = (reason: "invalid" | "used" | "expired" | "ended", message: string) => {
    ctx.metrics.bootstrapRefusals.inc({ reason });
    return new FerryError("unauthenticated", message);
  };
  const invalid = () => refuse("invalid", "the bootstrap token is not valid; a run's engine gets one from the server that started it");
  if (!looksLikeBootstrapToken(bootstrapToken)) throw invalid();
  const claim = await ctx.store.claimRunBootstrapToken(hashBootstrapToken(bootstrapToken), ctx.now().toISOString());
  if (!claim) throw invalid();
  const { token } = claim;
  if (claim.outcome === "used") {
    const run = await ctx.store.getFlowRunForSystem(token.flow_run_id);
    if (run) {
      await logToRun(ctx, run, "warning",
        "A second exchange of this run's bootstrap token was refused. If the run's engine did not restart, someone who can read " +
          "the run's infrastructure (its environment) tried to act as the run: check who can describe its tasks or containers.",
      );
    }
    throw refuse("used", "the bootstrap token was exchanged already; each is good for one exchange (a second one is logged on the run)");
  }
  if (claim.outcome === "expired") {
    throw refuse("expired", `the bootstrap token has expired: the engine must exchange it within ${BOOTSTRAP_TOKEN_TTL_SECONDS / 60} minutes of the run's submission`);
  }
  const subject = await ctx.store.getRunTokenSubject(token.flow_run_id);
  if (!subject) throw refuse("ended", "the bootstrap token's flow run no longer exists");
  if (isTerminal(subject.stateType)) {
    throw refuse("ended", `flow run ${token.flow_run_id} has ended (${subject.stateType}): there is nothing left to run`);
  }
  const expires = Math.floor(Date.parse(token.run_token_expires_at) / 1000);
  return {
    run_token: ctx.runTokens.issue({ flowRunId: token.flow_run_id, workspaceId: token.workspace_id, expires }),
    flow_run_id: token.flow_run_id,
    expires_at: token.run_token_expires_at,
  };
}
