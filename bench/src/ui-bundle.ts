import { gzipSync } from "node:zlib";
import { init, parse } from "es-module-lexer";

/**
 * The UI's initial JavaScript as a browser's first visit gets it from the server: index.html's module
 * scripts and modulepreload links, and what they import statically (transitively). Page chunks loaded
 * with `import()` are not counted. apps/web's bundle-budget test holds the same sum under 300 KB.
 */
export interface InitialJs {
  files: { path: string; bytes: number; gzipBytes: number }[];
  gzipBytes: number;
}

/** Paths of index.html's module scripts and modulepreload links (same-origin only). */
export function initialScripts(html: string): string[] {
  const found: string[] = [];
  for (const tag of html.match(/<(script|link)\b[^>]*>/gi) ?? []) {
    const attr = (name: string) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']+)["']`, "i").exec(tag)?.[1];
    const isModuleScript = /^<script/i.test(tag) && attr("type") === "module";
    const isPreload = /^<link/i.test(tag) && attr("rel") === "modulepreload";
    const url = isModuleScript ? attr("src") : isPreload ? attr("href") : undefined;
    if (url && !/^[a-z]+:/i.test(url)) found.push(new URL(url, "http://ui/").pathname);
  }
  return found;
}

/** Static imports of a module, as absolute paths (dynamic `import()` and bare specifiers are left out). */
export async function staticImports(path: string, code: string): Promise<string[]> {
  await init;
  const [imports] = parse(code);
  return imports
    .filter((i) => i.d === -1 && i.n !== undefined && /^(\.{1,2})?\//.test(i.n))
    .map((i) => new URL(i.n!, `http://ui${path}`).pathname);
}

/** Fetches index.html and the initial JS from a running server and sums it gzipped (default level, as a server would). */
export async function measureInitialJs(baseUrl: string): Promise<InitialJs> {
  const get = async (path: string) => {
    const response = await fetch(new URL(path, baseUrl));
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: is the web UI built (npm run build)?`);
    return Buffer.from(await response.arrayBuffer());
  };
  const html = (await get("/")).toString("utf8");
  const queue = initialScripts(html);
  if (!queue.length) throw new Error("the server's / has no module script: it does not serve the built web UI");
  const files: InitialJs["files"] = [];
  const seen = new Set<string>();
  while (queue.length) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const body = await get(path);
    files.push({ path, bytes: body.length, gzipBytes: gzipSync(body).length });
    queue.push(...(await staticImports(path, body.toString("utf8"))));
  }
  return { files, gzipBytes: files.reduce((sum, f) => sum + f.gzipBytes, 0) };
}
