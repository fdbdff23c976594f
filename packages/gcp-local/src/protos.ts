import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { loadSync, type PackageDefinition, type Options } from "@grpc/proto-loader";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

/** The `build/protos` folder an official client package ships. */
function protosOf(packageName: string, from?: string): string {
  // Resolve the entry point (some packages do not export their package.json), then climb to the package root.
  let dir = dirname(require.resolve(packageName, from === undefined ? undefined : { paths: [from] }));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "build", "protos"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`gcp-local: ${packageName} ships no build/protos folder: reinstall it (npm install).`);
    dir = up;
  }
  return join(dir, "build", "protos");
}

/** The services gcp-local answers, by the .proto file that declares each. */
export const PROTO_FILES = [
  "google/cloud/run/v2/job.proto",
  "google/cloud/run/v2/execution.proto",
  "google/cloud/run/v2/task.proto",
  "google/longrunning/operations.proto",
  "google/logging/v2/logging.proto",
  "google/api/serviceusage/v1/serviceusage.proto",
  "google/devtools/artifactregistry/v1/service.proto",
  "google/cloud/resourcemanager/v3/projects.proto",
];

/**
 * How requests are decoded: camelCase fields (as the Node.js clients name them), 64-bit integers and
 * enums as strings, absent fields left out, and the name of the set member of each oneof.
 */
export const LOADER_OPTIONS: Options = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };

/** An `Any` as the clients decode it: the type's URL and the message's bytes. */
export interface PackedAny {
  typeUrl: string;
  value: Buffer;
}

/** The loaded services, and the message types to pack `Any` fields (operation results and metadata) with. */
export interface GoogleProtos {
  definition: PackageDefinition;
  /** Encodes a message (camelCase fields) as an `Any` of the full type name, e.g. `google.cloud.run.v2.Job`. */
  packAny(typeName: string, message: object): PackedAny;
  /** Decodes an `Any` from a request; null when its type is not loaded. */
  unpackAny(any: PackedAny): Record<string, unknown> | null;
}

function includeDirs(): string[] {
  const logging = dirname(require.resolve("@google-cloud/logging"));
  return [
    protosOf("@google-cloud/run"),
    protosOf("@google-cloud/logging-api", logging),
    protosOf("@google-cloud/service-usage"),
    protosOf("@google-cloud/artifact-registry"),
    protosOf("@google-cloud/resource-manager"),
    protosOf("google-gax"),
  ];
}

/**
 * Loads the services from the .proto files inside the official packages (the very files their clients
 * are generated from), so the wire format cannot drift from what the clients send.
 */
export function loadGoogleProtos(): GoogleProtos {
  const dirs = includeDirs();
  const definition = loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: dirs });
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((dir) => join(dir, target)).find((path) => existsSync(path)) ?? target;
  root.loadSync(PROTO_FILES, { keepCase: false });
  const typeOf = (name: string): protobuf.Type => root.lookupType(name);
  return {
    definition,
    packAny(typeName, message) {
      const type = typeOf(typeName);
      const error = type.verify(type.fromObject(message));
      if (error !== null) throw new Error(`gcp-local built an invalid ${typeName}: ${error}`);
      return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(type.encode(type.fromObject(message)).finish()) };
    },
    unpackAny(any) {
      const name = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
      const type = root.lookup(name);
      if (!(type instanceof protobuf.Type)) return null;
      return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: false, oneofs: true }) as Record<string, unknown>;
    },
  };
}
