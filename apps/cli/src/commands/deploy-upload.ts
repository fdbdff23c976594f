import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { FerryError, parseSourceUrl, type BlobLocation, type BlobSourceModule, type BlobStoreReader, type BlobStoreWriter, type DeploymentSource, type FerryClient } from "@ferry/core";
import ignore, { type Ignore } from "ignore";

/** Never uploaded: version control, dependencies and caches a run makes again. */
const ALWAYS_EXCLUDED = [".git/", "node_modules/", "__pycache__/", "*.pyc", ".venv/", "venv/", ".ferry/", ".DS_Store"];

/**
 * The files of `root` to upload, as `/`-separated paths: everything but ALWAYS_EXCLUDED and what
 * `.gitignore` and `.ferryignore` (read after, so its `!pattern` lines can take a file back) exclude, in
 * the root folder, with gitignore's syntax.
 */
export async function filesToUpload(root: string): Promise<string[]> {
  const rules: Ignore = ignore().add(ALWAYS_EXCLUDED);
  for (const name of [".gitignore", ".ferryignore"]) {
    const text = await readFile(join(root, name), "utf8").catch(() => null);
    if (text !== null) rules.add(text);
  }
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = relative(root, join(dir, entry.name)).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!rules.ignores(`${path}/`)) await walk(join(dir, entry.name));
      } else if (entry.isFile() && !rules.ignores(path)) out.push(path);
    }
  };
  await walk(root);
  return out.sort();
}

/** The object key of a file: the prefix as a folder. */
export function uploadKey(location: BlobLocation, path: string): string {
  const prefix = location.prefix === "" || location.prefix.endsWith("/") ? location.prefix : `${location.prefix}/`;
  return `${prefix}${path}`;
}

/**
 * `ferry deploy --upload URL`: puts the working tree at a blob store's prefix, with the user's own cloud
 * identity, through the provider module the server names for that store (the one its engines read
 * with), and returns the deployments' source. Unchanged files (same MD5 as the stored object) are not
 * sent again.
 */
export async function uploadWorkingTree(options: {
  client: FerryClient;
  url: string;
  root: string;
  credentials: string | undefined;
  env: Record<string, string | undefined>;
  progress: (line: string) => void;
  now?: () => number;
}): Promise<DeploymentSource> {
  const location = parseSourceUrl(options.url);
  if (location.kind !== "blob" || location.tarball) {
    throw new FerryError("validation_failed", `--upload '${options.url}' is not a blob store prefix: use s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX`);
  }
  const { items } = await options.client.api.listSourceStores();
  const store = items.find((s) => s.scheme === location.scheme);
  if (!store) {
    throw new FerryError(
      "validation_failed",
      `the server reads no ${location.scheme} sources (it reads ${items.map((s) => s.scheme).join(", ") || "none"}): start it with that store's provider plugin in FERRY_PROVIDERS`,
    );
  }
  const mod = await loadStoreModule(store.module, options.root);
  const env = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
  const blob = mod.openBlobStore(location, { credentials: null, env, ambient: true }) as BlobStoreReader & Partial<BlobStoreWriter>;
  if (!blob.write) throw new FerryError("validation_failed", `${store.module} cannot write to ${location.scheme} stores; upload the files another way and deploy with --git-url ${options.url}`);

  const files = await filesToUpload(options.root);
  if (files.length === 0) throw new FerryError("validation_failed", `there is nothing to upload in ${options.root} (every file is excluded by .gitignore or .ferryignore)`);
  const stored = new Map((await blob.list(uploadKey(location, ""))).map((o) => [o.key, o]));
  const now = options.now ?? Date.now;
  let sent = 0;
  let bytes = 0;
  let unchanged = 0;
  let shownAt = now();
  options.progress(`Uploading ${files.length} files from ${options.root} to ${options.url}`);
  for (const [index, path] of files.entries()) {
    const body = await readFile(join(options.root, path));
    const md5 = createHash("md5").update(body).digest("base64");
    const key = uploadKey(location, path);
    const existing = stored.get(key);
    if (existing && existing.md5 === md5 && existing.size === body.length) unchanged += 1;
    else {
      await blob.write(key, body, { md5 });
      sent += 1;
      bytes += body.length;
    }
    if (now() - shownAt >= 1000 || index === files.length - 1) {
      shownAt = now();
      options.progress(`  ${index + 1}/${files.length} files: ${sent} uploaded (${formatBytes(bytes)}), ${unchanged} unchanged`);
    }
  }
  return { git_url: options.url, ...(options.credentials ? { credentials: options.credentials } : {}) };
}

/** The store's module, from the project's folder first (as provider client plugins are found), then beside this tool. */
async function loadStoreModule(module: string, root: string): Promise<BlobSourceModule> {
  for (const from of [join(root, "package.json"), import.meta.url]) {
    let path: string;
    try {
      path = createRequire(from).resolve(module);
    } catch {
      continue;
    }
    const mod = (await import(pathToFileURL(path).href)) as Partial<BlobSourceModule>;
    if (typeof mod.openBlobStore === "function") return mod as BlobSourceModule;
  }
  const pkg = module.startsWith("@") ? module.split("/").slice(0, 2).join("/") : module.split("/")[0];
  throw new FerryError("validation_failed", `uploading needs ${module}: run 'npm i ${pkg}' in ${root}, or install it beside this tool`);
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
