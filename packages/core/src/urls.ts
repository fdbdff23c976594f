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
