import { PoolTypeRegistry } from "@ferry/core";
import { describe, expect, it } from "vitest";
import plugin from "./index.js";
import { EcsProvider } from "./ecs-provider.js";
import { createAwsPlugin, parseAwsPluginOptions } from "./plugin.js";

describe("the @ferry/provider-aws plugin", () => {
  it("is named and makes an ecs:push provider the registry accepts", () => {
    expect(plugin.name).toBe("@ferry/provider-aws");
    const made = plugin.create({});
    expect(made.providers).toHaveLength(1);
    expect(made.providers?.[0]).toBeInstanceOf(EcsProvider);
    const registry = new PoolTypeRegistry();
    registry.registerProvider(made.providers![0]!, plugin.name);
    expect(registry.get("ecs:push").credentialsType).toBe("aws");
  });

  it("accepts an http(s) endpoint", () => {
    expect(parseAwsPluginOptions({ endpoint: "http://127.0.0.1:4566" })).toEqual({ endpoint: "http://127.0.0.1:4566" });
    expect(parseAwsPluginOptions(undefined)).toEqual({});
  });

  it.each([[{ endpoint: "127.0.0.1:4566" }], [{ endpoint: 4566 }], [{ endpont: "http://x" }]])("refuses %o, naming the field", (options) => {
    expect(() => parseAwsPluginOptions(options)).toThrow(/options of @ferry\/provider-aws are invalid: \/endpo/);
  });

  it("hands its options to the provisioners' factory", () => {
    const seen: unknown[] = [];
    createAwsPlugin((options) => {
      seen.push(options);
      return [];
    }).create({ endpoint: "https://aws.internal" });
    expect(seen).toEqual([{ endpoint: "https://aws.internal" }]);
  });
});

describe("the default export's provisioners", () => {
  it("include the ecs:push provisioner, registrable beside the provider", () => {
    const made = plugin.create({ endpoint: "http://127.0.0.1:4566" });
    expect(made.provisioners?.map((p) => p.type)).toEqual(["ecs:push"]);
    const registry = new PoolTypeRegistry();
    registry.registerProvider(made.providers![0]!, plugin.name);
    registry.registerProvisioner(made.provisioners![0]!);
    expect(registry.get("ecs:push").provisioner).toBe(made.provisioners![0]);
  });
});
