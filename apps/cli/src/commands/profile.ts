import type { Command } from "commander";
import { checkApiUrl, FerryError } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { maskSecret } from "../format.js";
import { assertProfileName, assertProviderModules, parseProviderList, profilesPath, readProfiles, resolveSettings, updateProfiles, type Profile } from "@ferry/client-node";
import { confirmedDelete, handler, YES_HELP, JSON_HELP, type CommandEnv } from "./shared.js";

/** A profile as it may be shown: never a whole key or token. */
function shownProfile(name: string, profile: Profile, active: boolean) {
  return {
    name,
    active,
    api_url: profile.api_url ?? null,
    api_key: profile.api_key ? maskSecret(profile.api_key) : null,
    admin_token: profile.admin_token ? maskSecret(profile.admin_token) : null,
    providers: profile.providers ?? [],
  };
}

export function registerProfile(program: Command, env: CommandEnv): void {
  const profile = program
    .command("profile")
    .description(`servers and keys the CLI uses, kept in $FERRY_HOME/profiles.json`);

  profile
    .command("ls")
    .description("list profiles; * marks the active one")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const file = await readProfiles(profilesPath(ctx.home));
        const rows = Object.entries(file.profiles).map(([name, p]) => shownProfile(name, p, name === file.active));
        if (options.json) return ctx.out.json(rows);
        if (!rows.length) {
          ctx.out.line("No profiles. 'ferry server start' saves one for a local server; 'ferry profile set NAME --api-url URL --api-key-stdin' adds another.");
          return;
        }
        ctx.out.table(rows, [
          { header: "", value: (r) => (r.active ? "*" : "") },
          { header: "NAME", value: (r) => r.name },
          { header: "API URL", value: (r) => r.api_url },
          { header: "API KEY", value: (r) => r.api_key },
          { header: "ADMIN TOKEN", value: (r) => r.admin_token },
        ]);
      }),
    );

  profile
    .command("use")
    .description("make a profile the active one")
    .argument("<name>")
    .action(
      handler(env, async (ctx, name: string) => {
        const path = profilesPath(ctx.home);
        await updateProfiles(path, (file) => {
          if (!file.profiles[name]) throw unknownProfile(name, Object.keys(file.profiles));
          file.active = name;
        });
        ctx.out.success(`Active profile: ${name}`);
      }),
    );

  profile
    .command("set")
    .description("create or change a profile: ferry profile set NAME --api-url URL --api-key-stdin")
    .argument("<name>")
    .option("--api-key-stdin", "read the API key from stdin (a hidden prompt on a terminal)")
    .option("--admin-token-stdin", "read the operator's admin token from stdin (a hidden prompt on a terminal)")
    .option(
      "--providers <modules>",
      "provider packages whose client plugins this profile loads (provisioning, registry logins), comma-separated, besides those of the server's pool types and FERRY_PROVIDERS; '' clears them",
    )
    .addHelpText("after", "\nThe global --api-url sets the profile's URL. Keys are read from stdin so they stay out of shell history.")
    .action(
      handler(env, async (ctx, name: string, options: { apiKeyStdin?: boolean; adminTokenStdin?: boolean; providers?: string }) => {
        assertProfileName(name);
        const apiUrl = ctx.globals.apiUrl;
        if (apiUrl !== undefined) checkApiUrl(apiUrl);
        if (options.apiKeyStdin && options.adminTokenStdin && !ctx.io.stdinIsTTY) {
          throw new FerryError("validation_failed", "stdin can carry only one secret; set the API key and the admin token in two calls");
        }
        const apiKey = options.apiKeyStdin ? await readSecret(ctx, "API key") : ctx.globals.apiKey;
        const adminToken = options.adminTokenStdin ? await readSecret(ctx, "Admin token") : undefined;
        const providers = options.providers === undefined ? undefined : assertProviderModules(parseProviderList(options.providers));
        const path = profilesPath(ctx.home);
        let created = false;
        const file = await updateProfiles(path, (f) => {
          const existing = f.profiles[name];
          created = existing === undefined;
          if (created && apiUrl === undefined) {
            throw new FerryError("validation_failed", `profile '${name}' is new and needs a server URL: add --api-url URL`);
          }
          const next: Profile = { ...existing };
          if (apiUrl !== undefined) next.api_url = apiUrl.replace(/\/+$/, "");
          if (apiKey !== undefined) next.api_key = apiKey;
          if (adminToken !== undefined) next.admin_token = adminToken;
          if (providers?.length) next.providers = providers;
          else if (providers) delete next.providers;
          f.profiles[name] = next;
          if (f.active === null || !f.profiles[f.active]) f.active = name;
        });
        ctx.out.success(`${created ? "Created" : "Updated"} profile '${name}'${file.active === name ? " (active)" : ""} in ${path}`);
        if (file.active !== name) ctx.out.note(`Use it with 'ferry profile use ${name}' or --profile ${name}.`);
      }),
    );

  profile
    .command("delete")
    .description("delete a profile")
    .argument("<name>")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { yes?: boolean }) => {
        const existing = await readProfiles(profilesPath(ctx.home));
        if (!existing.profiles[name]) throw unknownProfile(name, Object.keys(existing.profiles));
        return confirmedDelete(ctx, options, `Delete profile '${name}' (its API key is forgotten here, not revoked)?`, async () => {
          const file = await updateProfiles(profilesPath(ctx.home), (f) => {
            if (!f.profiles[name]) throw unknownProfile(name, Object.keys(f.profiles));
            delete f.profiles[name];
            if (f.active === name) f.active = null;
          });
          ctx.out.success(`Deleted profile '${name}'`);
          if (file.active === null && Object.keys(file.profiles).length) ctx.out.note("No profile is active now; pick one with 'ferry profile use NAME'.");
        });
      }),
    );

  profile
    .command("inspect")
    .description("show a profile, or without NAME what this command line resolves to (flags, environment, profile)")
    .argument("[name]")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string | undefined, options: { json?: boolean }) => {
        const path = profilesPath(ctx.home);
        const file = await readProfiles(path);
        if (name !== undefined) {
          const p = file.profiles[name];
          if (!p) throw unknownProfile(name, Object.keys(file.profiles));
          const shown = { ...shownProfile(name, p, name === file.active), path };
          return options.json ? ctx.out.json(shown) : ctx.out.details(shown);
        }
        const s = resolveSettings(ctx.globals, ctx.io.env, file, ctx.home);
        const shown = {
          profile: s.profileName,
          path,
          api_url: s.apiUrl,
          api_url_from: s.sources.apiUrl,
          api_key: s.apiKey ? maskSecret(s.apiKey) : null,
          api_key_from: s.sources.apiKey,
          admin_token: s.adminToken ? maskSecret(s.adminToken) : null,
          admin_token_from: s.sources.adminToken,
          providers: s.providers,
          providers_env: parseProviderList(ctx.io.env.FERRY_PROVIDERS),
        };
        return options.json ? ctx.out.json(shown) : ctx.out.details(shown);
      }),
    );
}

function unknownProfile(name: string, names: string[]): FerryError {
  return new FerryError("not_found", `profile '${name}' does not exist${names.length ? `; profiles: ${names.join(", ")}` : "; create it with 'ferry profile set'"}`);
}


async function readSecret(ctx: CommandContext, what: string): Promise<string> {
  const value = (ctx.io.stdinIsTTY ? await ctx.io.promptSecret(`${what}:`) : await ctx.io.readStdin()).trim();
  if (!value) throw new FerryError("validation_failed", `no ${what.toLowerCase()} was given on stdin`);
  if (/\s/.test(value)) throw new FerryError("validation_failed", `the ${what.toLowerCase()} on stdin contains spaces or several lines; give only the key`);
  return value;
}
