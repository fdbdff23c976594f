import { useEffect, useRef, useState, type ReactNode } from "react";
import { deepEqual, InvalidJson, type JsonSchema } from "./schema.js";

/** The pieces every control gets: its id (for the <label>), what describes it, and whether it is in error. */
export interface ControlProps {
  id: string;
  describedBy: string | undefined;
  invalid: boolean;
  required: boolean;
  disabled: boolean | undefined;
  /** The field's name as people read it (title or key): names a group's inner inputs and buttons. */
  label: string;
}

export const inputClass =
  "w-full rounded border border-slate-400 bg-white px-2 py-1 text-sm text-slate-900 focus:outline-2 focus:outline-sky-600 " +
  "disabled:opacity-60 aria-[invalid=true]:border-red-700 dark:border-slate-500 dark:bg-slate-900 dark:text-slate-100 dark:aria-[invalid=true]:border-red-400";
const smallButton =
  "rounded border border-slate-400 px-2 py-0.5 text-sm hover:bg-slate-100 focus:outline-2 focus:outline-sky-600 disabled:opacity-60 dark:border-slate-500 dark:hover:bg-slate-800";

const aria = (p: ControlProps) => ({
  id: p.id,
  "aria-describedby": p.describedBy,
  "aria-invalid": p.invalid || undefined,
  "aria-required": p.required || undefined,
  disabled: p.disabled,
});

/**
 * Keeps a text draft for a control whose value is typed (numbers, JSON, maps): what the user typed stays
 * on screen while it does not parse, and a new value from outside (a reset to defaults) replaces it.
 */
function useDraft<T>(value: unknown, format: (v: unknown) => T): [T, (next: T, emitted: unknown) => void] {
  const [draft, setDraft] = useState<T>(() => format(value));
  const emitted = useRef<unknown>(value);
  useEffect(() => {
    if (!deepEqual(emitted.current, value)) {
      emitted.current = value;
      setDraft(format(value));
    }
    // Only a new value resets the draft: format is pure, and a new function each render must not reset it.
  }, [value]);
  return [
    draft,
    (next, out) => {
      emitted.current = out;
      setDraft(next);
    },
  ];
}

const emptyOf = (nullable: boolean): null | undefined => (nullable ? null : undefined);

export function TextControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean; format: string | null; schema: JsonSchema }) {
  const type = p.format === "date" ? "date" : p.format === "email" ? "email" : p.format === "uri" ? "url" : "text";
  return (
    <input
      {...aria(p)}
      type={type}
      className={inputClass}
      value={typeof p.value === "string" ? p.value : ""}
      placeholder={p.nullable ? "null (not set)" : undefined}
      maxLength={typeof p.schema.maxLength === "number" ? p.schema.maxLength : undefined}
      onChange={(e) => p.onChange(e.target.value === "" ? emptyOf(p.nullable) : e.target.value)}
    />
  );
}

/** A secret: a password input that starts empty whatever the value holds, so nothing stored is ever shown back. */
export function SecretControl(p: ControlProps & { onChange(v: unknown): void }) {
  const [text, setText] = useState("");
  return (
    <input
      {...aria(p)}
      type="password"
      autoComplete="new-password"
      className={inputClass}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        p.onChange(e.target.value === "" ? undefined : e.target.value);
      }}
    />
  );
}

const pad = (n: number) => String(n).padStart(2, "0");
function toLocalInput(v: unknown): string {
  if (typeof v !== "string" || Number.isNaN(Date.parse(v))) return "";
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `format: date-time`: the browser's local date-time picker, stored as an ISO instant in UTC. */
export function DateTimeControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean }) {
  const [draft, setDraft] = useDraft(p.value, toLocalInput);
  return (
    <input
      {...aria(p)}
      type="datetime-local"
      step={1}
      className={inputClass}
      value={draft}
      onChange={(e) => {
        const text = e.target.value;
        const out = text === "" ? emptyOf(p.nullable) : Number.isNaN(Date.parse(text)) ? text : new Date(text).toISOString();
        setDraft(text, out);
        p.onChange(out);
      }}
    />
  );
}

