import { describe, expect, it } from "vitest";
import { createProgram } from "./program.js";
import { completionScript, completionTree } from "./completion.js";
import { fakeIo } from "./testing/fake-io.js";

const program = () => createProgram(fakeIo(), { exitCode: 0 });

describe("completionTree", () => {
  it("has every command path with its subcommands, its flags and the program's", () => {
    const { paths } = completionTree(program());
    const words = (path: string) => paths.get(path)?.map((w) => w.word);
    expect(words("")).toEqual(expect.arrayContaining(["server", "flow-run", "run", "deployment", "completion", "version", "whoami", "--api-url", "--profile", "--help"]));
    expect(words("deployment schedule")).toEqual(expect.arrayContaining(["add", "ls", "pause", "resume", "rm", "--api-url"]));
    expect(words("deployment run")).toEqual(expect.arrayContaining(["--tag", "--name", "--start-in", "--start-at", "--timeout", "--watch", "--json"]));
    // An alias completes the same subtree as the command it names.
    expect(words("run")).toEqual(words("flow-run"));
    expect(paths.get("flow-run")?.find((w) => w.word === "logs")?.description).toBe("print a flow run's logs");
  });

  it("knows which flags take a value, so the walker skips it", () => {
    const { valued } = completionTree(program());
    expect(valued).toEqual(expect.arrayContaining(["--api-url", "--profile", "--file", "--start-in", "--tag"]));
    expect(valued).not.toContain("--json");
    expect(valued).not.toContain("--yes");
  });
});

describe("completionScript", () => {
  it("writes zsh's tree as name:description pairs for _describe, colons in names escaped", () => {
    const zsh = completionScript("zsh", program());
    expect(zsh).toMatch(/^#compdef ferry\n/);
    expect(zsh).toMatch(/'flow-run' 'ls:list flow runs, newest first\n/);
    expect(zsh).toContain("compdef _ferry ferry");
  });

  it("writes fish completions conditioned on the command path", () => {
    const fish = completionScript("fish", program());
    expect(fish).toContain("complete -c ferry -n '__ferry_at \\'flow-run\\'' -a 'logs' -d 'print a flow run\\'s logs'");
    expect(fish).toContain("complete -c ferry -n '__ferry_at \\'deployment run\\'' -l start-in");
  });
});
