import { createHash } from "node:crypto";

/** A Python flow whose code spans two modules, and a file that is not code: what the blob-source tests upload. */
export const FLOW_FILES: Record<string, string> = {
  "flows/hello.py": `from helpers import shout


def hello(name="blob"):
    print(f"hello {name} from a blob store")
    return {"greeting": shout(name)}
`,
  "flows/helpers.py": `def shout(name):
    return f"HELLO {name.upper()}"
`,
  "README.md": "not code\n",
};

const md5 = (body: Uint8Array) => createHash("md5").update(body).digest("base64");

/** Writes files under a prefix through a provider's blob store (its `write`, with the Content-MD5 it checks). */
export async function upload(store: { write?: (key: string, body: Uint8Array, o: { md5: string }) => Promise<void> }, prefix: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const body = typeof text === "string" ? Buffer.from(text) : text;
    await store.write!(`${prefix}${path}`, body, { md5: md5(body) });
  }
}