/** Text to a number when it is one; otherwise the text itself, which validation then reports. */
export function parseNumber(text: string): number | string {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : text;
}

export function NumberControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean; integer: boolean; schema: JsonSchema }) {
  const [draft, setDraft] = useDraft(p.value, (v) => (typeof v === "number" || typeof v === "string" ? String(v) : ""));
  return (
    <input
      {...aria(p)}
      type="number"
      inputMode={p.integer ? "numeric" : "decimal"}
      step={p.integer ? 1 : "any"}
      min={typeof p.schema.minimum === "number" ? p.schema.minimum : undefined}
      max={typeof p.schema.maximum === "number" ? p.schema.maximum : undefined}
      placeholder={p.nullable ? "null (not set)" : undefined}
      className={inputClass}
      value={draft}
      onChange={(e) => {
        const text = e.target.value;
        const out = text === "" ? emptyOf(p.nullable) : parseNumber(text);
        setDraft(text, out);
        p.onChange(out);
      }}
    />
  );
}

/** A union of scalar types (`int | str`): one text box, read as the first type the text fits. */
export function ScalarUnionControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean; types: string[] }) {
  const [draft, setDraft] = useDraft(p.value, (v) => (v === null || v === undefined ? "" : String(v)));
  return (
    <input
      {...aria(p)}
      type="text"
      className={inputClass}
      value={draft}
      placeholder={`${p.types.join(" or ")}${p.nullable ? " (empty for null)" : ""}`}
      onChange={(e) => {
        const text = e.target.value;
        let out: unknown = text;
        const n = parseNumber(text);
        if (text === "") out = emptyOf(p.nullable);
        else if (typeof n === "number" && (p.types.includes("number") || (p.types.includes("integer") && Number.isInteger(n)))) out = n;
        else if (p.types.includes("boolean") && (text === "true" || text === "false")) out = text === "true";
        setDraft(text, out);
        p.onChange(out);
      }}
    />
  );
}

export function CheckboxControl(p: ControlProps & { value: unknown; onChange(v: unknown): void }) {
  return (
    <input
      {...aria(p)}
      type="checkbox"
      className="h-4 w-4 accent-sky-700"
      checked={p.value === true}
      onChange={(e) => p.onChange(e.target.checked)}
    />
  );
}

const NOT_SET = "";

/** Enums (and nullable booleans): a select; an empty choice when the field may be left out or set to null. */
export function SelectControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; options: unknown[]; nullable: boolean }) {
  const index = p.options.findIndex((o) => deepEqual(o, p.value));
  const allowEmpty = p.nullable || !p.required || index < 0;
  return (
    <select
      {...aria(p)}
      className={inputClass}
      value={index < 0 ? NOT_SET : String(index)}
      onChange={(e) => p.onChange(e.target.value === NOT_SET ? emptyOf(p.nullable) : p.options[Number(e.target.value)])}
    >
      {allowEmpty && <option value={NOT_SET}>{p.nullable ? "null (not set)" : "(not set)"}</option>}
      {p.options.map((o, i) => (
        <option key={i} value={String(i)}>
          {typeof o === "string" ? o : JSON.stringify(o)}
        </option>
      ))}
    </select>
  );
}

/** A button that sets a nullable list, map or JSON field to null. */
function ClearToNull(p: { label: string; disabled: boolean | undefined; onClear(): void }) {
  return (
    <button type="button" className={smallButton} disabled={p.disabled} onClick={p.onClear}>
      Set {p.label} to null
    </button>
  );
}

