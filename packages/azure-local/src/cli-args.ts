import { parseArgs } from "node:util";
import type { AzureLocalOptions } from "./azure-local-server.js";

export const USAGE = `usage: azure-local [--host 127.0.0.1] [--port 8443] [--network host|bridge] [--no-docker]
                   [--subscription-id ID] [--tenant-id ID] [--info-file FILE]`;

export interface CliArgs {
  options: AzureLocalOptions;
  /** Where the URL, the CA and the owner's credential are written (mode 0600): the secret is never printed. */
  infoFile?: string;
}

/** Parses the CLI's command line into options. */
export function parseCliArgs(argv: string[]): CliArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      network: { type: "string" },
      "no-docker": { type: "boolean" },
      "subscription-id": { type: "string" },
      "tenant-id": { type: "string" },
      "info-file": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) throw new Error(USAGE);
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0–65535), not '${values.port}'\n${USAGE}`);
  if (values.network !== undefined && values.network !== "host" && values.network !== "bridge") throw new Error(`--network must be host or bridge, not '${values.network}'\n${USAGE}`);
  const options: AzureLocalOptions = {
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.network === undefined ? {} : { network: values.network }),
    ...(values["no-docker"] === true ? { docker: null } : {}),
    ...(values["subscription-id"] === undefined ? {} : { subscriptionId: values["subscription-id"] }),
    ...(values["tenant-id"] === undefined ? {} : { tenantId: values["tenant-id"] }),
  };
  return { options, ...(values["info-file"] === undefined ? {} : { infoFile: values["info-file"] }) };
}
