import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { FerryClient, parseSourceUrl, type BlobLocation, type DeploymentApply, type FlowRun } from "@ferry/core";
import { startGcsLocal, type GcsLocal } from "@ferry/gcp-local";
import { openBlobStore as openS3 } from "@ferry/provider-aws/source";
import { EMULATOR_ACCOUNT, openBlobStore as openAzureBlob } from "@ferry/provider-azure/source";
import { openBlobStore as openGcs } from "@ferry/provider-gcp/source";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { ferry } from "../../../apps/cli/test/cli-harness.js";
import { startAzurite, type Azurite } from "./support/azurite.js";
import { FLOW_FILES as FILES, upload } from "./support/blob-fixtures.js";

// A flow whose code is in each blob store (S3 through aws-local, Cloud Storage through gcp-local's
// JSON API, Azure Blob through Azurite), deployed on a server with the three provider plugins and run
// by the process backend's engine to COMPLETED. The second run of a deployment downloads nothing: the
// store's own request log shows only the listing.

/** A minimal ustar archive (one regular file per entry), gzip'd: what `tar czf` makes. */
function tarGz(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`, 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe("flows deployed from blob stores", () => {
  let home: string;
  let aws: AwsLocal;
  let gcs: GcsLocal;
  let azurite: Azurite;
  let server: RunningServer;
  let client: FerryClient;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-blob-sources-"));
    [aws, gcs, azurite] = await Promise.all([startAwsLocal({ docker: null }), startGcsLocal(), startAzurite()]);
    const config = parseServerConfig(
      {},
      {
        home,
        port: 0,
        store: "pglite",
        logLevel: "warn",
        runner: "process",
        providers: ["@ferry/provider-aws", "@ferry/provider-gcp", "@ferry/provider-azure"],
      },
    );
    server = await startServer(config);
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    await client.api.createCredentials({
      body: { name: "s3-reader", type: "aws", data: { aws_access_key_id: aws.credentials.accessKeyId, aws_secret_access_key: aws.credentials.secretAccessKey, region_name: "eu-west-1" } },
    });
    await client.api.createCredentials({ body: { name: "s3-stranger", type: "aws", data: { aws_access_key_id: "AKIANOBODYKNOWS00000", aws_secret_access_key: "nope-nope-nope" } } });
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
    await Promise.all([aws?.close(), gcs?.close(), azurite?.stop()]);
    rmSync(home, { recursive: true, force: true });
  });

  const deployAndRun = async (name: string, source: DeploymentApply["source"], env: Record<string, string> = {}, entrypoint = "flows/hello.py:hello"): Promise<FlowRun> => {
    const { deployment } = await client.api.applyDeployment({ body: { flow_name: "blob", name, work_pool: "managed", source, entrypoint, job_variables: { env } } });
    const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { name: name } } });
    return client.waitForRun(flow_run.id);
  };
  const explain = async (run: FlowRun) => {
    const logs = await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 1000 } });
    return `${run.state.type} ${run.state.message ?? ""}\n${logs.items.map((l) => l.message).join("\n")}`;
  };
  const logText = async (run: FlowRun) => (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");

  it("S3 (aws-local): runs a flow from s3://bucket/prefix to COMPLETED, and the second run downloads nothing", async () => {
    const env = { AWS_ENDPOINT_URL: aws.endpoint };
    const location = parseSourceUrl("s3://flows-bucket/app") as BlobLocation;
    const store = openS3(location, { credentials: { aws_access_key_id: aws.credentials.accessKeyId, aws_secret_access_key: "x" }, env });
    await new S3Client({ endpoint: aws.endpoint, region: "eu-west-1", credentials: aws.credentials, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: "flows-bucket" }));
    await upload(store, "app/", FILES);
    await upload(store, "", { "apple/flows/hello.py": "raise SystemExit('the sibling prefix was downloaded')\n" });

    aws.clearCalls();
    const first = await deployAndRun("s3", { git_url: "s3://flows-bucket/app", credentials: "s3-reader" }, env);
    expect(first.state.type, await explain(first)).toBe("COMPLETED");
    expect(first.result).toEqual({ greeting: "HELLO S3" });
    const gets = () => aws.calls().filter((c) => c.service === "s3" && c.operation === "GetObject").map((c) => c.resource);
    expect(gets().sort()).toEqual(["/flows-bucket/app/README.md", "/flows-bucket/app/flows/hello.py", "/flows-bucket/app/flows/helpers.py"]);
    expect(aws.calls().every((c) => c.accessKeyId === aws.credentials.accessKeyId)).toBe(true);

    aws.clearCalls();
    const second = await deployAndRun("s3", { git_url: "s3://flows-bucket/app", credentials: "s3-reader" }, env);
    expect(second.state.type, await explain(second)).toBe("COMPLETED");
    expect(gets()).toEqual([]);
    expect(aws.calls().filter((c) => c.service === "s3").map((c) => c.operation)).toEqual(["ListObjectsV2"]);
    expect(await logText(second)).toMatch(/3 objects .* 0 fetched, 3 unchanged from the cache/);

    // A changed object is fetched again, and only it.
    await upload(store, "app/", { "flows/helpers.py": `def shout(name):\n    return f"HEY {name}"\n` });
    aws.clearCalls();
    const third = await deployAndRun("s3", { git_url: "s3://flows-bucket/app", credentials: "s3-reader" }, env);
    expect(third.result).toEqual({ greeting: "HEY s3" });
    expect(gets()).toEqual(["/flows-bucket/app/flows/helpers.py"]);
  });

  it("S3: one .tar.gz object is unpacked; a key leaving the folder, a missing bucket, an empty prefix and a refused key CRASH the run in plain words", async () => {
    const env = { AWS_ENDPOINT_URL: aws.endpoint };
    const store = openS3(parseSourceUrl("s3://flows-bucket/x") as BlobLocation, { credentials: { aws_access_key_id: aws.credentials.accessKeyId, aws_secret_access_key: "x" }, env });
    await upload(store, "", { "bundles/app.tar.gz": tarGz(FILES) });
    const tarball = await deployAndRun("s3-tarball", { git_url: "s3://flows-bucket/bundles/app.tar.gz", credentials: "s3-reader" }, env);
    expect(tarball.state.type, await explain(tarball)).toBe("COMPLETED");
    expect(tarball.result).toEqual({ greeting: "HELLO S3-TARBALL" });

    // A tarball entry that climbs out of the folder: the whole tarball is refused.
    await upload(store, "", { "bundles/evil.tar.gz": tarGz({ ...FILES, "../outside.py": "print('escaped')\n" }) });
    const evil = await deployAndRun("s3-evil", { git_url: "s3://flows-bucket/bundles/evil.tar.gz", credentials: "s3-reader" }, env);
    expect(evil.state.type).toBe("CRASHED");
    expect(evil.state.message).toMatch(/bundles\/evil\.tar\.gz could not be unpacked: .*\.\./);

    const missing = await deployAndRun("s3-missing", { git_url: "s3://no-such-bucket/app", credentials: "s3-reader" }, env);
    expect(missing.state.message).toMatch(/bucket 'no-such-bucket' was not found/);
    const empty = await deployAndRun("s3-empty", { git_url: "s3://flows-bucket/nothing-here", credentials: "s3-reader" }, env);
    expect(empty.state.message).toMatch(/has no objects: the prefix is empty/);
    const denied = await deployAndRun("s3-denied", { git_url: "s3://flows-bucket/app", credentials: "s3-stranger" }, env);
    expect(denied.state.type).toBe("CRASHED");
    expect(denied.state.message).toMatch(/access to bucket 'flows-bucket' was denied/);
    expect(await logText(denied)).not.toContain("nope-nope-nope");
  });

  it("Cloud Storage (gcp-local's JSON API): runs a flow from gs://bucket/prefix, checking MD5 and CRC-32C, and the second run downloads nothing", async () => {
    const env = { STORAGE_EMULATOR_HOST: gcs.endpoint };
    await fetch(`${gcs.endpoint}/storage/v1/b?project=ferry-test`, { method: "POST", body: JSON.stringify({ name: "gcs-flows" }), headers: { "content-type": "application/json" } });
    const store = openGcs(parseSourceUrl("gs://gcs-flows/src/") as BlobLocation, { credentials: null, env });
    await upload(store, "src/", FILES);

    gcs.clearRequests();
    const first = await deployAndRun("gcs", { git_url: "gs://gcs-flows/src/", credentials: "gcs-reader" }, env);
    expect(first.state.type, await explain(first)).toBe("COMPLETED");
    expect(first.result).toEqual({ greeting: "HELLO GCS" });
    const media = () => gcs.requests().filter((r) => r.operation === "objects.media").map((r) => r.object);
    expect(media().sort()).toEqual(["src/README.md", "src/flows/hello.py", "src/flows/helpers.py"]);

    gcs.clearRequests();
    const second = await deployAndRun("gcs", { git_url: "gs://gcs-flows/src/", credentials: "gcs-reader" }, env);
    expect(second.state.type, await explain(second)).toBe("COMPLETED");
    expect(media()).toEqual([]);
    expect(gcs.requests().map((r) => r.operation)).toEqual(["objects.list"]);
  });

  it("Azure Blob (Azurite): runs a flow from the emulator's container URL, checking Content-MD5, and the second run downloads nothing", async () => {
    const url = `${azurite.accountUrl}/flows/code`;
    const store = openAzureBlob(parseSourceUrl(url) as BlobLocation, { credentials: null, env: {} });
    await new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(EMULATOR_ACCOUNT.name, EMULATOR_ACCOUNT.key)).getContainerClient("flows").create();
    await upload(store, "code/", FILES);

    const downloads = () => azurite.requests().filter((r) => r.method === "GET" && /\/flows\/code\//.test(r.url) && !/comp=list/.test(r.url));
    const before = downloads().length;
    const first = await deployAndRun("azure", { git_url: url }, {});
    expect(first.state.type, await explain(first)).toBe("COMPLETED");
    expect(first.result).toEqual({ greeting: "HELLO AZURE" });
    const afterFirst = downloads().length;
    expect(afterFirst - before).toBe(3);

    const second = await deployAndRun("azure", { git_url: url }, {});
    expect(second.state.type, await explain(second)).toBe("COMPLETED");
    expect(downloads().length).toBe(afterFirst);
    expect(azurite.requests().some((r) => r.method === "GET" && /\/flows\?comp=list&prefix=code%2F/.test(r.url))).toBe(true);
  });

  it("ferry deploy --upload puts a project that is not in git at an S3 prefix (less .ferryignore), and its runs read it from there", async () => {
    const project = mkdtempSync(join(tmpdir(), "ferry-upload-project-"));
    try {
      for (const [path, text] of Object.entries({ ...FILES, ".ferryignore": "notes/\n", "notes/private.txt": "not for the bucket\n", "node_modules/dep/index.js": "x\n" })) {
        mkdirSync(dirname(join(project, path)), { recursive: true });
        writeFileSync(join(project, path), text);
      }
      const env = {
        FERRY_API_URL: server.url, FERRY_API_KEY: server.bootstrap!.apiKey,
        AWS_ENDPOINT_URL: aws.endpoint, AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey, AWS_REGION: "eu-west-1",
      };
      await new S3Client({ endpoint: aws.endpoint, region: "eu-west-1", credentials: aws.credentials, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: "upload-bucket" }));
      const args = ["deploy", "--entrypoint", "flows/hello.py:hello", "--name", "uploaded", "--pool", "managed", "--upload", "s3://upload-bucket/uploaded", "--git-credentials", "s3-reader",
        "--job-variable", `env=${JSON.stringify({ AWS_ENDPOINT_URL: aws.endpoint })}`];
      aws.clearCalls();
      const first = await ferry(args, { home: join(home, "cli"), cwd: project, env });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.stderr + first.stdout).toMatch(/4\/4 files: 4 uploaded/);
      const puts = aws.calls().filter((c) => c.operation === "PutObject").map((c) => c.resource).sort();
      expect(puts).toEqual(["/upload-bucket/uploaded/.ferryignore", "/upload-bucket/uploaded/README.md", "/upload-bucket/uploaded/flows/hello.py", "/upload-bucket/uploaded/flows/helpers.py"]);

      const again = await ferry(args, { home: join(home, "cli"), cwd: project, env });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stderr + again.stdout).toMatch(/4\/4 files: 0 uploaded \(0 B\), 4 unchanged/);

      const deployment = (await client.api.listDeployments({ query: { search: "uploaded" } })).items.find((d) => d.name === "uploaded")!;
      expect(deployment.source).toMatchObject({ git_url: "s3://upload-bucket/uploaded", credentials: "s3-reader" });
      const { flow_run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: { parameters: { name: "up" } } });
      const run = await client.waitForRun(flow_run.id);
      expect(run.state.type, await explain(run)).toBe("COMPLETED");
      expect(run.result).toEqual({ greeting: "HELLO UP" });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it("refuses a blob source whose store no loaded plugin reads, with a branch, or with the wrong type of credentials", async () => {
    const apply = (source: DeploymentApply["source"]) => client.api.applyDeployment({ body: { flow_name: "blob", name: "bad", work_pool: "managed", source, entrypoint: "flows/hello.py:hello" } });
    await expect(apply({ git_url: "s3://flows-bucket/app", branch: "main" })).rejects.toMatchObject({ code: "validation_failed", message: expect.stringMatching(/no branch or commit/) });
    await expect(apply({ git_url: "s3://flows-bucket/app", credentials: "gcs-reader" })).rejects.toMatchObject({ message: expect.stringMatching(/are gcp credentials; a s3 source needs aws credentials/) });
    await expect(apply({ git_url: "s3://Bad_Bucket/app" })).rejects.toMatchObject({ message: expect.stringMatching(/not a bucket name/) });
  });
});
