import { assertValidProvisioner, PoolTypeRegistry, validateCredentialData } from "@ferry/core";
import { describe, expect, it } from "vitest";
import plugin from "./index.js";
import clientPlugin from "./client.js";
import { EcsProvider } from "./ecs-provider.js";
import { parseAwsPluginOptions } from "./options.js";

describe("the server plugin (@ferry/provider-aws)", () => {
  it("makes an ecs:push provider and the aws credentials type, which the registry accepts", () => {
    expect(plugin.name).toBe("@ferry/provider-aws");
    const made = plugin.create({});
    expect(made.providers).toHaveLength(1);
    expect(made.providers?.[0]).toBeInstanceOf(EcsProvider);
    const registry = new PoolTypeRegistry();
    registry.registerPlugin(plugin.name, made);
    expect(registry.get("ecs:push")).toMatchObject({ credentialsType: "aws", plugin: "@ferry/provider-aws" });
    const aws = registry.credentialTypes.get("aws");
    expect(validateCredentialData(aws, { aws_access_key_id: "AKIA1", aws_secret_access_key: "s", region_name: "eu-west-1" })).toBeDefined();
    expect(() => validateCredentialData(aws, { aws_access_key_id: "AKIA1" })).toThrow(/aws_secret_access_key/);
    expect(Object.entries(aws.schema.properties).filter(([, p]) => p["x-ferry-secret"]).map(([k]) => k)).toEqual(["aws_secret_access_key", "aws_session_token"]);
  });

  it("accepts an http(s) endpoint", () => {
    expect(parseAwsPluginOptions({ endpoint: "http://127.0.0.1:4566" })).toEqual({ endpoint: "http://127.0.0.1:4566" });
    expect(parseAwsPluginOptions(undefined)).toEqual({});
  });

  it.each([[{ endpoint: "127.0.0.1:4566" }], [{ endpoint: 4566 }], [{ endpont: "http://x" }]])("refuses %o, naming the field", (options) => {
    expect(() => parseAwsPluginOptions(options)).toThrow(/options of @ferry\/provider-aws are invalid: \/endpo/);
    expect(() => clientPlugin.create(options)).toThrow(/options of @ferry\/provider-aws are invalid/);
  });
});

describe("the client plugin (@ferry/provider-aws/client)", () => {
  it("makes the ecs:push provisioner, valid before the SDK is loaded, and the ECR login", () => {
    expect(clientPlugin.name).toBe("@ferry/provider-aws");
    const made = clientPlugin.create({ endpoint: "http://127.0.0.1:4566" });
    expect(made.provisioners?.map((p) => p.type)).toEqual(["ecs:push"]);
    expect(() => assertValidProvisioner(made.provisioners![0]!, clientPlugin.name)).not.toThrow();
    expect(Object.keys(made.provisioners![0]!.optionsSchema.properties)).toEqual([
      "region",
      "execution_role_name",
      "user_name",
      "policy_name",
      "cluster_name",
      "vpc_name",
      "repository_name",
      "task_role_arn",
    ]);
    const [login] = made.registryLogins ?? [];
    expect(login?.description).toBe("Amazon ECR");
    expect(login?.matches("123456789012.dkr.ecr.us-east-1.amazonaws.com")).toBe(true);
    expect(login?.matches("127.0.0.1:5000")).toBe(false);
  });

  it("checks provisioning options before anything is touched", async () => {
    const [provisioner] = clientPlugin.create({ endpoint: "http://127.0.0.1:1" }).provisioners ?? [];
    await expect(provisioner!.plan({ poolName: "p", options: { cluster_nme: "x" }, hasCredentials: false })).rejects.toMatchObject({
      code: "validation_failed",
      message: expect.stringContaining("cluster_nme is not a provisioning option of ecs:push"),
    });
  });
});
