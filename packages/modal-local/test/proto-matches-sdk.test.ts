import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { PROTO_DIR } from "../src/index.js";

/**
 * modal-local's .proto files must give every field the number (and wire type) Modal's API gives it.
 * The authority is the official SDK's own generated code (ts-proto, bundled in node_modules/modal): each
 * message's `encode` writes `writer.uint32(<field number << 3 | wire type>)`. This catches a typo here,
 * and a field renumbered by a new SDK version.
 */
const sdkSource = readFileSync(createRequire(import.meta.url).resolve("modal"), "utf8");

/** Field name → tag, from the SDK's encoder of `message`. */
function sdkTags(message: string): Map<string, number> | null {
  const start = sdkSource.search(new RegExp(`\\nvar ${message} = \\{\\n  encode\\((?:message|_), writer = new BinaryWriter\\(\\)\\) \\{\\n`));
  if (start < 0) return null;
  const body = sdkSource.slice(start, sdkSource.indexOf("\n  decode(", start));
  const tags = new Map<string, number>();
  // `writer.uint32(T).string(message.f)`, `X.encode(message.f, writer.uint32(T)…`, and `for (const v of message.f) { … writer.uint32(T)`.
  for (const m of body.matchAll(/writer\.uint32\((\d+)\)\.\w+\(message\.(\w+)\)/g)) tags.set(m[2]!, Number(m[1]));
  for (const m of body.matchAll(/\.encode\(message\.(\w+), writer\.uint32\((\d+)\)/g)) tags.set(m[1]!, Number(m[2]));
  for (const m of body.matchAll(/(?:for \(const v of |Object\.entries\()message\.(\w+)\)?[^\n]*\n[^\n]*?writer\.uint32\((\d+)\)/g)) tags.set(m[1]!, Number(m[2]));
  for (const m of body.matchAll(/Object\.entries\(message\.(\w+)\)[\s\S]*?writer\.uint32\((\d+)\)/g)) if (!tags.has(m[1]!)) tags.set(m[1]!, Number(m[2]));
  return tags;
}

const WIRE_TYPE: Record<string, number> = {
  TYPE_STRING: 2,
  TYPE_BYTES: 2,
  TYPE_MESSAGE: 2,
  TYPE_INT32: 0,
  TYPE_UINT32: 0,
  TYPE_INT64: 0,
  TYPE_UINT64: 0,
  TYPE_BOOL: 0,
  TYPE_ENUM: 0,
  TYPE_DOUBLE: 1,
  TYPE_FLOAT: 5,
};

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
}

const definition = loadSync(["modal/client.proto", "modal/task_command_router.proto"], { includeDirs: [PROTO_DIR], keepCase: false });
const messages = Object.entries(definition)
  .filter(([name, def]) => name.startsWith("modal.") && (def as { format?: string }).format === "Protocol Buffer 3 DescriptorProto")
  .map(([name, def]) => ({ name: name.split(".").pop()!, fields: (def as unknown as { type: { field: FieldDescriptor[] } }).type.field }));

describe("the .proto files against the official SDK's generated code", () => {
  it("describes the messages", () => {
    expect(messages.length).toBeGreaterThan(40);
  });

  for (const message of messages) {
    it(message.name, () => {
      const tags = sdkTags(message.name);
      expect(tags, `the SDK has no encoder for ${message.name}`).not.toBeNull();
      for (const field of message.fields) {
        const tag = tags!.get(field.name);
        expect(tag, `${message.name}.${field.name} is not a field of the SDK's ${message.name}`).toBeDefined();
        expect(tag! >> 3, `${message.name}.${field.name}'s number`).toBe(field.number);
        const wire = field.label === "LABEL_REPEATED" && field.type !== "TYPE_STRING" && field.type !== "TYPE_BYTES" && field.type !== "TYPE_MESSAGE" ? 2 : WIRE_TYPE[field.type];
        expect(tag! & 7, `${message.name}.${field.name}'s wire type`).toBe(wire);
      }
    });
  }
});
