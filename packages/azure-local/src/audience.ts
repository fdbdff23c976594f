import { ArmError } from "./arm-error.js";

const ARM_AUDIENCES = ["https://management.azure.com", "https://management.core.windows.net"];
const GRAPH_AUDIENCES = ["https://graph.microsoft.com", "https://graph.windows.net"];

const normalize = (value: string): string => value.replace(/\/+$/, "").toLowerCase();

/**
 * The 401 ARM or Graph answers a token obtained for another API, or null when the token's audience is
 * theirs. azure-local's own URL is an audience of both (clients pointed at it ask `${url}/.default`);
 * a Graph token on ARM, or an ARM token on Graph, is refused as Azure refuses it.
 */
export function audienceRefusal(api: "arm" | "graph", audience: string, serverUrl: string): ArmError | null {
  const aud = normalize(audience);
  if ((api === "arm" ? ARM_AUDIENCES : GRAPH_AUDIENCES).map(normalize).includes(aud) || sameServer(aud, serverUrl)) return null;
  if (api === "graph") return new ArmError(401, "InvalidAuthenticationToken", `Access token validation failure. Invalid audience: '${audience}' (ask for the scope https://graph.microsoft.com/.default).`);
  return new ArmError(
    401,
    "InvalidAuthenticationTokenAudience",
    `The access token has been obtained for wrong audience or resource '${audience}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
  );
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether `audience` names this server: its URL, or another loopback name with the same port. */
function sameServer(audience: string, serverUrl: string): boolean {
  try {
    const a = new URL(audience);
    const s = new URL(serverUrl);
    if (a.port !== s.port) return false;
    return a.hostname === s.hostname || (LOOPBACK.has(a.hostname) && LOOPBACK.has(s.hostname));
  } catch {
    return false;
  }
}
