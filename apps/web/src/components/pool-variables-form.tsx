import { useMemo, useState, type FormEvent } from "react";
import type { WorkPool } from "@ferry/core/browser";
import { SchemaFields, changedFrom, defaultsOf, validateValue } from "../forms/schema-fields.js";
import { useUpdatePool } from "../api/pools.js";
import { secretVariables, withDefaults, withoutSecrets } from "../api/job-template.js";
import { Button } from "./button.js";
import { FormError } from "./states.js";

/**
 * The pool's job variables as a form: what a run gets unless its deployment or the run says otherwise.
 * Saving writes the changed defaults back into the variables' schema; secret defaults start empty and
 * are only sent when typed.
 */
export function PoolVariablesForm({ pool }: { pool: WorkPool }) {
  const schema = pool.base_job_template.variables;
  const secrets = useMemo(() => secretVariables(schema), [schema]);
  const base = useMemo(() => withoutSecrets(defaultsOf(schema), secrets), [schema, secrets]);
  const [value, setValue] = useState<Record<string, unknown>>(base);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const update = useUpdatePool(pool.name);
  const changes = changedFrom(base, value);
  const dirty = Object.keys(changes).length > 0;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateValue(schema, { ...defaultsOf(schema), ...value });
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    update.mutate(
      { base_job_template: { ...pool.base_job_template, variables: withDefaults(schema, changes) } },
      {
        onSuccess: (next) => {
          setValue(withoutSecrets(defaultsOf(next.base_job_template.variables), secrets));
          setSaved(true);
        },
      },
    );
  };

  if (Object.keys((schema.properties as object | undefined) ?? {}).length === 0) {
    return <p className="text-sm text-slate-700 dark:text-slate-300">This pool's template has no variables.</p>;
  }
  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <SchemaFields
        schema={schema}
        value={value}
        onChange={(next) => {
          setSaved(false);
          setValue(next);
        }}
        errors={errors}
        idPrefix={`pool-${pool.name}`}
        secretFields={secrets}
        disabled={update.isPending}
      />
      <FormError error={update.error} />
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="primary" disabled={!dirty || update.isPending}>
          Save defaults
        </Button>
        {dirty && (
          <Button onClick={() => setValue(base)} disabled={update.isPending}>
            Discard changes
          </Button>
        )}
        <span role="status" className="text-sm text-slate-700 dark:text-slate-300">
          {saved ? "Saved" : ""}
        </span>
      </div>
    </form>
  );
}
