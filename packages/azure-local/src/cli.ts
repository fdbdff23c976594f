#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { startAzureLocal } from "./azure-local-server.js";
import { parseCliArgs } from "./cli-args.js";

async function main(): Promise<void> {
  const { options, infoFile } = parseCliArgs(process.argv.slice(2));
  const local = await startAzureLocal(options);
  const info = { url: local.url, tenantId: local.tenantId, subscriptionId: local.subscriptionId, clientId: local.ownerCredential.clientId, runtimeUnavailable: local.runtimeUnavailable };
  if (infoFile !== undefined) writeFileSync(infoFile, JSON.stringify({ ...info, clientSecret: local.ownerCredential.clientSecret, caPem: local.caPem }, null, 2), { mode: 0o600 });
  console.log(JSON.stringify(info));
  const stop = (): void => void local.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(2);
});
