import { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { finalLogLines } from "./final-log-lines.js";

const classify = (e: unknown) => (e instanceof FerryError ? e : new FerryError("provider_error", String((e as Error).message)));

describe("finalLogLines", () => {
  it("asks for a bounded number and returns them oldest first, the newest last, without trailing newlines", async () => {
    const asked: number[] = [];
    const lines = await finalLogLines(
      async (limit) => {
        asked.push(limit);
        return [
          { timestamp: "2026-01-01T00:00:02Z", message: "second\n" },
          { timestamp: "2026-01-01T00:00:01Z", message: "first" },
          { timestamp: "2026-01-01T00:00:02Z", message: "third\r\n" },
        ];
      },
      { limit: 2, classify },
    );
    expect(asked).toEqual([2]);
    expect(lines.map((l) => l.message)).toEqual(["second", "third"]);
  });

  it("clamps the limit", async () => {
    const asked: number[] = [];
    const read = async (limit: number) => {
      asked.push(limit);
      return [];
    };
    await finalLogLines(read, { limit: 0, classify });
    await finalLogLines(read, { limit: 1e9, maxLimit: 500, classify });
    expect(asked).toEqual([1, 500]);
  });

  it("has no lines, and no error, when the job wrote nothing yet", async () => {
    const read = async () => {
      throw new FerryError("provider_not_found", "no such log stream");
    };
    await expect(finalLogLines(read, { limit: 10, classify })).resolves.toEqual([]);
  });

  it("throws any other failure, classified", async () => {
    const read = async () => {
      throw new Error("denied");
    };
    await expect(finalLogLines(read, { limit: 10, classify })).rejects.toMatchObject({ code: "provider_error", message: "denied" });
  });
});
