import { FerryError } from "@ferry/core";
import { parse } from "smol-toml";
import type { ModalToken } from "../credentials.js";

/** Where a user's Modal token may be, read once at the edge (the client plugin) and passed in. */
export interface TokenSources {
  /** The user's environment: MODAL_TOKEN_ID, MODAL_TOKEN_SECRET, MODAL_PROFILE, MODAL_ENVIRONMENT. */
  env: Record<string, string | undefined>;
  /** `~/.modal.toml`, or MODAL_CONFIG_PATH. */
  configPath: string;
  /** The file's text, or null when there is none. */
  readConfig: (path: string) => string | null;
}

export interface FoundToken {
  token: ModalToken;
  /** Where it was found, in messages (never the secret). */
  source: string;
  /** The profile's environment (or MODAL_ENVIRONMENT), when it names one. */
  environment: string | null;
}

export const HOW_TO_MAKE_A_TOKEN =
  "make a Modal token: 'pip install modal && modal token new' (it writes ~/.modal.toml), or create one at https://modal.com/settings/tokens " +
  "and set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET";

/**
 * The user's Modal token, found where Modal's own tools look: MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, else
 * the profile of `~/.modal.toml` named by `profile` (or MODAL_PROFILE), else its active profile, else
 * its only one. Throws, saying how to make one, when there is none.
 */
export function findModalToken(sources: TokenSources, profile?: string): FoundToken {
  const { env } = sources;
  const id = env.MODAL_TOKEN_ID?.trim();
  const secret = env.MODAL_TOKEN_SECRET?.trim();
  if (id && secret && !profile) return { token: { tokenId: id, tokenSecret: secret }, source: "MODAL_TOKEN_ID / MODAL_TOKEN_SECRET", environment: env.MODAL_ENVIRONMENT?.trim() || null };
  if ((id || secret) && !profile) {
    throw new FerryError("provider_auth", `${id ? "MODAL_TOKEN_SECRET" : "MODAL_TOKEN_ID"} is not set while ${id ? "MODAL_TOKEN_ID" : "MODAL_TOKEN_SECRET"} is: set both, or neither to use ~/.modal.toml`, { retryable: false });
  }
  const text = sources.readConfig(sources.configPath);
  if (text === null) throw new FerryError("provider_auth", `no Modal token: neither MODAL_TOKEN_ID / MODAL_TOKEN_SECRET nor ${sources.configPath} is there; ${HOW_TO_MAKE_A_TOKEN}`, { retryable: false });
  let config: Record<string, unknown>;
  try {
    config = parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new FerryError("validation_failed", `${sources.configPath} is not valid TOML (${(error as Error).message.split("\n")[0]}); fix it or run 'modal token new'`, { cause: error });
  }
  const profiles = Object.entries(config).filter((entry): entry is [string, Record<string, unknown>] => typeof entry[1] === "object" && entry[1] !== null);
  const wanted = profile ?? env.MODAL_PROFILE?.trim();
  const chosen = wanted
    ? profiles.find(([name]) => name === wanted)
    : (profiles.find(([, p]) => p.active === true) ?? (profiles.length === 1 ? profiles[0] : undefined));
  if (!chosen) {
    const names = profiles.map(([name]) => name).join(", ") || "none";
    throw new FerryError(
      "provider_auth",
      wanted
        ? `${sources.configPath} has no profile '${wanted}' (profiles: ${names})`
        : `${sources.configPath} has no active profile (profiles: ${names}): run 'modal profile activate NAME' or pass --modal-profile NAME`,
      { retryable: false },
    );
  }
  const [name, data] = chosen;
  const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : null);
  const tokenId = str(data.token_id);
  const tokenSecret = str(data.token_secret);
  if (!tokenId || !tokenSecret) {
    throw new FerryError("provider_auth", `profile '${name}' of ${sources.configPath} has no token_id and token_secret; ${HOW_TO_MAKE_A_TOKEN}`, { retryable: false });
  }
  return { token: { tokenId, tokenSecret }, source: `profile '${name}' of ${sources.configPath}`, environment: env.MODAL_ENVIRONMENT?.trim() || str(data.environment) };
}
