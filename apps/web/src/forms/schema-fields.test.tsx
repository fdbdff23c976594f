import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { fixtures } from "../../test/fixtures/schemas.js";
import { defaultsOf, InvalidJson, SchemaFields, validateValue, type JsonSchema } from "./schema-fields.js";

afterEach(cleanup);

const parameterSchema = fixtures.parameterSchemas[0]!.schema as JsonSchema;
const pydantic = fixtures.parameterSchemas[1]!.schema as JsonSchema;
const jobSchemas = fixtures.jobVariables.map((j) => j.schema as JsonSchema);
const managed = jobSchemas[0]!;
const props = (s: JsonSchema) => s.properties as Record<string, JsonSchema>;
/** The first pool type's variable that matches, with the schema it belongs to (pool types differ in what they have). */
function variable(match: (p: JsonSchema) => boolean): { schema: JsonSchema; name: string } {
  for (const schema of jobSchemas) {
    const found = Object.entries(props(schema)).find(([, p]) => match(p));
    if (found) return { schema, name: found[0] };
  }
  throw new Error("no pool type has such a variable");
}

/** A form as a page holds it: the value in state, the last value seen by the test, errors from validateValue. */
function setup(schema: JsonSchema, initial: Record<string, unknown> = {}, extra: { secretFields?: string[]; validate?: boolean } = {}) {
  const seen: { value: Record<string, unknown> } = { value: initial };
  function Harness() {
    const [value, setValue] = useState(initial);
    return (
      <SchemaFields
        schema={schema}
        value={value}
        idPrefix="f"
        secretFields={extra.secretFields}
        errors={extra.validate ? validateValue(schema, value) : undefined}
        onChange={(next) => {
          seen.value = next;
          setValue(next);
        }}
      />
    );
  }
  render(<Harness />);
  return { user: userEvent.setup(), seen };
}

