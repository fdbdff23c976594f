#!/usr/bin/env node
import { startModalLocal } from "./modal-local-server.js";
import { parseCliArgs } from "./cli-args.js";

async function main(): Promise<void> {
  const options = parseCliArgs(process.argv.slice(2), process.env);
  const local = await startModalLocal(options);
  // The token secret is printed only when this process made it: the caller has no other way to learn it.
  console.log(
    JSON.stringify({
      url: local.url,
      tokenId: local.token.tokenId,
      ...(options.token === undefined ? { tokenSecret: local.token.tokenSecret } : {}),
      inMemory: local.inMemory,
      runtimeUnavailable: local.runtimeUnavailable,
    }),
  );
  const stop = (): void => void local.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(2);
});
