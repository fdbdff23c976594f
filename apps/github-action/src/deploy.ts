import { completeDeployments, parseProjectFile, type DeploymentApply } from "@ferry/core";
import { ActionInputError } from "./inputs.js";

/** Where the workflow's code is: every deployment runs exactly this commit of this repository. */
export interface RepositoryPin {
  /** `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}`, kept as is (no `.git`): GitHub serves both. */
  gitUrl: string;
  commit: string;
  /** Git credentials to name in every source; null = each deployment's own from the file (if any). */
  credentials: string | null;
}


/**
 * Parses the project file and pins every deployment to the workflow's commit. What the file says about
 * the source (a git URL, a branch) is replaced: the action deploys the code it was started on.
 */
export function pinnedDeployments(text: string, fileName: string, pin: RepositoryPin, names: string[]): DeploymentApply[] {
  const project = parseProjectFile(text, { fileName });
  const all = completeDeployments(project, { source: { git_url: pin.gitUrl } }, { fileName }).map(
    (d): DeploymentApply => ({
      ...d,
      source: { git_url: pin.gitUrl, branch: null, commit: pin.commit, credentials: pin.credentials ?? d.source.credentials ?? null },
    }),
  );
  if (names.length === 0) return all;
  const unknown = names.filter((n) => !all.some((d) => matches(d, n)));
  if (unknown.length) {
    const known = all.map((d) => `${d.flow_name}/${d.name}`).join(", ");
    throw new ActionInputError("deployments", `names ${unknown.map((n) => `'${n}'`).join(", ")} not found in ${fileName}; it has ${known || "no deployments"}`);
  }
  return all.filter((d) => names.some((n) => matches(d, n)));
}

function matches(d: DeploymentApply, name: string): boolean {
  return name === d.name || name === `${d.flow_name}/${d.name}`;
}

/**
 * Gives the one selected deployment another name on the server (`name: etl-pr-12`): a pull request's
 * own copy beside the production deployment. Several deployments cannot share one name.
 */
export function renamed(deployments: DeploymentApply[], name: string | null, fileName: string): DeploymentApply[] {
  if (name === null) return deployments;
  if (deployments.length !== 1) {
    const names = deployments.map((d) => `${d.flow_name}/${d.name}`).join(", ");
    throw new ActionInputError("name", `renames one deployment, but ${deployments.length} are selected from ${fileName} (${names || "none"}); choose one with 'deployments'`);
  }
  return [{ ...deployments[0]!, name }];
}
