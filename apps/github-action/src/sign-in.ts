import { FerryClient, isFerryError } from "@ferry/core";
import { ActionInputError } from "./inputs.js";

/** What signing in needs from the runner: its environment and @actions/core's token and masking. */
export interface SignInDeps {
  env: Record<string, string | undefined>;
  /** `core.getIDToken`: the job's OIDC ID token for an audience (needs `permissions: id-token: write`). */
  getIDToken(audience: string): Promise<string>;
  setSecret(value: string): void;
  warning(message: string): void;
  /** Renewal is scheduled with this (default setTimeout, unref'd so it never holds the step open). */
  schedule?(fn: () => void, ms: number): void;
  now?(): number;
}

export interface SignInOptions {
  apiUrl: string;
  apiKey: string | null;
  workspace: string | null;
  oidcAudience: string;
}

/** How long before an access token expires a new one is exchanged for it. */
const RENEW_BEFORE_MS = 3 * 60_000;
const USER_AGENT = "ferry-github-action";

/**
 * A client signed in with the API key when one is given, else by OIDC: the job's ID token (GitHub
 * signs it; `id-token: write`) is exchanged for a short-lived access token of the workspace, renewed
 * while the step runs (a watched run may outlive one). No long-lived key in the repository.
 */
export async function signIn(options: SignInOptions, deps: SignInDeps): Promise<FerryClient> {
  if (options.apiKey) return new FerryClient({ apiUrl: options.apiUrl, apiKey: options.apiKey, userAgent: USER_AGENT });
  if (!deps.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    throw new ActionInputError(
      "api-key",
      "is empty and the job cannot sign in by OIDC (ACTIONS_ID_TOKEN_REQUEST_URL is not set): give the job 'permissions: id-token: write' and the workspace a trust policy (ferry oidc-trust create), or pass api-key: ${{ secrets.FERRY_API_KEY }}",
    );
  }
  if (!options.workspace) {
    throw new ActionInputError("workspace", "is required to sign in by OIDC (no api-key given): the workspace's id, which 'ferry oidc-trust ls' prints");
  }
  const workspace = options.workspace;
  const anonymous = new FerryClient({ apiUrl: options.apiUrl, userAgent: USER_AGENT });
  const exchange = async () => {
    let idToken: string;
    try {
      idToken = await deps.getIDToken(options.oidcAudience);
    } catch (error) {
      throw new Error(`could not get the job's OIDC token from GitHub (does the job have 'permissions: id-token: write'?): ${(error as Error).message}`, { cause: error });
    }
    deps.setSecret(idToken);
    try {
      const answer = await anonymous.api.exchangeOidcToken({ body: { token: idToken, workspace } });
      deps.setSecret(answer.access_token);
      return answer;
    } catch (error) {
      if (isFerryError(error) && error.code === "unauthenticated") {
        throw new Error(
          `Ferry did not accept this job's OIDC token (audience '${options.oidcAudience}', repository ${deps.env.GITHUB_REPOSITORY ?? "?"}, ref ${deps.env.GITHUB_REF ?? "?"}) for workspace ${workspace}: ` +
            `add a trust policy that matches it, e.g. 'ferry oidc-trust create ci --claim repository=${deps.env.GITHUB_REPOSITORY ?? "OWNER/REPO"} --role deployer', or check 'oidc-audience'`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  let current = await exchange();
  const now = deps.now ?? Date.now;
  const schedule = deps.schedule ?? ((fn, ms) => setTimeout(fn, ms).unref());
  const renew = () => {
    exchange().then(
      (answer) => {
        current = answer;
        plan();
      },
      (error: unknown) => {
        deps.warning(`could not renew the Ferry access token (${(error as Error).message}); the current one works until ${current.expires_at}`);
        if (Date.parse(current.expires_at) - now() > 30_000) schedule(renew, 30_000);
      },
    );
  };
  const plan = () => schedule(renew, Math.max(10_000, Date.parse(current.expires_at) - now() - RENEW_BEFORE_MS));
  plan();
  return new FerryClient({ apiUrl: options.apiUrl, apiKey: () => current.access_token, userAgent: USER_AGENT });
}
