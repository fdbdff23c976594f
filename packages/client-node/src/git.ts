import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { execFile } from "node:child_process";
import { FerryError, type DeploymentSource } from "@ferry/core";

/** Runs git in a directory and returns its stdout; rejects with the process error (its `code` and `stderr`). */
export type GitRunner = (args: string[], cwd: string) => Promise<string>;

export const runGit: GitRunner = (args, cwd) =>
  new Promise((resolve, reject) => {
    execFile("git", args, { cwd, timeout: 10_000, windowsHide: true }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve(String(stdout).trim());
    });
  });

/** The top of the git work tree `dir` is in, or null outside one (or without git). Entrypoints are relative to it. */
export async function gitTopLevel(dir: string, git: GitRunner = runGit): Promise<string | null> {
  try {
    return (await git(["rev-parse", "--show-toplevel"], dir)) || null;
  } catch {
    return null;
  }
}

export interface GitDefaults {
  source: DeploymentSource;
  /** Things the user should know: unpushed commits, uncommitted changes, credentials removed from the URL. */
  warnings: string[];
}

/**
 * The source a deployment gets when it names none: the repository's `origin` and the current branch
 * (or commit, when HEAD is detached). Runs read code from the remote, so what is not pushed is not
 * deployed; the warnings say so.
 */
export async function gitDefaults(cwd: string, git: GitRunner = runGit): Promise<GitDefaults> {
  try {
    await git(["rev-parse", "--is-inside-work-tree"], cwd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new FerryError("validation_failed", "git is not installed, so the deployment's source cannot be found; give it with --git-url or 'source: { git_url: … }' in ferry.yaml", { cause: error });
    }
    throw new FerryError(
      "validation_failed",
      `${cwd} is not inside a git repository, so the deployment's source is unknown; give it with --git-url or 'source: { git_url: … }' in ferry.yaml`,
      { cause: error },
    );
  }
  let remote: string;
  try {
    remote = await git(["remote", "get-url", "origin"], cwd);
  } catch (error) {
    throw new FerryError(
      "validation_failed",
      "this git repository has no 'origin' remote to clone from; add one (git remote add origin URL) or give the source with --git-url or in ferry.yaml",
      { cause: error },
    );
  }
  const warnings: string[] = [];
  const { url, hadCredentials } = withoutCredentials(asCloneUrl(remote, cwd));
  if (hadCredentials) {
    warnings.push("the 'origin' URL contains credentials; they were left out of the deployment. For a private repository store a token with 'ferry credentials create NAME --type git' and name it with --git-credentials or source.credentials");
  }

  const branch = await git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd).catch(() => "");
  const source: DeploymentSource = { git_url: url };
  if (branch) {
    source.branch = branch;
    const upstream = await git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], cwd).catch(() => "");
    if (!upstream) {
      warnings.push(`branch '${branch}' has no upstream on the remote; push it (git push -u origin ${branch}) before running, runs clone from the remote`);
    } else {
      const ahead = Number(await git(["rev-list", "--count", "@{upstream}..HEAD"], cwd).catch(() => "0"));
      if (ahead > 0) warnings.push(`${ahead} local commit${ahead === 1 ? " is" : "s are"} not pushed to ${upstream}; runs clone from the remote and will not see ${ahead === 1 ? "it" : "them"}`);
    }
  } else {
    source.commit = await git(["rev-parse", "HEAD"], cwd);
  }
  const dirty = await git(["status", "--porcelain", "--untracked-files=no"], cwd).catch(() => "");
  if (dirty) warnings.push("the working tree has uncommitted changes; runs use what is committed and pushed");
  return { source, warnings };
}

/**
 * A remote that is a path on this machine (`git clone /srv/repo`) becomes a `file://` URL, which the
 * server accepts; runs on this machine (the process backend, a local container with the path mounted)
 * can clone it. Other remotes stay as they are.
 */
export function asCloneUrl(remote: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote) || /^[^/\s]+@[^:\s]+:/.test(remote)) return remote;
  return pathToFileURL(resolve(cwd, remote)).href;
}

/** Removes `user:token@` from an https URL; ssh URLs (`git@host:path`) carry no secret and stay as they are. */
export function withoutCredentials(url: string): { url: string; hadCredentials: boolean } {
  if (!/^https?:\/\//i.test(url)) return { url, hadCredentials: false };
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return { url, hadCredentials: false };
    parsed.username = "";
    parsed.password = "";
    return { url: parsed.toString(), hadCredentials: true };
  } catch {
    return { url, hadCredentials: false };
  }
}
