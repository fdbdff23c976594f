#!/usr/bin/env node
import { startGcpLocal } from "./gcp-local-server.js";
import { parseCliArgs } from "./cli-args.js";

async function main(): Promise<void> {
  const local = await startGcpLocal(parseCliArgs(process.argv.slice(2)));
  // The owner key is printed for the operator of a test machine: it is a throwaway key of a local server.
  console.log(
    JSON.stringify({ apiEndpoint: local.apiEndpoint, grpcPort: local.grpcPort, httpUrl: local.httpUrl, tokenUri: local.tokenUri, projectId: local.projectId, caPem: local.caPem, ownerKey: local.ownerKey, runtimeUnavailable: local.runtimeUnavailable }),
  );
  const stop = (): void => void local.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(2);
});