describe("SchemaFields on every pool type's job variables", () => {
  it("labels a control for every variable, with its description linked", () => {
    for (const schema of jobSchemas) {
      const { unmount } = render(<SchemaFields schema={schema} value={defaultsOf(schema)} onChange={() => {}} idPrefix="p" />);
      for (const [name, p] of Object.entries(props(schema))) {
        // Nested objects are a fieldset (a group named by its legend); the rest are labelled controls.
        const control = screen.queryByLabelText(name, { exact: true }) ?? screen.getByRole("group", { name });
        const describedBy = control.getAttribute("aria-describedby") ?? "";
        expect(describedBy, name).toContain("-help");
        expect(document.getElementById(describedBy.split(" ")[0]!)?.textContent).toBe(p.description);
      }
      unmount();
    }
  });

  it("edits the managed pool's image, pip_packages and env with typed values", async () => {
    const { user, seen } = setup(managed, defaultsOf(managed));
    const image = screen.getByLabelText("image");
    expect(image).toHaveProperty("value", "ferry-engine:latest");
    await user.clear(image);
    expect(seen.value).not.toHaveProperty("image"); // cleared: the default applies
    await user.type(image, "custom:1");
    await user.click(screen.getByRole("button", { name: "Add pip_packages item" }));
    await user.type(screen.getByLabelText("pip_packages item 1"), "pandas");
    await user.click(screen.getByRole("button", { name: "Add pip_packages item" }));
    await user.type(screen.getByLabelText("pip_packages item 2"), "numpy");
    await user.click(screen.getByRole("button", { name: "Remove pip_packages item 1" }));
    await user.click(screen.getByRole("button", { name: "Add env entry" }));
    await user.type(screen.getByLabelText("env key 1"), "MODE");
    await user.type(screen.getByLabelText("env value 1"), "fast");
    expect(seen.value).toEqual({ image: "custom:1", pip_packages: ["numpy"], npm_packages: [], env: { MODE: "fast" } });
  });

  it("keeps integers as numbers and shows a minimum error under the field", async () => {
    const { schema, name } = variable((p) => p.type === "integer" && typeof p.minimum === "number" && p.minimum > 1);
    const { user, seen } = setup(schema, {}, { validate: true });
    const input = screen.getByLabelText(name);
    expect(input).toHaveProperty("type", "number");
    await user.type(input, "1");
    expect(seen.value[name]).toBe(1);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    const error = document.getElementById(`f-${name}-error`)!;
    expect(error.textContent).toBe(`Must be at least ${props(schema)[name]!.minimum as number}.`);
    expect(input.getAttribute("aria-describedby")).toContain(error.id);
    await user.type(input, "0000");
    expect(seen.value[name]).toBe(10000);
    expect(input.getAttribute("aria-invalid")).toBeNull();
  });

  it("renders enums as selects and booleans as checkboxes", async () => {
    const e = variable((p) => Array.isArray(p.enum) && p.type === "string");
    const { user, seen } = setup(e.schema, defaultsOf(e.schema));
    const select = screen.getByLabelText(e.name);
    expect(select.tagName).toBe("SELECT");
    const last = (props(e.schema)[e.name]!.enum as string[]).at(-1)!;
    await user.selectOptions(select, within(select).getByRole("option", { name: last }));
    expect(seen.value[e.name]).toBe(last);
    cleanup();
    const b = variable((p) => p.type === "boolean");
    const second = setup(b.schema, defaultsOf(b.schema));
    const box = screen.getByLabelText(b.name);
    expect(box).toHaveProperty("type", "checkbox");
    await second.user.click(box);
    expect(second.seen.value[b.name]).toBe(true);
  });

  it("clears nullable fields to null: strings, numbers, enums with null, lists and objects", async () => {
    const s = variable((p) => JSON.stringify(p.type) === '["string","null"]' && p.enum === undefined);
    const n = variable((p) => JSON.stringify(p.type) === '["integer","null"]');
    const { user, seen } = setup({ type: "object", properties: { s: props(s.schema)[s.name]!, n: props(n.schema)[n.name]! } });
    await user.type(screen.getByLabelText(s.name === "s" ? "s" : "s"), "abc");
    expect(seen.value.s).toBe("abc");
    await user.clear(screen.getByLabelText("s"));
    expect(seen.value.s).toBeNull();
    await user.type(screen.getByLabelText("n"), "2");
    expect(seen.value.n).toBe(2);
    await user.clear(screen.getByLabelText("n"));
    expect(seen.value.n).toBeNull();
    cleanup();

    const e = variable((p) => Array.isArray(p.enum) && p.enum.includes(null));
    const second = setup(e.schema, { [e.name]: (props(e.schema)[e.name]!.enum as unknown[])[0] });
    await second.user.selectOptions(screen.getByLabelText(e.name), "null (not set)");
    expect(second.seen.value[e.name]).toBeNull();
    cleanup();

    const l = variable((p) => JSON.stringify(p.type) === '["array","null"]');
    const third = setup(l.schema, { [l.name]: ["run"] });
    await third.user.click(screen.getByRole("button", { name: `Set ${l.name} to null` }));
    expect(third.seen.value[l.name]).toBeNull();
    cleanup();

    const o = variable((p) => JSON.stringify(p.type) === '["object","null"]' && typeof p.properties === "object");
    const fourth = setup(o.schema, { [o.name]: null });
    const group = screen.getByRole("group", { name: new RegExp(o.name) });
    const first = Object.keys(props(props(o.schema)[o.name]!))[0]!;
    await fourth.user.type(within(group).getByLabelText(first), "x");
    expect(fourth.seen.value[o.name]).toEqual({ [first]: "x" });
    await fourth.user.click(screen.getByRole("button", { name: `Set ${o.name} to null` }));
    expect(fourth.seen.value[o.name]).toBeNull();
  });

  it("edits arrays of objects as JSON and reports JSON that does not parse", async () => {
    const a = variable((p) => p.type === "array" && (p.items as JsonSchema | undefined)?.type === "object");
    const { seen } = setup(a.schema, {}, { validate: true });
    const area = screen.getByLabelText(a.name);
    expect(area.tagName).toBe("TEXTAREA");
    fireEvent.change(area, { target: { value: "[{" } });
    expect(seen.value[a.name]).toBeInstanceOf(InvalidJson);
    expect(document.getElementById(`f-${a.name}-error`)?.textContent).toMatch(/^Not valid JSON: /);
    expect(area).toHaveProperty("value", "[{"); // the text stays for the user to fix
    const item = { [((props(a.schema)[a.name]!.items as JsonSchema).required as string[])[0]!]: "p" };
    fireEvent.change(area, { target: { value: JSON.stringify([item]) } });
    expect(seen.value[a.name]).toEqual([item]);
    expect(document.getElementById(`f-${a.name}-error`)).toBeNull();
  });
});

