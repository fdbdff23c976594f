/**
 * Whether `url` names this machine only (localhost, 127.0.0.0/8, ::1, 0.0.0.0): a container on a cloud
 * reaches its own loopback there, never the Ferry server.
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "::1" || host === "::" || host === "0:0:0:0:0:0:0:1" || host === "::ffff:127.0.0.1") return true;
  if (host === "0.0.0.0") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The page of a run in the web UI the server serves: what links for people point at (not the JSON API). */
export function flowRunUiUrl(apiUrl: string, id: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/runs/${encodeURIComponent(id)}`;
}
