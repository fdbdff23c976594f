import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TRUST_REQUIRED } from "../src/trust.js";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] } };
  contributes: {
    commands: { command: string }[];
    configuration: { properties: Record<string, { scope?: string }> };
    menus: Record<string, { command: string; when?: string }[]>;
    yamlValidation: { fileMatch: string[]; url: string }[];
    jsonValidation: { fileMatch: string[]; url: string }[];
    walkthroughs: { steps: { description: string; media: { markdown: string } }[] }[];
  };
};
const { contributes } = manifest;

describe("the extension's manifest", () => {
  it("scopes the settings that choose a server for the key or a program to run to the machine", () => {
    for (const key of ["ferry.apiUrl", "ferry.cliPath", "ferry.home"]) {
      expect(["machine", "application"], key).toContain(contributes.configuration.properties[key]!.scope);
    }
  });

  it("is limited in untrusted workspaces, ignoring their Ferry settings and hiding every command that changes something", () => {
    expect(manifest.capabilities.untrustedWorkspaces.supported).toBe("limited");
    expect(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations).toEqual(expect.arrayContaining(["ferry.apiUrl", "ferry.cliPath", "ferry.home"]));
    for (const [menu, items] of Object.entries(contributes.menus)) {
      for (const item of items.filter((i) => TRUST_REQUIRED.has(i.command))) expect(item.when, `${menu}: ${item.command}`).toMatch(/isWorkspaceTrusted/);
    }
    const palette = contributes.menus.commandPalette!.map((i) => i.command);
    for (const command of TRUST_REQUIRED) expect(palette).toContain(command);
  });

  it("contributes ferry.yaml's schema to the YAML and JSON language support, from the build", () => {
    expect(contributes.yamlValidation).toEqual([{ fileMatch: ["ferry.yaml", "ferry.yml"], url: "./dist/ferry.schema.json" }]);
    expect(contributes.jsonValidation[0]!.url).toBe("./dist/ferry.schema.json");
    expect(readFileSync(new URL("../.vscodeignore", import.meta.url), "utf8")).toContain("!dist/ferry.schema.json");
  });

  it("has a walkthrough whose steps link to real commands and real pages", () => {
    const commands = new Set(contributes.commands.map((c) => c.command));
    const steps = contributes.walkthroughs[0]!.steps;
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const step of steps) {
      for (const [, command] of step.description.matchAll(/\(command:([\w.]+)\)/g)) expect(commands).toContain(command);
      expect(existsSync(new URL(`../${step.media.markdown}`, import.meta.url)), step.media.markdown).toBe(true);
    }
  });
});
