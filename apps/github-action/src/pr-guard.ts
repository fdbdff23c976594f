/**
 * Deploying from a pull request. A pull_request workflow runs the pull request's code (a fork's too),
 * so by default it may only make and update deployments of its own, marked with its tag, and never
 * replace or delete one that a push (production) made.
 */

/** The events whose workflow runs a pull request's code. */
export const PULL_REQUEST_EVENTS = new Set(["pull_request", "pull_request_target"]);

export interface PullRequestContext {
  /** `GITHUB_EVENT_NAME`. */
  event: string;
  owner: string;
  repo: string;
  /** The pull request's number, when the event has one. */
  number: number | null;
}

/** The tag a deployment made by a pull request carries: later runs of that pull request may update or delete it. */
export function pullRequestTag(pr: PullRequestContext): string {
  return `github-pr:${pr.owner}/${pr.repo}#${pr.number ?? "?"}`.slice(0, 100);
}

export function isPullRequestEvent(pr: PullRequestContext): boolean {
  return PULL_REQUEST_EVENTS.has(pr.event);
}

/** What the guard decided for one deployment; `refusal` is the whole message, naming the fix. */
export type GuardDecision = { allowed: true; tag: string | null } | { allowed: false; refusal: string };

/**
 * Whether `action` ("deploy" or "delete") may touch deployment `ref`, which `existingTags` says exists
 * (null = it does not). A new deployment made by a pull request gets its tag; an existing one must carry it.
 */
export function guardPullRequest(action: "deploy" | "delete", pr: PullRequestContext, ref: string, existingTags: string[] | null, allowPrDeploy: boolean): GuardDecision {
  if (!isPullRequestEvent(pr)) return { allowed: true, tag: null };
  const tag = pullRequestTag(pr);
  if (existingTags === null) return { allowed: true, tag };
  if (existingTags.includes(tag)) return { allowed: true, tag };
  if (allowPrDeploy) return { allowed: true, tag: null };
  const flow = ref.split("/")[0] ?? "flow";
  const verb = action === "deploy" ? "replace" : "delete";
  return {
    allowed: false,
    refusal:
      `refusing to ${verb} deployment '${ref}' on a ${pr.event} event: it was not made by this pull request, and a pull request (from a fork, too) must not ${verb} the deployment pushes make. ` +
      `Deploy a deployment of the pull request's own instead, with 'name: ${flow}-pr-\${{ github.event.number }}' (and 'command: delete' with the same inputs when the pull request closes); ` +
      `deploy production on push to the default branch; or, if this workflow only runs for trusted pull requests, set 'allow-pr-deploy: true'`,
  };
}
