import { parseArgs } from "node:util";
import { NEW_PROJECT_SERVICES, type GcpLocalOptions } from "./gcp-local-options.js";

const USAGE = `usage: gcp-local [--host 127.0.0.1] [--grpc-port 8443] [--http-port 8080] [--project-id ferry-local]
                 [--project-number 123456789012] [--network host|bridge] [--empty-project]`;

/** Parses the CLI's command line into options. */
export function parseCliArgs(argv: string[]): GcpLocalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      "grpc-port": { type: "string" },
      "http-port": { type: "string" },
      "project-id": { type: "string" },
      "project-number": { type: "string" },
      network: { type: "string" },
      "empty-project": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) throw new Error(USAGE);
  if (values.network !== undefined && values.network !== "host" && values.network !== "bridge") throw new Error(`--network ${values.network}: use host or bridge.\n${USAGE}`);
  return {
    host: values.host,
    grpcPort: values["grpc-port"] === undefined ? 8443 : Number(values["grpc-port"]),
    httpPort: values["http-port"] === undefined ? 8080 : Number(values["http-port"]),
    projectId: values["project-id"],
    projectNumber: values["project-number"],
    network: values.network as GcpLocalOptions["network"],
    enabledServices: values["empty-project"] === true ? NEW_PROJECT_SERVICES : undefined,
  };
}
