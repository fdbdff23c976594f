import { grpc, type ClientOptions } from "google-gax";
import { GoogleAuth, JWT } from "google-auth-library";
import type { ServiceAccountKey } from "./credentials.js";
import type { GcpPluginOptions } from "./options.js";

/** A pool's key (a JWT client) or application default credentials (GoogleAuth): what signs each call. */
export type RequestAuth = JWT | GoogleAuth;

/**
 * The pool's key as an auth client. No scopes are asked for, so google-auth-library signs a JWT for
 * each API with the key itself (Google's "self-signed JWT" for service accounts) rather than trading it
 * at a token endpoint: nothing else is reached, and no metadata server is probed.
 */
export function keyAuthClient(key: ServiceAccountKey): JWT {
  return new JWT({
    email: key.client_email,
    key: key.private_key,
    ...(key.private_key_id ? { keyId: key.private_key_id } : {}),
    ...(key.project_id ? { projectId: key.project_id } : {}),
  });
}

/**
 * The settings every official client is built with. With `caPem` (a local stand-in's own CA), the
 * channel is TLS to that CA with the auth's headers on each call: gax sends no auth headers of its own
 * once `sslCreds` is given.
 */
export function clientSettings(options: GcpPluginOptions, auth: RequestAuth): ClientOptions {
  const endpoint = options.apiEndpoint ? { apiEndpoint: options.apiEndpoint, ...(options.port ? { port: options.port } : {}) } : {};
  const who = auth instanceof GoogleAuth ? { auth } : { authClient: auth };
  if (!options.caPem) return { ...endpoint, ...who };
  const callCredentials = grpc.credentials.createFromMetadataGenerator((params, callback) => {
    auth.getRequestHeaders(params.service_url).then(
      (headers) => {
        const metadata = new grpc.Metadata();
        headers.forEach((value, name) => metadata.add(name, value));
        callback(null, metadata);
      },
      (error: Error) => callback(error),
    );
  });
  const sslCreds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(Buffer.from(options.caPem)), callCredentials);
  return { ...endpoint, ...who, sslCreds };
}
