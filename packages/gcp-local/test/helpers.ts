import { grpc } from "google-gax";
import { JWT } from "google-auth-library";
import type { GcpLocal, ServiceAccountKeyFile } from "../src/index.js";

type Grpc = typeof grpc;

/**
 * The channel credentials a client is built with against gcp-local: TLS trusting gcp-local's CA, plus the
 * key's self-signed JWT on every call, which is what the official clients send for a service-account key
 * (`useJWTAccessWithScope`). `grpcModule`: the @grpc/grpc-js the client's google-gax uses, when it has its own.
 */
export function authClient(key: ServiceAccountKeyFile): JWT {
  const jwt = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
  jwt.useJWTAccessWithScope = true;
  return jwt;
}

export function channelCredentials(local: GcpLocal, key: ServiceAccountKeyFile, grpcModule: Grpc = grpc): grpc.ChannelCredentials {
  const jwt = authClient(key);
  return grpcModule.credentials.combineChannelCredentials(
    grpcModule.credentials.createSsl(Buffer.from(local.caPem)),
    grpcModule.credentials.createFromGoogleCredential({
      getRequestHeaders: async (url?: string) => Object.fromEntries((await jwt.getRequestHeaders(url)).entries()),
    }),
  );
}

/**
 * The options every official client takes to talk to gcp-local; the explicit `authClient` keeps the
 * client from probing a metadata server for credentials or a project.
 */
export function clientOptions(local: GcpLocal, key: ServiceAccountKeyFile = local.ownerKey, grpcModule: Grpc = grpc): { apiEndpoint: string; port: number; sslCreds: grpc.ChannelCredentials; authClient: JWT; projectId: string } {
  return { apiEndpoint: local.apiEndpoint, port: local.grpcPort, sslCreds: channelCredentials(local, key, grpcModule), authClient: authClient(key), projectId: local.projectId };
}

export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