/** A list of strings or numbers (pip_packages, subnets): one input per item, add and remove buttons. */
export function ListControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean; itemKind: "string" | "integer" | "number" }) {
  const items = Array.isArray(p.value) ? p.value : [];
  const numeric = p.itemKind !== "string";
  const set = (next: unknown[]) => p.onChange(next);
  return (
    <div id={p.id} role="group" aria-label={p.label} aria-describedby={p.describedBy} aria-invalid={p.invalid || undefined} className="space-y-1">
      {p.value === null ? (
        <p className="text-sm text-slate-700 dark:text-slate-300">null (not set)</p>
      ) : (
        items.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">None</p>
      )}
      {items.map((item, i) => (
        <div key={i} className="flex gap-2">
          <input
            type={numeric ? "number" : "text"}
            step={p.itemKind === "integer" ? 1 : numeric ? "any" : undefined}
            aria-label={`${p.label} item ${i + 1}`}
            className={inputClass}
            disabled={p.disabled}
            value={item === null || item === undefined ? "" : String(item)}
            onChange={(e) => set(items.map((x, j) => (j === i ? (numeric ? parseNumber(e.target.value) : e.target.value) : x)))}
          />
          <button type="button" className={smallButton} disabled={p.disabled} aria-label={`Remove ${p.label} item ${i + 1}`} onClick={() => set(items.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <div className="flex gap-2">
        <button type="button" className={smallButton} disabled={p.disabled} aria-label={`Add ${p.label} item`} onClick={() => set([...items, ""])}>
          Add
        </button>
        {p.nullable && p.value !== null && <ClearToNull label={p.label} disabled={p.disabled} onClear={() => p.onChange(null)} />}
      </div>
    </div>
  );
}

type Row = [string, string];
const rowsOf = (v: unknown): Row[] =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(v).map(([k, x]): Row => [k, typeof x === "string" ? x : JSON.stringify(x)]) : [];

/** A free-form map of strings (env, cloudwatch_logs_options): key/value rows. Rows with an empty key are kept on screen but not in the value. */
export function MapControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean }) {
  const [rows, setRows] = useDraft(p.value, rowsOf);
  const update = (next: Row[]) => {
    const out = Object.fromEntries(next.filter(([k]) => k !== ""));
    setRows(next, out);
    p.onChange(out);
  };
  return (
    <div id={p.id} role="group" aria-label={p.label} aria-describedby={p.describedBy} aria-invalid={p.invalid || undefined} className="space-y-1">
      {p.value === null ? (
        <p className="text-sm text-slate-700 dark:text-slate-300">null (not set)</p>
      ) : (
        rows.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">None</p>
      )}
      {rows.map(([k, v], i) => (
        <div key={i} className="flex gap-2">
          <input aria-label={`${p.label} key ${i + 1}`} className={inputClass} disabled={p.disabled} value={k} onChange={(e) => update(rows.map((r, j): Row => (j === i ? [e.target.value, r[1]] : r)))} />
          <input aria-label={`${p.label} value ${i + 1}`} className={inputClass} disabled={p.disabled} value={v} onChange={(e) => update(rows.map((r, j): Row => (j === i ? [r[0], e.target.value] : r)))} />
          <button type="button" className={smallButton} disabled={p.disabled} aria-label={`Remove ${p.label} entry ${i + 1}`} onClick={() => update(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <div className="flex gap-2">
        <button type="button" className={smallButton} disabled={p.disabled} aria-label={`Add ${p.label} entry`} onClick={() => setRows([...rows, ["", ""]], p.value)}>
          Add
        </button>
        {p.nullable && p.value !== null && <ClearToNull label={p.label} disabled={p.disabled} onClear={() => p.onChange(null)} />}
      </div>
    </div>
  );
}

const jsonText = (v: unknown): string => (v === undefined ? "" : v instanceof InvalidJson ? v.text : JSON.stringify(v, null, 2));

/** Anything the other controls do not cover (arrays of objects, unions of objects, unknown keywords): JSON, parsed as typed. */
export function JsonControl(p: ControlProps & { value: unknown; onChange(v: unknown): void; nullable: boolean; note?: ReactNode }) {
  const [text, setText] = useDraft(p.value, jsonText);
  return (
    <textarea
      {...aria(p)}
      rows={Math.min(12, Math.max(3, text.split("\n").length))}
      spellCheck={false}
      className={`${inputClass} font-mono`}
      value={text}
      placeholder="JSON"
      onChange={(e) => {
        const t = e.target.value;
        let out: unknown;
        if (t.trim() === "") out = emptyOf(p.nullable);
        else {
          try {
            out = JSON.parse(t) as unknown;
          } catch (error) {
            out = new InvalidJson(t, (error as Error).message);
          }
        }
        setText(t, out);
        p.onChange(out);
      }}
    />
  );
}
