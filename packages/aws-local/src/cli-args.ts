import { parseArgs } from "node:util";
import type { AwsLocalOptions } from "./aws-local-options.js";

const USAGE = `usage: aws-local [--host 127.0.0.1] [--port 4566] [--state-file FILE] [--task-network host|bridge]
                 [--no-default-vpc] [--registry-url URL] [--account-id 123456789012] [--root-access-key-id KEY]`;

/** Parses the CLI's command line into options. */
export function parseCliArgs(argv: string[]): AwsLocalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "state-file": { type: "string" },
      "task-network": { type: "string" },
      "no-default-vpc": { type: "boolean" },
      "registry-url": { type: "string" },
      "account-id": { type: "string" },
      "root-access-key-id": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) throw new Error(USAGE);
  return {
    host: values.host,
    port: values.port === undefined ? 4566 : Number(values.port),
    stateFile: values["state-file"],
    taskNetwork: values["task-network"] as AwsLocalOptions["taskNetwork"],
    defaultVpc: values["no-default-vpc"] === true ? false : undefined,
    registryUrl: values["registry-url"],
    accountId: values["account-id"],
    rootAccessKeyId: values["root-access-key-id"],
  };
}