describe("SchemaFields on credential types", () => {
  it("renders secret fields as empty password inputs, never pre-filled", async () => {
    for (const { schema } of fixtures.credentialTypes) {
      const secrets = Object.entries(props(schema as JsonSchema)).filter(([, p]) => p["x-ferry-secret"] === true);
      expect(secrets.length).toBeGreaterThan(0);
      const value = Object.fromEntries(secrets.map(([k]) => [k, "stored-secret-value"]));
      const { unmount } = render(<SchemaFields schema={schema as JsonSchema} value={value} onChange={() => {}} idPrefix="c" />);
      for (const [name] of secrets) {
        const input = screen.getByLabelText(name);
        expect(input).toHaveProperty("type", "password");
        expect(input).toHaveProperty("value", "");
      }
      expect(document.body.innerHTML).not.toContain("stored-secret-value");
      unmount();
    }
  });

  it("treats secretFields as secrets too, and passes what is typed", async () => {
    const { user, seen } = setup(managed, { image: "shown-nowhere" }, { secretFields: ["image"] });
    const input = screen.getByLabelText("image");
    expect(input).toHaveProperty("type", "password");
    expect(input).toHaveProperty("value", "");
    await user.type(input, "s3cret");
    expect(seen.value.image).toBe("s3cret");
  });
});

