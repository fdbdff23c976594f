import type { Command } from "commander";
import { FerryError, type FerryClient, type JsonSchema } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { relativeTime } from "../format.js";
import { collect, parseKeyValue } from "../key-value.js";
import { confirmedDelete, handler, YES_HELP, isObject, JSON_HELP, LIMIT_HELP, parseInteger, readDocument, type CommandEnv } from "./shared.js";

interface CreateOptions {
  type: string;
  field?: string[];
  fromFile?: string;
  overwrite?: boolean;
  json?: boolean;
}

export function registerCredentials(program: Command, env: CommandEnv): void {
  const credentials = program
    .command("credentials")
    .description("credentials for clouds and git hosts; secret fields are encrypted and never shown again");

  credentials
    .command("types")
    .description("the credential types this server knows (git, and those its providers bring), with their fields")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { json?: boolean }) => {
        const { items } = await (await ctx.client()).api.listCredentialTypes();
        if (options.json) return ctx.out.json(items);
        ctx.out.table(items, [
          { header: "TYPE", value: (t) => t.type },
          { header: "FIELDS (* secret, ! required)", value: (t) => fieldList(t) },
          { header: "DESCRIPTION", value: (t) => t.description },
        ]);
      }),
    );

  credentials
    .command("create")
    .description("store credentials; secret fields come from a file, stdin or a hidden prompt, never from a flag")
    .argument("<name>")
    .requiredOption("--type <type>", "a credentials type of the server: git, or one its providers bring ('ferry credentials types' lists them with their fields)")
    .option("--field <key=value>", "a field that is not secret, e.g. --field username=deploy-bot (repeatable)", collect)
    .option("--from-file <file>", "fields from a JSON or YAML file, or '-' for stdin")
    .option("--overwrite", "replace credentials of the same name")
    .option("--json", JSON_HELP)
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  ferry credentials create flows-repo --type git --field username=deploy-bot --field host=github.com\n" +
        "      (prompts for token)\n" +
        "  printf 'token: %s\\n' \"$TOKEN\" | ferry credentials create flows-repo --type git --field username=deploy-bot --from-file -\n" +
        "  ferry credentials types    (the types of this server, with their fields)",
    )
    .action(handler(env, createCredentials));

  credentials
    .command("ls")
    .description("list credentials")
    .option("--limit <n>", LIMIT_HELP, parseInteger(1))
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, options: { limit?: number; json?: boolean }) => {
        const items = await (await ctx.client()).listAll.listCredentials(undefined, { max: options.limit });
        if (options.json) return ctx.out.json(items);
        if (!items.length) return ctx.out.line("No credentials yet. Store some with 'ferry credentials create NAME --type TYPE' ('ferry credentials types' lists the types).");
        const now = new Date();
        ctx.out.table(items, [
          { header: "NAME", value: (c) => c.name },
          { header: "TYPE", value: (c) => c.type },
          { header: "FIELDS", value: (c) => Object.keys(c.data).join(", ") },
          { header: "UPDATED", value: (c) => relativeTime(c.updated_at, now) },
        ]);
      }),
    );

  credentials
    .command("inspect")
    .description("show credentials with their secret fields masked")
    .argument("<name>")
    .option("--json", JSON_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { json?: boolean }) => {
        const found = await (await ctx.client()).api.getCredentials({ params: { name } });
        return options.json ? ctx.out.json(found) : ctx.out.details(found);
      }),
    );

  credentials
    .command("delete")
    .description("delete credentials that no pool or deployment uses")
    .argument("<name>")
    .option("-y, --yes", YES_HELP)
    .action(
      handler(env, async (ctx, name: string, options: { yes?: boolean }) =>
        confirmedDelete(ctx, options, `Delete credentials '${name}'?`, async () => {
          await (await ctx.client()).api.deleteCredentials({ params: { name } });
          ctx.out.success(`Deleted credentials '${name}'`);
        }),
      ),
    );
}

async function createCredentials(ctx: CommandContext, name: string, options: CreateOptions): Promise<void> {
  const client = await ctx.client();
  const type = await credentialTypeOf(client, options.type);
  const data = await collectFields(ctx, type, options);
  const created = await client.api.createCredentials({
    body: { name, type: type.type, data, ...(options.overwrite ? { overwrite: true } : {}) },
  });
  if (options.json) return ctx.out.json(created);
  ctx.out.success(`Saved credentials '${created.name}' (${created.type}); secret fields: ${created.secret_fields.join(", ") || "none"}`);
}

