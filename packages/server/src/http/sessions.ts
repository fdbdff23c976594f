import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { FerryError, LOGIN_LINK_PATH } from "@ferry/core";
import type { ServiceContext } from "../services/context.js";
import { redeemLoginLink, SESSION_TTL_MS } from "../services/sessions.js";
import { safeEqual } from "../secrets.js";
import { sendHtml, uiHeaders } from "./web-ui.js";

export const SESSION_COOKIE = "ferry_session";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Where the server is reached from, for the session cookie's `Secure` flag, Origin checks and login links. */
export interface PublicAddress {
  /** FERRY_PUBLIC_URL, else the address it listens on; known once it listens. */
  url(): string | null;
}

/**
 * Whether the browser reached the server over https: on the connection itself (request.protocol; the
 * server trusts no proxy headers), or through a proxy that terminates TLS, which the operator says by
 * giving an https FERRY_PUBLIC_URL.
 */
function overHttps(request: FastifyRequest, address: PublicAddress): boolean {
  return request.protocol === "https" || (address.url() ?? "").startsWith("https:");
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, address: PublicAddress, value: string): void {
  reply.setCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    maxAge: SESSION_TTL_MS / 1000,
    secure: overHttps(request, address),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply, address: PublicAddress): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: "strict", path: "/", secure: overHttps(request, address) });
}

/** The origins a browser page of this server has: the one the request was sent to, and the public URL's. */
function ownOrigins(request: FastifyRequest, address: PublicAddress): string[] {
  const origins = [`${request.protocol}://${request.host}`];
  const url = address.url();
  if (url) origins.push(new URL(url).origin);
  return origins;
}

/**
 * Refuses a request a page of another site made: a present Origin header must be this server's own.
 * (Browsers send Origin with every cross-site request that can change something.)
 */
export function assertOwnOrigin(request: FastifyRequest, address: PublicAddress): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (!ownOrigins(request, address).includes(origin)) {
    throw new FerryError("forbidden", `requests from the page of another site (Origin ${origin.slice(0, 200)}) are refused; use the web UI this server serves, or an API key`);
  }
}

/**
 * What a request authenticated by the session cookie must also show: its own origin, and for anything
 * that changes something the session's CSRF token in `x-csrf-token` (which a page of another site cannot read).
 */
export function assertSessionRequest(request: FastifyRequest, address: PublicAddress, csrfToken: string): void {
  assertOwnOrigin(request, address);
  if (!UNSAFE.has(request.method)) return;
  const sent = request.headers["x-csrf-token"];
  if (typeof sent !== "string" || !safeEqual(sent, csrfToken)) {
    throw new FerryError(
      "forbidden",
      "this request came with the session cookie but without the session's CSRF token: send it in the x-csrf-token header (GET /api/session answers it), or sign in again",
    );
  }
}

/**
 * `GET /auth/login?token=…`: redeems a login link (`ferry ui`) once, sets the session cookie and sends
 * the browser on to the link's path. A used or expired link answers a page saying what to do.
 */
export function registerLoginLinkRoute(app: FastifyInstance, ctx: ServiceContext, address: PublicAddress): void {
  app.get(LOGIN_LINK_PATH, { schema: { hide: true } }, async (request, reply) => {
    const value = (request.query as { token?: unknown }).token;
    const redeemed = typeof value === "string" ? await redeemLoginLink(ctx, value) : null;
    if (!redeemed) {
      return sendHtml(
        reply.code(401),
        "Sign-in link not valid",
        "<h1>This sign-in link does not work any more</h1><p>A link from <code>ferry ui</code> signs in once and only within 60 seconds of being made. Run <code>ferry ui</code> again for a new one.</p>",
      );
    }
    setSessionCookie(request, reply, address, redeemed.cookie);
    uiHeaders(reply).header("cache-control", "no-store");
    return reply.redirect(redeemed.path, 303);
  });
}
