import { Octokit } from "@octokit/rest";

/** Where to report: a pull request gets a comment, any other event a commit status. */
export type ReportTarget =
  | { kind: "pull-request"; owner: string; repo: string; number: number }
  | { kind: "commit"; owner: string; repo: string; sha: string };

export interface RunReport {
  deployment: string;
  /** The flow run's final (or current) state type, e.g. COMPLETED. */
  state: string;
  url: string;
  body: string;
}

/** The hidden line that identifies the action's own comment for a deployment, so reruns edit it. */
export function commentMarker(deployment: string): string {
  return `<!-- ferry:${deployment} -->`;
}

export function createOctokit(token: string, baseUrl: string): Octokit {
  return new Octokit({ auth: token, baseUrl: baseUrl.replace(/\/+$/, ""), userAgent: "ferry-github-action" });
}

/** Comments on the pull request, editing the comment with the same marker when there is one. */
export async function upsertComment(octokit: Octokit, target: Extract<ReportTarget, { kind: "pull-request" }>, report: RunReport): Promise<"created" | "updated"> {
  const marker = commentMarker(report.deployment);
  const body = `${marker}\n${report.body}`;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.number,
    per_page: 100,
  });
  const own = comments.find((c) => c.body?.includes(marker));
  if (own) {
    await octokit.rest.issues.updateComment({ owner: target.owner, repo: target.repo, comment_id: own.id, body });
    return "updated";
  }
  await octokit.rest.issues.createComment({ owner: target.owner, repo: target.repo, issue_number: target.number, body });
  return "created";
}

/** GitHub's four commit-status states, from a flow run's state type. */
export function commitState(state: string): "pending" | "success" | "failure" | "error" {
  if (state === "COMPLETED") return "success";
  if (state === "FAILED") return "failure";
  if (state === "CRASHED" || state === "CANCELLED" || state === "TIMED_OUT") return "error";
  return "pending";
}

export async function setCommitStatus(octokit: Octokit, target: Extract<ReportTarget, { kind: "commit" }>, report: RunReport): Promise<void> {
  await octokit.rest.repos.createCommitStatus({
    owner: target.owner,
    repo: target.repo,
    sha: target.sha,
    state: commitState(report.state),
    context: `ferry/${report.deployment}`.slice(0, 255),
    description: `Flow run ${report.state.toLowerCase()}`.slice(0, 140),
    target_url: /^https?:\/\//.test(report.url) ? report.url : undefined,
  });
}

export async function report(octokit: Octokit, target: ReportTarget, run: RunReport): Promise<string> {
  if (target.kind === "pull-request") return `${await upsertComment(octokit, target, run)} comment on #${target.number}`;
  await setCommitStatus(octokit, target, run);
  return `set commit status ferry/${run.deployment} on ${target.sha.slice(0, 7)}`;
}
