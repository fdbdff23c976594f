import { describe, expect, it } from "vitest";
import { guardPullRequest, pullRequestTag, type PullRequestContext } from "./pr-guard.js";

const pr: PullRequestContext = { event: "pull_request", owner: "acme", repo: "flows", number: 12 };
const push: PullRequestContext = { ...pr, event: "push", number: null };

describe("guardPullRequest", () => {
  it("lets push events deploy and delete anything, untagged", () => {
    expect(guardPullRequest("deploy", push, "etl/nightly", [], false)).toEqual({ allowed: true, tag: null });
    expect(guardPullRequest("delete", push, "etl/nightly", null, false)).toEqual({ allowed: true, tag: null });
  });

  it("lets a pull request make a new deployment, tagged as its own, and update or delete it later", () => {
    const tag = pullRequestTag(pr);
    expect(tag).toBe("github-pr:acme/flows#12");
    expect(guardPullRequest("deploy", pr, "etl/etl-pr-12", null, false)).toEqual({ allowed: true, tag });
    expect(guardPullRequest("deploy", pr, "etl/etl-pr-12", ["team", tag], false)).toEqual({ allowed: true, tag });
    expect(guardPullRequest("delete", pr, "etl/etl-pr-12", [tag], false)).toEqual({ allowed: true, tag });
  });

  it.each(["pull_request", "pull_request_target"])("refuses on %s to replace or delete a deployment it did not make, suggesting a per-PR name", (event) => {
    for (const action of ["deploy", "delete"] as const) {
      const d = guardPullRequest(action, { ...pr, event }, "etl/nightly", ["github-pr:acme/flows#11"], false);
      expect(d.allowed).toBe(false);
      if (d.allowed) continue;
      expect(d.refusal).toContain(`refusing to ${action === "deploy" ? "replace" : "delete"} deployment 'etl/nightly' on a ${event} event`);
      expect(d.refusal).toContain("name: etl-pr-${{ github.event.number }}");
      expect(d.refusal).toContain("allow-pr-deploy: true");
    }
  });

  it("allows it with allow-pr-deploy, without tagging the deployment as the pull request's", () => {
    expect(guardPullRequest("deploy", pr, "etl/nightly", [], true)).toEqual({ allowed: true, tag: null });
  });
});
