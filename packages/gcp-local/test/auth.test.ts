import { createSign, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpc } from "google-gax";
import { v2 } from "@google-cloud/run";
import { startGcpLocal, type GcpLocal, type ServiceAccountKeyFile } from "../src/index.js";
import { authClient, clientOptions } from "./helpers.js";

function assertion(key: Pick<ServiceAccountKeyFile, "private_key" | "private_key_id" | "client_email">, audience: string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "RS256", typ: "JWT", kid: key.private_key_id })}.${part({ iss: key.client_email, scope: "https://www.googleapis.com/auth/cloud-platform", aud: audience, iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(key.private_key).toString("base64url")}`;
}

describe("authentication: every call names a key gcp-local made", () => {
  let local: GcpLocal;
  beforeAll(async () => {
    local = await startGcpLocal({ docker: null });
  });
  afterAll(async () => {
    await local?.close();
  });

  it("refuses a key it did not make with UNAUTHENTICATED, and records the refusal", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const stranger: ServiceAccountKeyFile = { ...local.ownerKey, private_key_id: "0123456789abcdef", private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
    const jobs = new v2.JobsClient(clientOptions(local, stranger));
    await expect(jobs.getJob({ name: `projects/${local.projectId}/locations/us-central1/jobs/x` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: "Invalid JWT Signature." });
    await jobs.close();
    expect(local.calls().at(-1)).toMatchObject({ service: "Jobs", method: "GetJob", principal: null, status: "UNAUTHENTICATED" });
  });

  it("answers a call on another project with PERMISSION_DENIED", async () => {
    const jobs = new v2.JobsClient(clientOptions(local));
    await expect(jobs.getJob({ name: "projects/someone-else/locations/us-central1/jobs/x" })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await jobs.close();
  });

  it("grants an access token for a JWT-bearer assertion at the token endpoint, which then authorizes gRPC calls", async () => {
    const key = local.serviceAccountKey();
    const response = await fetch(local.tokenUri, { method: "POST", body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: assertion(key, local.tokenUri) }) });
    expect(response.status).toBe(200);
    const token = (await response.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const credentials = grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(Buffer.from(local.caPem)),
      grpc.credentials.createFromMetadataGenerator((_options, callback) => {
        const metadata = new grpc.Metadata();
        metadata.add("authorization", `Bearer ${token.access_token}`);
        callback(null, metadata);
      }),
    );
    const jobs = new v2.JobsClient({ apiEndpoint: local.apiEndpoint, port: local.grpcPort, sslCreds: credentials, authClient: authClient(key), projectId: local.projectId });
    await expect(jobs.getJob({ name: `projects/${local.projectId}/locations/us-central1/jobs/x` })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await jobs.close();
    expect(local.calls().at(-1)).toMatchObject({ method: "GetJob", principal: key.client_email, status: "NOT_FOUND" });
  });

  it("refuses an assertion signed by an unknown key with invalid_grant", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const response = await fetch(local.tokenUri, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: assertion({ private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), private_key_id: "nope", client_email: "x@y" }, local.tokenUri) }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid_grant", error_description: "Invalid JWT Signature." });
  });

  it("answers a call without credentials with UNAUTHENTICATED", async () => {
    const jobs = new v2.JobsClient({ apiEndpoint: local.apiEndpoint, port: local.grpcPort, sslCreds: grpc.credentials.createSsl(Buffer.from(local.caPem)), authClient: authClient(local.ownerKey), projectId: local.projectId });
    await expect(jobs.getJob({ name: `projects/${local.projectId}/locations/us-central1/jobs/x` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await jobs.close();
  });
});
