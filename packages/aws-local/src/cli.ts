#!/usr/bin/env node
import { startAwsLocal } from "./aws-local-server.js";
import { parseCliArgs } from "./cli-args.js";

async function main(): Promise<void> {
  const local = await startAwsLocal(parseCliArgs(process.argv.slice(2)));
  console.log(JSON.stringify({ endpoint: local.endpoint, accessKeyId: local.credentials.accessKeyId, accountId: local.accountId, runtimeUnavailable: local.runtimeUnavailable }));
  const stop = (): void => void local.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(2);
});