/** A credentials type as the server describes it (`GET /api/credential-types`): its schema and which fields are secret. */
export interface CredentialTypeInfo {
  type: string;
  description: string;
  schema: JsonSchema & { properties?: Record<string, JsonSchema>; required?: string[] };
  secret_fields: string[];
}

async function credentialTypeOf(client: FerryClient, name: string): Promise<CredentialTypeInfo> {
  const { items } = await client.api.listCredentialTypes();
  const found = items.find((t) => t.type === name);
  if (!found) {
    throw new FerryError(
      "validation_failed",
      `'${name}' is not a credentials type of this server; its types: ${items.map((t) => t.type).join(", ")} (a provider plugin listed in the server's FERRY_PROVIDERS brings the others)`,
    );
  }
  return found as CredentialTypeInfo;
}

function fieldList(type: CredentialTypeInfo): string {
  const required = new Set(type.schema.required ?? []);
  const secrets = new Set(type.secret_fields);
  return Object.keys(type.schema.properties ?? {})
    .map((k) => `${k}${secrets.has(k) ? "*" : ""}${required.has(k) ? "!" : ""}`)
    .join(", ");
}

/**
 * Gathers the document: the file first, then `--field` flags, then a hidden prompt for each required
 * secret still missing. A secret given as a flag is refused before anything is sent: it would stay in
 * the shell's history and show in the process list.
 */
export async function collectFields(ctx: CommandContext, type: CredentialTypeInfo, options: Omit<CreateOptions, "type">): Promise<Record<string, unknown>> {
  const properties = type.schema.properties ?? {};
  const known = Object.keys(properties);
  const secrets = new Set(type.secret_fields);
  const unknownField = (key: string, where: string) =>
    new FerryError("validation_failed", `${where}: '${key}' is not a field of ${type.type} credentials; fields: ${known.join(", ")}`);

  const data: Record<string, unknown> = {};
  if (options.fromFile) {
    const doc = await readDocument(ctx.io, options.fromFile, "credentials");
    if (!isObject(doc)) {
      throw new FerryError("validation_failed", `the credentials in ${options.fromFile === "-" ? "stdin" : options.fromFile} must be a mapping of field: value, e.g. ${secretsExample(type)}`);
    }
    for (const [key, value] of Object.entries(doc)) {
      const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (!property) throw unknownField(key, options.fromFile === "-" ? "stdin" : options.fromFile);
      // A key file pasted as a mapping is still the JSON text the field holds.
      data[key] = isObject(value) && property.type === "string" ? JSON.stringify(value) : value;
    }
  }
  for (const text of options.field ?? []) {
    const [key] = parseKeyValue(text, "--field");
    if (!Object.hasOwn(properties, key)) throw unknownField(key, "--field");
    if (secrets.has(key)) {
      throw new FerryError(
        "validation_failed",
        `--field ${key}: this field is secret and is never taken from a flag (it would stay in your shell history); ` +
          `give it with --from-file FILE or '--from-file -' (stdin), or leave it out to be prompted on a terminal`,
      );
    }
    data[key] = text.slice(text.indexOf("=") + 1);
  }

  const required = new Set(type.schema.required ?? []);
  const missingSecrets = [...secrets].filter((k) => required.has(k) && (data[k] === undefined || data[k] === ""));
  if (missingSecrets.length) {
    if (!ctx.io.stdinIsTTY || options.fromFile === "-") {
      throw new FerryError(
        "validation_failed",
        `${missingSecrets.join(", ")} ${missingSecrets.length === 1 ? "is" : "are"} required; give ${missingSecrets.length === 1 ? "it" : "them"} with --from-file FILE or on stdin with '--from-file -', e.g. ${secretsExample(type)}`,
      );
    }
    for (const key of missingSecrets) {
      const value = await ctx.io.promptSecret(`${key} (${String(properties[key]?.description ?? "secret")}):`);
      if (!value) throw new FerryError("validation_failed", `${key} is required`);
      data[key] = value;
    }
  }
  return data;
}

function secretsExample(type: CredentialTypeInfo): string {
  const first = type.secret_fields[0];
  return first ? `'${first}: …'` : "'field: value'";
}