describe("SchemaFields on parameter schemas", () => {
  it("renders the schema ferry deploy derives from a Python signature with typed values", async () => {
    const { user, seen } = setup(parameterSchema, defaultsOf(parameterSchema), { validate: true });
    const source = screen.getByLabelText("source");
    expect(source.getAttribute("aria-required")).toBe("true");
    expect(document.getElementById("f-source-error")?.textContent).toBe("Required.");
    await user.type(source, "s3://x");
    expect(document.getElementById("f-source-error")).toBeNull();
    await user.clear(screen.getByLabelText("limit"));
    await user.type(screen.getByLabelText("limit"), "250");
    await user.clear(screen.getByLabelText("ratio"));
    await user.type(screen.getByLabelText("ratio"), "0.25");
    await user.click(screen.getByLabelText("dry_run"));
    await user.selectOptions(screen.getByLabelText("mode"), "incremental");
    const day = screen.getByLabelText("day");
    expect(day).toHaveProperty("type", "date");
    fireEvent.change(day, { target: { value: "2025-01-31" } });
    const since = screen.getByLabelText("since");
    expect(since).toHaveProperty("type", "datetime-local");
    fireEvent.change(since, { target: { value: "2025-01-31T10:30:00" } });
    await user.click(screen.getByRole("button", { name: "Add tags item" }));
    await user.type(screen.getByLabelText("tags item 1"), "a");
    await user.clear(screen.getByLabelText("key"));
    await user.type(screen.getByLabelText("key"), "42");
    expect(seen.value.key).toBe(42);
    await user.type(screen.getByLabelText("key"), "x");
    expect(seen.value.key).toBe("42x");
    fireEvent.change(screen.getByLabelText("weights"), { target: { value: '{"a": 1.5}' } });
    expect(seen.value).toEqual({
      source: "s3://x",
      limit: 250,
      ratio: 0.25,
      dry_run: true,
      mode: "incremental",
      day: "2025-01-31",
      since: new Date("2025-01-31T10:30:00").toISOString(),
      tags: ["a"],
      weights: { a: 1.5 },
      key: "42x",
      rows: [],
    });
    expect(validateValue(parameterSchema, seen.value)).toEqual({});
  });

  it("resolves $ref and allOf into nested fields, selects and defaults", async () => {
    const { user, seen } = setup(pydantic, defaultsOf(pydantic), { validate: true });
    const config = screen.getByRole("group", { name: /config/ });
    expect(within(config).getByLabelText("Retries")).toHaveProperty("value", "3");
    await user.type(within(config).getByLabelText("Name"), "nightly");
    const owner = screen.getByRole("group", { name: /owner/ });
    expect(owner.getAttribute("aria-describedby")).toBeTruthy();
    expect(screen.getByText("Who is told when it ends")).toBeTruthy();
    await user.type(within(owner).getByLabelText("Name"), "ada");
    expect(within(owner).getByLabelText("Email")).toHaveProperty("type", "email");
    expect(screen.getByLabelText("color")).toHaveProperty("value", "0");
    await user.selectOptions(screen.getByLabelText("color"), "blue");
    await user.selectOptions(screen.getByLabelText("accent"), "dark");
    fireEvent.change(screen.getByLabelText("when"), { target: { value: "2025-02-01" } });
    expect(screen.getByLabelText("people").tagName).toBe("TEXTAREA");
    await user.type(screen.getByLabelText("code"), "ab");
    expect(document.getElementById("f-code-error")?.textContent).toBe("Must match the pattern ^[A-Z]{3}$.");
    expect(seen.value).toEqual({ config: { retries: 3, name: "nightly" }, owner: { name: "ada" }, color: "blue", people: [], accent: "dark", when: "2025-02-01", code: "ab" });
  });

  it("falls back to a JSON editor for constructs it has no control for, never dropping the field", async () => {
    const schema: JsonSchema = {
      type: "object",
      properties: {
        shape: { title: "shape", oneOf: [{ type: "object", properties: { r: { type: "number" } } }, { type: "array" }] },
        odd: { title: "odd", not: { type: "string" } },
      },
    };
    const { seen } = setup(schema);
    fireEvent.change(screen.getByLabelText("shape"), { target: { value: '{"r": 2}' } });
    fireEvent.change(screen.getByLabelText("odd"), { target: { value: "7" } });
    expect(seen.value).toEqual({ shape: { r: 2 }, odd: 7 });
  });

  it("edits a schema without named fields (**kwargs only) as one JSON object, reporting what is not one", () => {
    const schema: JsonSchema = { type: "object" };
    const { seen } = setup(schema, {}, { validate: true });
    const area = screen.getByLabelText("Values");
    fireEvent.change(area, { target: { value: '{"a": 1}' } });
    expect(seen.value).toEqual({ a: 1 });
    fireEvent.change(area, { target: { value: "[1]" } });
    expect(validateValue(schema, seen.value)).toEqual({ __all: "Not valid JSON: the values must be a JSON object ({…})" });
    fireEvent.change(area, { target: { value: "{" } });
    expect(area).toHaveProperty("value", "{");
    expect(document.getElementById("f-__all-error")?.textContent).toMatch(/^Not valid JSON: /);
  });

  it("marks required fields without putting the mark in the label's name", () => {
    render(<SchemaFields schema={pydantic} value={{}} onChange={() => {}} idPrefix="r" />);
    expect(screen.getByLabelText("when").getAttribute("aria-required")).toBe("true");
    expect(screen.getByLabelText("code").getAttribute("aria-required")).toBeNull();
  });

  it("disables every control when disabled", () => {
    render(<SchemaFields schema={managed} value={defaultsOf(managed)} onChange={() => {}} idPrefix="d" disabled />);
    for (const el of [...document.querySelectorAll("input, select, textarea, button")]) expect(el).toHaveProperty("disabled", true);
  });
});
