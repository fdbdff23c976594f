import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FerryError, type DeploymentApply } from "@ferry/core";
import { checkDefaultParameters } from "./deploy.js";
import { readerAt, withParameterSchemas, type RepositoryReader } from "./parameter-schemas.js";

const FILES: Record<string, string> = {
  "flows/etl.py": 'def etl(day: str, rows: int = 3, **extra):\n    return rows\n\n\ndef strict(name: str = "x"):\n    return name\n',
  "flows/hello.ts": "export async function hello(params: { name?: string } = {}) {\n  return params.name;\n}\n",
};
const reader: RepositoryReader = async (path) => FILES[path] ?? null;

function deployment(entrypoint: string, extra: Partial<DeploymentApply> = {}): DeploymentApply {
  const fn = entrypoint.split(":")[1]!;
  return { name: "d", flow_name: fn, entrypoint, work_pool: "p", source: { git_url: "https://example.com/r.git" }, ...extra };
}

describe("withParameterSchemas", () => {
  it("gives each deployment the schema of its flow's signature", async () => {
    const { deployments, notes } = await withParameterSchemas(
      [deployment("flows/etl.py:etl"), deployment("flows/etl.py:strict"), deployment("flows/hello.ts:hello")],
      reader,
    );
    expect(notes).toEqual([]);
    expect(deployments[0]!.parameter_schema).toMatchObject({
      type: "object",
      properties: { day: { type: "string" }, rows: { type: "integer", default: 3 } },
      required: ["day"],
    });
    // **extra takes any keyword: unknown parameters stay allowed.
    expect(deployments[0]!.parameter_schema).not.toHaveProperty("additionalProperties");
    expect(deployments[1]!.parameter_schema).toMatchObject({ properties: { name: { type: "string", default: "x" } }, additionalProperties: false });
    expect(deployments[2]!.parameter_schema).toMatchObject({ properties: { name: { type: "string" } } });
  });

  it("keeps a schema the file gives, and none where the file says null", async () => {
    const own = { type: "object", properties: { x: { type: "integer" } } };
    const { deployments } = await withParameterSchemas(
      [deployment("flows/etl.py:etl", { parameter_schema: own }), deployment("flows/etl.py:etl", { parameter_schema: null })],
      reader,
    );
    expect(deployments[0]!.parameter_schema).toBe(own);
    expect(deployments[1]!.parameter_schema).toBeNull();
  });

  it("notes an entrypoint whose file has no such function; a file not here is code from elsewhere", async () => {
    const { deployments, notes } = await withParameterSchemas([deployment("flows/gone.py:gone"), deployment("flows/etl.py:missing")], reader);
    expect(deployments.map((d) => d.parameter_schema)).toEqual([undefined, undefined]);
    expect(notes).toEqual([
      "missing/d: flows/etl.py has no top-level function 'missing'; check the entrypoint (runs call it by that name)",
    ]);
  });

  it("reads each file once", async () => {
    const reads: string[] = [];
    await withParameterSchemas([deployment("flows/etl.py:etl"), deployment("flows/etl.py:strict")], async (path) => {
      reads.push(path);
      return reader(path);
    });
    expect(reads).toEqual(["flows/etl.py"]);
  });
});

describe("readerAt", () => {
  it("reads repository-relative paths below the root, null for what is not there", async () => {
    const root = await mkdtemp(join(tmpdir(), "ferry-reader-"));
    try {
      await mkdir(join(root, "flows"));
      await writeFile(join(root, "flows/a.py"), "def a():\n    pass\n");
      const read = readerAt(root);
      expect(await read("flows/a.py")).toContain("def a()");
      expect(await read("flows/b.py")).toBeNull();
      expect(await read("flows")).toBeNull();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("checkDefaultParameters", () => {
  const schema = { type: "object", properties: { day: { type: "string" }, rows: { type: "integer" } }, required: ["day"], additionalProperties: false };
  it("accepts defaults that fit, leaving required ones to each run", () => {
    expect(() => checkDefaultParameters({ flow_name: "etl", name: "d", parameters: { rows: 3 }, parameter_schema: schema })).not.toThrow();
    expect(() => checkDefaultParameters({ flow_name: "etl", name: "d", parameters: { rows: "3" } })).not.toThrow();
  });
  it("refuses defaults of the wrong type or unknown name, saying which", () => {
    const wrong = (() => {
      try {
        checkDefaultParameters({ flow_name: "etl", name: "d", parameters: { rows: "3", dya: "x" }, parameter_schema: schema });
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(wrong).toBeInstanceOf(FerryError);
    expect((wrong as FerryError).message).toMatch(/^default parameters of etl\/d are invalid: /);
    expect((wrong as FerryError).message).toMatch(/rows/);
    expect((wrong as FerryError).message).toMatch(/dya/);
  });
});
