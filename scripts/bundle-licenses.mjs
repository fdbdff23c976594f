// The licences of the third-party packages inside an esbuild bundle, which their licences require to travel
// with it: one section per package (name, version, licence, its licence file's text), from the metafile's inputs.
// Shared by the bundles we publish (apps/cli, apps/github-action).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The root of the npm package a bundled file came from (its last node_modules/[@scope/]name), or null for our own. */
export function packageRoot(file) {
  const parts = file.split("/");
  const i = parts.lastIndexOf("node_modules");
  if (i < 0) return null;
  const n = parts[i + 1]?.startsWith("@") ? 3 : 2;
  return parts.slice(0, i + n).join("/");
}

/**
 * The licences text for `metafile` (esbuild's, paths relative to `workingDir`), headed with the bundle's name.
 * An input of a plugin's namespace (`stub:@scope/name`) is not under node_modules: a stub brings no licence.
 */
export function licensesText(metafile, { workingDir, bundle }) {
  const roots = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const pkg = packageRoot(resolve(workingDir, input.replace(/^[a-z-]+:/, "")));
    if (pkg) roots.add(pkg);
  }
  const sections = [...roots]
    .map((dir) => {
      const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$|-)/i.test(f));
      const text = file ? readFileSync(join(dir, file), "utf8").trim() : `(the package has no licence file; its package.json says: ${meta.license ?? "no licence"})`;
      return { key: `${meta.name}@${meta.version}`, text: `${meta.name}@${meta.version}\nLicense: ${meta.license ?? "unknown"}\n\n${text}` };
    })
    .filter((s, i, all) => all.findIndex((o) => o.key === s.key) === i) // one package copied twice in node_modules
    .sort((a, b) => a.key.localeCompare(b.key));
  const rule = "\n\n" + "-".repeat(78) + "\n\n";
  return `Third-party software bundled in ${bundle} (${sections.length} packages)${rule}${sections.map((s) => s.text).join(rule)}\n`;
}
