import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { FERRY_BIN } from "./cli-harness.js";

const exec = promisify(execFile);

/**
 * Loads `ferry completion bash` from the built binary into a real bash, as a user does, and asks it what
 * completes the words typed so far (COMP_WORDS, with the cursor on the last one).
 */
async function bashCompletes(...typed: string[]): Promise<{ registered: string; words: string[] }> {
  const script = [
    `ferry() { node ${JSON.stringify(FERRY_BIN)} "$@"; }`,
    "source <(ferry completion bash)",
    "complete -p ferry",
    `COMP_WORDS=(${typed.map((w) => `'${w}'`).join(" ")})`,
    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))",
    "COMP_LINE=\"${COMP_WORDS[*]}\"",
    "_ferry_complete",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const { stdout } = await exec("bash", ["-c", script], { env: { ...process.env, NO_COLOR: "1" } });
  const [registered, ...words] = stdout.trimEnd().split("\n");
  return { registered: registered!, words: words.filter(Boolean) };
}

describe("ferry completion bash, loaded in bash", () => {
  it("registers a completion function for ferry", async () => {
    const { registered } = await bashCompletes("ferry", "");
    expect(registered).toBe("complete -o default -F _ferry_complete ferry");
  });

  it("completes 'ferry flow-' to flow-run, and the flow-run subcommands after it", async () => {
    expect((await bashCompletes("ferry", "flow-")).words).toEqual(["flow-run"]);
    const subcommands = (await bashCompletes("ferry", "flow-run", "")).words;
    expect(subcommands).toEqual(expect.arrayContaining(["ls", "inspect", "logs", "cancel", "--profile", "--api-url", "--help"]));
    expect((await bashCompletes("ferry", "flow-run", "l")).words).toEqual(["ls", "logs"]);
  });

  it("completes nested commands and their flags, past flags and their values", async () => {
    expect((await bashCompletes("ferry", "deployment", "schedule", "")).words).toEqual(expect.arrayContaining(["add", "ls", "pause", "resume", "rm"]));
    expect((await bashCompletes("ferry", "--profile", "prod", "deployment", "run", "etl/nightly", "--st")).words).toEqual(["--start-in", "--start-at"]);
    expect((await bashCompletes("ferry", "work-pool", "delete", "p", "--y")).words).toEqual(["--yes"]);
    // The value of a flag is the shell's to complete (file names), not a command.
    expect((await bashCompletes("ferry", "deploy", "--file", "")).words).toEqual([]);
    expect((await bashCompletes("ferry", "completion", "")).words).toEqual(expect.arrayContaining(["--help"]));
  });
});
