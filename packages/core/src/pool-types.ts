import { clip, FerryError } from "./errors.js";
import type { BaseJobTemplate } from "./job-template.js";
import { CredentialTypeRegistry, type CredentialType } from "./credentials.js";
import { assertValidProvider, isManagedType, type ComputeProvider } from "./provider.js";
import type { BlobScheme, SourceStore } from "./sources.js";

export const MANAGED_POOL_TYPE = "ferry:managed";

/** The image managed runs use unless the operator allows others. */
export const DEFAULT_ENGINE_IMAGE = "ferry-engine:latest";

const packageList = (description: string) => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 500 },
  maxItems: 200,
  default: [],
  description,
});

/** Job template of `ferry:managed` pools: the user picks packages and environment, Ferry picks the rest. */
export const MANAGED_BASE_JOB_TEMPLATE: BaseJobTemplate = {
  variables: {
    type: "object",
    properties: {
      image: { type: "string", minLength: 1, default: DEFAULT_ENGINE_IMAGE, description: "Image the run starts in" },
      pip_packages: packageList("Python packages installed into the run's virtual environment at start"),
      npm_packages: packageList("npm packages installed at start"),
      env: {
        type: "object",
        additionalProperties: { type: "string" },
        default: {},
        description: "Environment variables of the run's process",
      },
    },
  },
  job_configuration: {
    image: "{{ image }}",
    pip_packages: "{{ pip_packages }}",
    npm_packages: "{{ npm_packages }}",
    env: "{{ env }}",
  },
};

/** A pool type as the server knows it: its template, the provider serving it and the plugin it came from. */
export interface PoolType {
  type: string;
  description: string;
  managed: boolean;
  credentialsType: string | null;
  defaultBaseJobTemplate: BaseJobTemplate;
  provider?: ComputeProvider;
  /** The plugin module that registered the type (a FERRY_PROVIDERS entry); null for built-in types. */
  plugin: string | null;
}

/**
 * Pool types and credential types registered from an explicit list of plugins; nothing is discovered
 * by sniffing. `ferry:managed` and the `git` credentials type are built in.
 */
export class PoolTypeRegistry {
  private readonly types = new Map<string, PoolType>();
  readonly credentialTypes = new CredentialTypeRegistry();

  constructor() {
    this.types.set(MANAGED_POOL_TYPE, {
      type: MANAGED_POOL_TYPE,
      description: "Ferry runs each flow run in a container on its own infrastructure",
      managed: true,
      credentialsType: null,
      defaultBaseJobTemplate: MANAGED_BASE_JOB_TEMPLATE,
      plugin: null,
    });
  }

  /** The blob stores plugins read deployments' code from, by scheme. */
  readonly sourceStores = new Map<BlobScheme, SourceStore & { plugin: string }>();

  /** Registers what a plugin's `create` returned: its credential types first, then its providers and source stores. */
  registerPlugin(plugin: string, made: { providers?: ComputeProvider[]; credentialTypes?: CredentialType[]; sourceStores?: SourceStore[] }): void {
    for (const type of made.credentialTypes ?? []) this.credentialTypes.register(type, plugin);
    for (const provider of made.providers ?? []) this.registerProvider(provider, plugin);
    for (const store of made.sourceStores ?? []) this.registerSourceStore(store, plugin);
  }

  registerSourceStore(store: SourceStore, plugin: string): void {
    if (this.sourceStores.has(store.scheme)) {
      throw new FerryError("conflict", `source store '${store.scheme}' is registered twice (plugin ${plugin} and ${this.sourceStores.get(store.scheme)!.plugin}); remove one of the plugins`);
    }
    if (!this.credentialTypes.has(store.credentialsType)) {
      throw new FerryError("validation_failed", `plugin ${plugin}: source store ${store.scheme} needs credentials of type '${store.credentialsType}', which no plugin registers`);
    }
    if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.-]+)*$/.test(store.module)) {
      throw new FerryError("validation_failed", `plugin ${plugin}: source store ${store.scheme}'s module '${store.module}' must be a bare package specifier`);
    }
    this.sourceStores.set(store.scheme, { ...store, plugin });
  }

  registerProvider(provider: ComputeProvider, plugin = provider.type): void {
    assertValidProvider(provider, plugin);
    if (this.types.has(provider.type)) {
      throw new FerryError("conflict", `pool type '${provider.type}' is registered twice (plugin ${plugin}); remove one of the plugins`);
    }
    if (provider.credentialsType !== null && !this.credentialTypes.has(provider.credentialsType)) {
      throw new FerryError(
        "validation_failed",
        `plugin ${plugin}: provider ${provider.type} needs credentials of type '${provider.credentialsType}', which no plugin registers; return it in create()'s credentialTypes`,
      );
    }
    this.types.set(provider.type, {
      type: provider.type,
      description: provider.description,
      managed: isManagedType(provider.type),
      credentialsType: provider.credentialsType,
      defaultBaseJobTemplate: provider.defaultBaseJobTemplate,
      provider,
      plugin,
    });
  }

  get(type: string): PoolType {
    const entry = this.types.get(type);
    if (!entry) {
      throw new FerryError("validation_failed", `work pool type '${clip(type)}' is not available on this server; use one of ${this.names().join(", ")}`);
    }
    return entry;
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  list(): PoolType[] {
    return this.names().map((n) => this.types.get(n)!);
  }
}
