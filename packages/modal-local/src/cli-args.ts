import { parseArgs } from "node:util";
import type { ModalLocalOptions } from "./modal-local-options.js";

const USAGE = `usage: modal-local [--host 127.0.0.1] [--port 8989] [--network host|bridge] [--no-docker] [--image-layers build|record]
                   [--environment main]... [--terminate-grace-seconds 10]
  The token it accepts: MODAL_LOCAL_TOKEN_ID and MODAL_LOCAL_TOKEN_SECRET when set (never on the command
  line), else one made at start and printed.`;

/** Parses the CLI's command line (and the token from the environment) into options. */
export function parseCliArgs(argv: string[], env: Record<string, string | undefined>): ModalLocalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      network: { type: "string" },
      "image-layers": { type: "string" },
      "no-docker": { type: "boolean" },
      environment: { type: "string", multiple: true },
      "terminate-grace-seconds": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) throw new Error(USAGE);
  const tokenId = env.MODAL_LOCAL_TOKEN_ID;
  const tokenSecret = env.MODAL_LOCAL_TOKEN_SECRET;
  if ((tokenId === undefined) !== (tokenSecret === undefined)) throw new Error("set both MODAL_LOCAL_TOKEN_ID and MODAL_LOCAL_TOKEN_SECRET, or neither (a token is then made at start)");
  return {
    ...(values.host === undefined ? {} : { host: values.host }),
    port: values.port === undefined ? 8989 : Number(values.port),
    ...(values.network === undefined ? {} : { network: values.network as ModalLocalOptions["network"] }),
    ...(values["image-layers"] === undefined ? {} : { imageLayers: values["image-layers"] as ModalLocalOptions["imageLayers"] }),
    ...(values["no-docker"] === true ? { docker: null } : {}),
    ...(values.environment === undefined ? {} : { environments: values.environment }),
    ...(values["terminate-grace-seconds"] === undefined ? {} : { terminateGraceSeconds: Number(values["terminate-grace-seconds"]) }),
    ...(tokenId !== undefined && tokenSecret !== undefined ? { token: { tokenId, tokenSecret } } : {}),
  };
}
