import { STATE_TYPES, defaultStateName, type StateType } from "@ferry/core/browser";
import { useDeployments, deploymentRef } from "../api/deployments.js";
import { usePools } from "../api/pools.js";
import { statesOf, TIME_PRESETS, type RunsSearch, type TimePreset } from "../api/runs-search.js";
import { Button } from "./button.js";
import { Field, SelectInput, TextInput } from "./field.js";
import { stateLabel } from "./state-badge.js";

const pad = (n: number) => String(n).padStart(2, "0");
/** An ISO instant as a datetime-local input's value, in the reader's time zone. */
function localInput(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocal = (text: string): string | undefined => (text && !Number.isNaN(Date.parse(text)) ? new Date(text).toISOString() : undefined);

/** The runs list's filters: states (several), pool, deployment, and when the run was created. */
export function RunsFilters({ search, onChange }: { search: RunsSearch; onChange(next: RunsSearch): void }) {
  const pools = usePools();
  const deployments = useDeployments();
  const states = statesOf(search.state);
  const set = (patch: Partial<RunsSearch>) => {
    const next: RunsSearch = { ...search, ...patch };
    for (const key of Object.keys(next) as (keyof RunsSearch)[]) if (next[key] === undefined || next[key] === "") delete next[key];
    onChange(next);
  };
  const toggle = (type: StateType, on: boolean) => {
    const next = on ? [...states, type] : states.filter((s) => s !== type);
    set({ state: STATE_TYPES.filter((t) => next.includes(t)).join(",") || undefined });
  };
  const timeMode = search.since ?? (search.after || search.before ? "custom" : "");
  return (
    <form className="mb-4 space-y-3 rounded-md border border-slate-200 p-3 dark:border-slate-700" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <fieldset>
        <legend className="text-sm font-medium">State</legend>
        <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1">
          {STATE_TYPES.map((type) => (
            <label key={type} className="inline-flex items-center gap-1.5 text-sm">
              <input type="checkbox" className="h-4 w-4" checked={states.includes(type)} onChange={(e) => toggle(type, e.target.checked)} />
              {stateLabel(defaultStateName(type))}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <Field label="Work pool">
          {({ id }) => (
            <SelectInput id={id} value={search.pool ?? ""} onChange={(e) => set({ pool: e.target.value || undefined })}>
              <option value="">Any pool</option>
              {search.pool && !pools.data?.some((p) => p.name === search.pool) && <option value={search.pool}>{search.pool}</option>}
              {pools.data?.map((p) => (
                <option key={p.id} value={p.name}>
                  {p.name}
                </option>
              ))}
            </SelectInput>
          )}
        </Field>
        <Field label="Deployment">
          {({ id }) => (
            <SelectInput id={id} value={search.deployment ?? ""} onChange={(e) => set({ deployment: e.target.value || undefined })}>
              <option value="">Any deployment</option>
              {search.deployment && !deployments.data?.some((d) => d.id === search.deployment) && <option value={search.deployment}>{search.deployment}</option>}
              {deployments.data?.map((d) => (
                <option key={d.id} value={d.id}>
                  {deploymentRef(d)}
                </option>
              ))}
            </SelectInput>
          )}
        </Field>
        <Field label="Created">
          {({ id }) => (
            <SelectInput
              id={id}
              value={timeMode}
              onChange={(e) => {
                const v = e.target.value;
                if (v === "custom") set({ since: undefined, after: search.after ?? new Date(Date.now() - 86_400_000).toISOString() });
                else set({ since: (v || undefined) as TimePreset | undefined, after: undefined, before: undefined });
              }}
            >
              <option value="">Any time</option>
              {(Object.keys(TIME_PRESETS) as TimePreset[]).map((k) => (
                <option key={k} value={k}>
                  {TIME_PRESETS[k].label}
                </option>
              ))}
              <option value="custom">Between…</option>
            </SelectInput>
          )}
        </Field>
      </div>
      {timeMode === "custom" && (
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Field label="Created after">
            {({ id }) => <TextInput id={id} type="datetime-local" value={localInput(search.after)} onChange={(e) => set({ after: fromLocal(e.target.value) })} />}
          </Field>
          <Field label="Created before">
            {({ id }) => <TextInput id={id} type="datetime-local" value={localInput(search.before)} onChange={(e) => set({ before: fromLocal(e.target.value) })} />}
          </Field>
        </div>
      )}
      {Object.keys(search).length > 0 && (
        <Button size="sm" onClick={() => onChange({})}>
          Clear filters
        </Button>
      )}
    </form>
  );
}
