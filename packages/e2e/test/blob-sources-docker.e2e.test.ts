import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { DEFAULT_ENGINE_IMAGE, FerryClient, parseSourceUrl, type BlobLocation, type DeploymentApply, type FlowRun } from "@ferry/core";
import { openBlobStore as openS3 } from "@ferry/provider-aws/source";
import { EMULATOR_ACCOUNT, openBlobStore as openAzureBlob } from "@ferry/provider-azure/source";
import { startGcsLocal, type GcsLocal } from "@ferry/gcp-local";
import { openBlobStore as openGcs } from "@ferry/provider-gcp/source";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { docker } from "../../../test-support/services.js";
import { startAzurite, type Azurite } from "./support/azurite.js";
import { FLOW_FILES, upload } from "./support/blob-fixtures.js";

// The same blob sources as blob-sources.test.ts, run by the DOCKER backend in the engine image
// (packages/engine/scripts/build-image.sh): the image must carry the providers' blob-source readers,
// which the engine imports by name. The containers use the host's network, so the emulators listening on
// 127.0.0.1 (and the server) are reachable from them as they are from this process.

describe("flows deployed from blob stores, run in Docker", await docker({ images: [DEFAULT_ENGINE_IMAGE] }), () => {
  let home: string;
  let aws: AwsLocal;
  let azurite: Azurite;
  let gcs: GcsLocal;
  let server: RunningServer;
  let client: FerryClient;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-blob-docker-"));
    [aws, azurite, gcs] = await Promise.all([startAwsLocal({ docker: null }), startAzurite(), startGcsLocal()]);
    const config = parseServerConfig(
      { FERRY_RUNNER: "docker", FERRY_RUNNER_NETWORK: "host" },
      { home, port: 0, store: "pglite", logLevel: "warn", providers: ["@ferry/provider-aws", "@ferry/provider-azure", "@ferry/provider-gcp"] },
    );
    server = await startServer(config);
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    await client.api.createCredentials({
      body: { name: "s3-reader", type: "aws", data: { aws_access_key_id: aws.credentials.accessKeyId, aws_secret_access_key: aws.credentials.secretAccessKey, region_name: "eu-west-1" } },
    });
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await client.api.createCredentials({
      body: {
        name: "gcs-reader",
        type: "gcp",
        data: { type: "service_account", project_id: "ferry-test", client_email: "reader@ferry-test.iam.gserviceaccount.com", private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() },
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([aws?.close(), azurite?.stop(), gcs?.close()]);
    // The runs' dependency-cache volume (one per workspace) outlives the server: it is this test's to remove.
    const workspaceId = server?.bootstrap?.workspaceId;
    const volumes = workspaceId ? execFileSync("docker", ["volume", "ls", "-q", "--filter", `name=ferry-cache-ws-${workspaceId}`], { encoding: "utf8" }).split("\n").filter(Boolean) : [];
    if (volumes.length) execFileSync("docker", ["volume", "rm", ...volumes]);
    rmSync(home, { recursive: true, force: true });
  });

  const deployAndRun = async (name: string, source: DeploymentApply["source"], env: Record<string, string> = {}): Promise<FlowRun> => {
    const { deployment } = await client.api.applyDeployment({ body: { flow_name: "blob-docker", name, work_pool: "managed", source, entrypoint: "flows/hello.py:hello", job_variables: { env } } });
    const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { name } } });
    return client.waitForRun(flow_run.id);
  };
  const logText = async (run: FlowRun) => (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");
  const explain = async (run: FlowRun) => `${run.state.type} ${run.state.message ?? ""}\n${await logText(run)}`;

  it("Azure Blob (Azurite): a flow from a container URL runs in the engine image to COMPLETED", async () => {
    const url = `${azurite.accountUrl}/docker-flows/code`;
    await new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(EMULATOR_ACCOUNT.name, EMULATOR_ACCOUNT.key)).getContainerClient("docker-flows").create();
    await upload(openAzureBlob(parseSourceUrl(url) as BlobLocation, { credentials: null, env: {} }), "code/", FLOW_FILES);
    const downloads = () => azurite.requests().filter((r) => r.method === "GET" && /\/docker-flows\/code\//.test(r.url) && !/comp=list/.test(r.url));

    const run = await deployAndRun("azure", { git_url: url });
    expect(run.state.type, await explain(run)).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "HELLO AZURE" });
    expect(await logText(run)).toMatch(/Started on docker/);
    // The engine in the container fetched the three objects itself.
    expect(downloads()).toHaveLength(3);
  });

  it("S3 (aws-local): a flow from s3://bucket/prefix runs in the engine image to COMPLETED with the deployment's credentials", async () => {
    const env = { AWS_ENDPOINT_URL: aws.endpoint };
    await new S3Client({ endpoint: aws.endpoint, region: "eu-west-1", credentials: aws.credentials, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: "docker-flows" }));
    await upload(openS3(parseSourceUrl("s3://docker-flows/app") as BlobLocation, { credentials: { aws_access_key_id: aws.credentials.accessKeyId, aws_secret_access_key: "x" }, env }), "app/", FLOW_FILES);

    aws.clearCalls();
    const run = await deployAndRun("s3", { git_url: "s3://docker-flows/app", credentials: "s3-reader" }, env);
    expect(run.state.type, await explain(run)).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "HELLO S3" });
    const gets = aws.calls().filter((c) => c.service === "s3" && c.operation === "GetObject").map((c) => c.resource).sort();
    expect(gets).toEqual(["/docker-flows/app/README.md", "/docker-flows/app/flows/hello.py", "/docker-flows/app/flows/helpers.py"]);
    expect(aws.calls().every((c) => c.accessKeyId === aws.credentials.accessKeyId)).toBe(true);
  });

  it("Cloud Storage (gcp-local): a flow from gs://bucket/prefix runs in the engine image to COMPLETED", async () => {
    const env = { STORAGE_EMULATOR_HOST: gcs.endpoint };
    await fetch(`${gcs.endpoint}/storage/v1/b?project=ferry-test`, { method: "POST", body: JSON.stringify({ name: "docker-flows" }), headers: { "content-type": "application/json" } });
    await upload(openGcs(parseSourceUrl("gs://docker-flows/src/") as BlobLocation, { credentials: null, env }), "src/", FLOW_FILES);

    gcs.clearRequests();
    const run = await deployAndRun("gcs", { git_url: "gs://docker-flows/src/", credentials: "gcs-reader" }, env);
    expect(run.state.type, await explain(run)).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "HELLO GCS" });
    expect(gcs.requests().filter((r) => r.operation === "objects.media").map((r) => r.object).sort()).toEqual(["src/README.md", "src/flows/hello.py", "src/flows/helpers.py"]);
  });
});
