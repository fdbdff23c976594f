import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Where the build puts the web UI (apps/web's dist, copied by this package's build). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("../web", import.meta.url));

/**
 * The UI's Content-Security-Policy: its own scripts, styles, fonts and API only. style-src allows
 * 'unsafe-inline' because Radix's dialogs inject a <style> element to lock the page's scrolling while
 * one is open; scripts stay 'self' only.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every page and file of the UI (not /docs, whose swagger-ui has its own needs). */
export function uiHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", CSP)
    .header("x-content-type-options", "nosniff")
    // A login link's token is in the URL: it must not leave in a Referer header.
    .header("referrer-policy", "no-referrer")
    .header("x-frame-options", "DENY");
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page of the server's own (no script, styled inline), with the UI's headers. */
export function sendHtml(reply: FastifyReply, title: string, body: string): FastifyReply {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Ferry</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .2em}@media (prefers-color-scheme:dark){body{background:#111;color:#eee}code{background:#333}}</style></head><body>${body}</body></html>`;
  return uiHeaders(reply).header("cache-control", "no-store").type("text/html; charset=utf-8").send(html);
}

/** Paths the UI never answers: the API and the server's own pages keep their answers (a JSON 404 for an unknown /api path). */
const SERVER_PATHS = /^\/(api|auth|docs|healthz|readyz|metrics|openapi\.json|assets)(\/|$)/;

/**
 * Serves the built web UI: hashed files under /assets cached for a year, index.html never cached, and
 * index.html for any other page a browser asks for (the UI's router takes it from there). Without a
 * build, `/` says how to make one.
 */
export async function registerWebUi(app: FastifyInstance, webDir: string): Promise<{ fallback(request: FastifyRequest, reply: FastifyReply): boolean }> {
  const built = existsSync(join(webDir, "index.html"));
  // reply.sendFile only (content types, ETags, ranges, no path out of the folder); the routes below
  // choose the paths and headers.
  if (built) await app.register(fastifyStatic, { root: webDir, serve: false });

  app.get("/", { schema: { hide: true } }, async (_request, reply) => {
    if (!built) {
      return sendHtml(
        reply,
        "Web UI not built",
        `<h1>Ferry's web UI is not built</h1><p>This server has no built UI to serve. Build it from the repository's root with <code>npm run build</code> (the server package copies <code>apps/web/dist</code>), then restart the server. The API works meanwhile: its reference is at <a href="/docs">/docs</a>.</p>`,
      );
    }
    uiHeaders(reply).header("cache-control", "no-cache");
    return reply.sendFile("index.html", webDir, { cacheControl: false });
  });

  app.get("/assets/*", { schema: { hide: true } }, async (request, reply) => {
    if (!built) return reply.callNotFound();
    const file = (request.params as { "*": string })["*"];
    // Vite puts a content hash in every file name here: a changed file has a new name.
    uiHeaders(reply).header("cache-control", "public, max-age=31536000, immutable");
    return reply.sendFile(file, join(webDir, "assets"), { cacheControl: false });
  });

  return {
    /** Answers a browser's GET of a page of the UI (from the not-found handler); false when it is not one. */
    fallback(request, reply) {
      if (!built || (request.method !== "GET" && request.method !== "HEAD")) return false;
      const path = request.url.split("?")[0]!;
      if (SERVER_PATHS.test(path)) return false;
      // Files Vite copies from public/ (favicon…) sit beside index.html.
      const name = path.slice(1);
      if (/^[\w.-]+\.\w+$/.test(name) && name !== "index.html" && isFile(join(webDir, name))) {
        uiHeaders(reply).header("cache-control", "public, max-age=3600");
        void reply.sendFile(name, webDir, { cacheControl: false });
        return true;
      }
      if (!String(request.headers.accept ?? "").includes("text/html")) return false;
      uiHeaders(reply).header("cache-control", "no-cache");
      void reply.sendFile("index.html", webDir, { cacheControl: false });
      return true;
    },
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
