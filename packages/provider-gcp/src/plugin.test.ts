import { assertValidProvisioner, PoolTypeRegistry, validateCredentialData } from "@ferry/core";
import { describe, expect, it } from "vitest";
import clientPlugin from "./client.js";
import { CloudRunProvider } from "./cloud-run-provider.js";
import plugin from "./index.js";
import { parseGcpPluginOptions } from "./options.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("the server plugin (@ferry/provider-gcp)", () => {
  it("makes a cloud-run:push provider and the gcp credentials type, which the registry accepts", () => {
    expect(plugin.name).toBe("@ferry/provider-gcp");
    const made = plugin.create({});
    expect(made.providers).toHaveLength(1);
    expect(made.providers?.[0]).toBeInstanceOf(CloudRunProvider);
    const registry = new PoolTypeRegistry();
    registry.registerPlugin(plugin.name, made);
    expect(registry.get("cloud-run:push")).toMatchObject({ credentialsType: "gcp", plugin: "@ferry/provider-gcp" });
    const gcp = registry.credentialTypes.get("gcp");
    const keyFile = {
      type: "service_account",
      project_id: "p-123456",
      private_key_id: "abc",
      private_key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
      client_email: "ferry-cloud-run@p-123456.iam.gserviceaccount.com",
      client_id: "1",
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: "https://oauth2.googleapis.com/token",
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: "https://www.googleapis.com/robot/v1/metadata/x509/x",
      universe_domain: "googleapis.com",
    };
    // A downloaded key file is stored as it is.
    expect(validateCredentialData(gcp, keyFile)).toBeDefined();
    expect(() => validateCredentialData(gcp, { client_email: "x@y" })).toThrow(/private_key/);
    expect(Object.entries(gcp.schema.properties).filter(([, p]) => p["x-ferry-secret"]).map(([k]) => k)).toEqual(["private_key"]);
  });

  it("takes a local endpoint: host, port, CA and REST URL", () => {
    expect(parseGcpPluginOptions({ apiEndpoint: "localhost", port: 8443, caPem: CA, restUrl: "http://127.0.0.1:9000" })).toEqual({
      apiEndpoint: "localhost",
      port: 8443,
      caPem: CA,
      restUrl: "http://127.0.0.1:9000",
    });
    expect(parseGcpPluginOptions(undefined)).toEqual({});
  });

  it.each([[{ port: "8443" }], [{ caPem: "not a pem" }], [{ restUrl: "127.0.0.1:9000" }], [{ endpoint: "x" }]])("refuses %o, naming the field", (options) => {
    expect(() => parseGcpPluginOptions(options)).toThrow(/options of @ferry\/provider-gcp are invalid/);
    expect(() => clientPlugin.create(options)).toThrow(/options of @ferry\/provider-gcp are invalid/);
  });
});

describe("the client plugin (@ferry/provider-gcp/client)", () => {
  it("makes the cloud-run:push provisioner, valid before Google's clients are loaded, and the Artifact Registry login", () => {
    expect(clientPlugin.name).toBe("@ferry/provider-gcp");
    const made = clientPlugin.create({});
    expect(made.provisioners?.map((p) => p.type)).toEqual(["cloud-run:push"]);
    expect(() => assertValidProvisioner(made.provisioners![0]!, clientPlugin.name)).not.toThrow();
    expect(Object.keys(made.provisioners![0]!.optionsSchema.properties)).toEqual(["project", "region", "repository_name", "service_account_name"]);
    const [login] = made.registryLogins ?? [];
    expect(login?.description).toBe("Google Artifact Registry");
    expect(login?.matches("us-central1-docker.pkg.dev")).toBe(true);
    expect(login?.matches("europe-west4-docker.pkg.dev")).toBe(true);
    expect(login?.matches("127.0.0.1:5000")).toBe(false);
    expect(login?.matches("docker.io")).toBe(false);
  });

  it("checks provisioning options before anything is touched", async () => {
    const [provisioner] = clientPlugin.create({}).provisioners ?? [];
    await expect(provisioner!.plan({ poolName: "p", options: { regoin: "x" }, hasCredentials: false })).rejects.toMatchObject({
      code: "validation_failed",
      message: expect.stringContaining("regoin is not a provisioning option of cloud-run:push"),
    });
    await expect(provisioner!.plan({ poolName: "p", options: { repository_name: "Bad_Name" }, hasCredentials: false })).rejects.toMatchObject({ code: "validation_failed" });
  });
});
