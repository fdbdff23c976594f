import type { JSX } from "react";
import {
  CheckboxControl,
  DateTimeControl,
  JsonControl,
  ListControl,
  MapControl,
  NumberControl,
  ScalarUnionControl,
  SecretControl,
  SelectControl,
  TextControl,
  type ControlProps,
} from "./controls.js";
import { InvalidJson, kindOf, resolve, splitNull, type JsonSchema } from "./schema.js";

export { changedFrom, defaultsOf, InvalidJson, validateValue, type JsonSchema } from "./schema.js";

export interface SchemaFieldsProps {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange(next: Record<string, unknown>): void;
  /** Problems by field path (`name`, `nested.name`), as `validateValue` returns them or the API's details. */
  errors?: Record<string, string>;
  /** Prefix of every field's id, so two forms on one page do not collide. */
  idPrefix: string;
  /** Top-level fields to treat as secrets besides those the schema marks (`x-ferry-secret`, `format: password`, `writeOnly`). */
  secretFields?: string[];
  disabled?: boolean;
}

interface Context {
  root: JsonSchema;
  errors: Record<string, string>;
  idPrefix: string;
  secretFields: string[];
  disabled: boolean | undefined;
}

/** Where a schema without named fields keeps JSON that is not an object of values (see SchemaFields). */
const ROOT_KEY = "__all";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const idOf = (prefix: string, path: string) => `${prefix}-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/** The first error at `path` or below it (a list item's or a map value's). */
function errorAt(errors: Record<string, string>, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const below = Object.keys(errors).find((k) => k.startsWith(`${path}.`));
  return below === undefined ? undefined : errors[below];
}

/** Properties in schema order, or by pydantic/Prefect's `position` when given. */
function ordered(properties: Record<string, JsonSchema>): [string, JsonSchema][] {
  const entries = Object.entries(properties).filter((e): e is [string, JsonSchema] => isObject(e[1]));
  const pos = (s: JsonSchema) => (typeof s.position === "number" ? s.position : Number.POSITIVE_INFINITY);
  return entries.map((e, i) => [e, i] as const).sort((a, b) => pos(a[0][1]) - pos(b[0][1]) || a[1] - b[1]).map(([e]) => e);
}

function ObjectFields(p: {
  ctx: Context;
  path: string;
  properties: Record<string, JsonSchema>;
  required: string[];
  value: Record<string, unknown>;
  onChange(next: Record<string, unknown>): void;
}) {
  return (
    <div className="space-y-4">
      {ordered(p.properties).map(([name, schema]) => (
        <Field
          key={name}
          ctx={p.ctx}
          name={name}
          path={p.path ? `${p.path}.${name}` : name}
          schema={schema}
          required={p.required.includes(name)}
          secret={p.path === "" && p.ctx.secretFields.includes(name)}
          value={p.value[name]}
          onChange={(v) => {
            const next = { ...p.value };
            if (v === undefined) delete next[name];
            else next[name] = v;
            p.onChange(next);
          }}
        />
      ))}
    </div>
  );
}

function Field(p: { ctx: Context; name: string; path: string; schema: JsonSchema; required: boolean; secret: boolean; value: unknown; onChange(v: unknown): void }) {
  const { ctx } = p;
  const resolved = resolve(p.schema, ctx.root);
  const { schema, nullable } = splitNull(resolved, ctx.root);
  const kind = kindOf(schema, ctx.root);
  const label = typeof resolved.title === "string" && resolved.title !== "" ? resolved.title : p.name;
  const description = typeof resolved.description === "string" ? resolved.description : null;
  const id = idOf(ctx.idPrefix, p.path);
  const error = errorAt(ctx.errors, p.path);
  const describedBy = [description ? `${id}-help` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  const c: ControlProps = { id, describedBy, invalid: error !== undefined, required: p.required, disabled: ctx.disabled, label };
  const common = { ...c, value: p.value, onChange: p.onChange, nullable };

  if (kind.kind === "object") {
    const value = isObject(p.value) ? p.value : {};
    return (
      <fieldset className="space-y-2 rounded border border-slate-300 p-3 dark:border-slate-700" aria-describedby={describedBy}>
        <legend className="px-1 text-sm font-medium">
          {label}
          {p.required && <span aria-hidden="true" className="ml-0.5 text-red-700 dark:text-red-400">*</span>}
        </legend>
        {description && <Help id={`${id}-help`} text={description} />}
        {nullable && p.value === null && <p className="text-sm text-slate-700 dark:text-slate-300">null (not set)</p>}
        <ObjectFields ctx={ctx} path={p.path} properties={kind.properties} required={kind.required} value={value} onChange={p.onChange} />
        {nullable && p.value !== null && p.value !== undefined && (
          <button type="button" className="rounded border border-slate-400 px-2 py-0.5 text-sm" disabled={ctx.disabled} onClick={() => p.onChange(null)}>
            Set {label} to null
          </button>
        )}
        {error && ctx.errors[p.path] && <ErrorText id={`${id}-error`} text={ctx.errors[p.path]!} />}
      </fieldset>
    );
  }

  let control: JSX.Element;
  let inline = false;
  let group = false;
  switch (kind.kind) {
    case "string":
      if (kind.secret || p.secret) control = <SecretControl {...c} onChange={p.onChange} />;
      else if (kind.format === "date-time") control = <DateTimeControl {...common} />;
      else control = <TextControl {...common} format={kind.format} schema={schema} />;
      break;
    case "integer":
    case "number":
      control = <NumberControl {...common} integer={kind.kind === "integer"} schema={schema} />;
      break;
    case "boolean":
      if (nullable) control = <SelectControl {...common} options={[true, false]} />;
      else {
        control = <CheckboxControl {...c} value={p.value} onChange={p.onChange} />;
        inline = true;
      }
      break;
    case "enum":
      control = <SelectControl {...common} options={kind.options} />;
      break;
    case "scalar-union":
      control = <ScalarUnionControl {...common} types={kind.types} />;
      break;
    case "list":
      control = <ListControl {...common} itemKind={kind.itemKind} />;
      group = true;
      break;
    case "map":
      control = <MapControl {...common} />;
      group = true;
      break;
    default:
      control = <JsonControl {...common} />;
  }

  const labelEl = group ? (
    <span id={`${id}-label`} className="text-sm font-medium">
      {label}
    </span>
  ) : (
    <label htmlFor={id} className="text-sm font-medium">
      {label}
    </label>
  );
  return (
    <div className="space-y-1" data-field={p.path}>
      {inline ? (
        <div className="flex items-center gap-2">
          {control}
          {labelEl}
          {p.required && <span aria-hidden="true" className="text-red-700 dark:text-red-400">*</span>}
        </div>
      ) : (
        <>
          <div>
            {labelEl}
            {p.required && <span aria-hidden="true" className="ml-0.5 text-red-700 dark:text-red-400">*</span>}
            {kind.kind === "json" && <span className="ml-2 text-xs text-slate-700 dark:text-slate-300">(JSON)</span>}
          </div>
          {control}
        </>
      )}
      {description && <Help id={`${id}-help`} text={description} />}
      {error && <ErrorText id={`${id}-error`} text={error} />}
    </div>
  );
}

const Help = (p: { id: string; text: string }) => (
  <p id={p.id} className="text-xs text-slate-700 dark:text-slate-300">
    {p.text}
  </p>
);

const ErrorText = (p: { id: string; text: string }) => (
  <p id={p.id} className="text-sm text-red-700 dark:text-red-400">
    {p.text}
  </p>
);

/**
 * A form's fields generated from a JSON Schema of an object (a deployment's parameter schema, a pool
 * type's job variables, a credential type). Controlled: `value` is the object being edited, with numbers
 * as numbers, null where a nullable field was cleared, and fields left empty removed (their default
 * applies). A JSON field that does not parse holds an `InvalidJson`, which `validateValue` reports.
 */
export function SchemaFields(props: SchemaFieldsProps): JSX.Element {
  const root = props.schema;
  const schema = resolve(root, root);
  const ctx: Context = { root, errors: props.errors ?? {}, idPrefix: props.idPrefix, secretFields: props.secretFields ?? [], disabled: props.disabled };
  const properties = isObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  if (Object.keys(properties).length === 0) {
    if (schema.additionalProperties === false) return <p className="text-sm text-slate-700 dark:text-slate-300">No fields to fill in.</p>;
    // A schema with no named fields (`**kwargs` only, or none at all): the whole object as JSON.
    return (
      <Field
        ctx={ctx}
        name="Values"
        path={ROOT_KEY}
        schema={{ title: "Values", description: "An object of values, as JSON", type: "object", additionalProperties: { not: {} } }}
        required={false}
        secret={false}
        value={isObject(props.value) && props.value[ROOT_KEY] instanceof InvalidJson ? props.value[ROOT_KEY] : props.value}
        onChange={(v) => {
          if (v === undefined || v === null) props.onChange({});
          else if (isObject(v) && !(v instanceof InvalidJson)) props.onChange(v);
          else {
            // Text that does not parse, or JSON that is not an object: kept under ROOT_KEY, which validateValue reports.
            const bad = v instanceof InvalidJson ? v : new InvalidJson(JSON.stringify(v), "the values must be a JSON object ({…})");
            props.onChange({ [ROOT_KEY]: bad });
          }
        }}
      />
    );
  }
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return <ObjectFields ctx={ctx} path="" properties={properties} required={required} value={props.value} onChange={props.onChange} />;
}
