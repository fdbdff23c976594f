import pc from "picocolors";
import { describe, expect, it } from "vitest";
import { formatDuration, maskSecret, relativeTime, sourceLabel, stateLabel } from "./format.js";
import { fitColumns, renderDetails, renderJson, renderTable, useColor } from "./output.js";

const plain = pc.createColors(false);
const colored = pc.createColors(true);

describe("renderTable", () => {
  const rows = [
    { name: "a", n: 1, note: null },
    { name: "longer-name", n: 22, note: "x" },
  ];
  const columns = [
    { header: "NAME", value: (r: (typeof rows)[number]) => r.name },
    { header: "N", value: (r: (typeof rows)[number]) => r.n },
    { header: "NOTE", value: (r: (typeof rows)[number]) => r.note },
  ];

  it("aligns columns without borders or trailing spaces", () => {
    expect(renderTable(rows, columns, plain)).toBe(["NAME         N   NOTE", "a            1", "longer-name  22  x", ""].join("\n"));
  });

  it("keeps columns aligned when cells are coloured", () => {
    const text = renderTable(rows, [{ header: "NAME", value: (r) => colored.green(r.name) }, columns[1]!], colored);
    const visible = text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
    expect(visible).toBe(["NAME         N", "a            1", "longer-name  22", ""].join("\n"));
  });
});

describe("tables that fit the terminal", () => {
  const rows = [
    { id: "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", source: "https://github.com/acme/a-rather-long-repository-name.git@main", state: "Completed" },
    { id: "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", source: "https://github.com/acme/flows.git@dev", state: "Running" },
  ];
  const columns = [
    { header: "ID", value: (r: (typeof rows)[number]) => r.id, shrink: false },
    { header: "SOURCE", value: (r: (typeof rows)[number]) => r.source },
    { header: "STATE", value: (r: (typeof rows)[number]) => colored.green(r.state) },
  ];
  const strip = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");

  it("cuts the widest column first, with an ellipsis, so every line fits the width", () => {
    const text = strip(renderTable(rows, columns, colored, 80));
    const lines = text.trimEnd().split("\n");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    // The id stays whole (shrink: false); the source gives up what the line lacks.
    expect(lines[1]).toBe("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b  https://github.com/acme/a-rath…  Completed");
    expect(lines[2]).toBe("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c  https://github.com/acme/flows.…  Running");
  });

  it("leaves a table that fits, or piped output (no width), whole", () => {
    expect(renderTable(rows, columns, plain, 200)).toBe(renderTable(rows, columns, plain));
    expect(renderTable(rows, columns, plain)).toContain("a-rather-long-repository-name.git@main");
  });

  it("fitColumns shrinks the widest down to the minimums, and no further", () => {
    expect(fitColumns([36, 60, 9], [8, 8, 8], 80)).toEqual([33, 34, 9]);
    expect(fitColumns([10, 10], [8, 8], 100)).toEqual([10, 10]);
    expect(fitColumns([30, 30], [8, 8], 10)).toEqual([8, 8]);
  });
});

describe("useColor", () => {
  it("colours a terminal unless NO_COLOR or TERM=dumb, and FORCE_COLOR forces it", () => {
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
    expect(useColor({ NO_COLOR: "1" }, true)).toBe(false);
    expect(useColor({ TERM: "dumb" }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: "1" }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: "0" }, false)).toBe(false);
  });
});

describe("renderJson and renderDetails", () => {
  it("prints JSON with a final newline", () => {
    expect(renderJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}\n');
  });

  it("prints objects as YAML for people", () => {
    expect(renderDetails({ name: "p", template: { image: "{{ image }}" }, tags: [] })).toBe('name: p\ntemplate:\n  image: "{{ image }}"\ntags: []\n');
  });
});

describe("format", () => {
  it("masks a secret to a short prefix", () => {
    expect(maskSecret("fy_abcdefghijklmnopqrstuvwxyz0123456789")).toBe("fy_abcdef****");
    expect(maskSecret("short")).toBe("s****");
    expect(maskSecret(null)).toBe("");
  });

  it("tells times relative to now", () => {
    const now = new Date("2026-01-10T12:00:00Z");
    expect(relativeTime("2026-01-10T12:00:00Z", now)).toBe("just now");
    expect(relativeTime("2026-01-10T11:59:30Z", now)).toBe("30s ago");
    expect(relativeTime("2026-01-10T11:55:00Z", now)).toBe("5m ago");
    expect(relativeTime("2026-01-10T09:00:00Z", now)).toBe("3h ago");
    expect(relativeTime("2026-01-08T12:00:00Z", now)).toBe("2d ago");
    expect(relativeTime("2025-11-01T12:00:00Z", now)).toBe("2025-11-01");
    expect(relativeTime(null, now)).toBe("");
  });

  it("formats durations", () => {
    expect(formatDuration(0.25)).toBe("250ms");
    expect(formatDuration(42)).toBe("42s");
    expect(formatDuration(185)).toBe("3m 05s");
    expect(formatDuration(7380)).toBe("2h 03m");
    expect(formatDuration(null)).toBe("");
  });

  it("shows a state's precise name, coloured by its type", () => {
    expect(stateLabel({ type: "SCHEDULED", name: "AwaitingConcurrencySlot" }, plain)).toBe("AwaitingConcurrencySlot");
    expect(stateLabel({ type: "COMPLETED", name: "Completed" }, colored)).toBe(colored.green("Completed"));
  });

  it("labels a source by commit, else branch", () => {
    expect(sourceLabel({ git_url: "u", branch: "main" })).toBe("u@main");
    expect(sourceLabel({ git_url: "u", branch: "main", commit: "0123456789abcdef" })).toBe("u@0123456789ab");
    expect(sourceLabel({ git_url: "u" })).toBe("u");
  });
});
