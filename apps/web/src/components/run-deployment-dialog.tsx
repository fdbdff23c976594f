import { useMemo, useState, type FormEvent } from "react";
import { useNavigate } from "@tanstack/react-router";
import * as Collapsible from "@radix-ui/react-collapsible";
import { ChevronRight } from "lucide-react";
import type { Deployment, WorkPool } from "@ferry/core/browser";
import { SchemaFields, changedFrom, defaultsOf, validateValue, type JsonSchema } from "../forms/schema-fields.js";
import { buildRunRequest, deploymentRef, parseParametersJson, useCreateFlowRun } from "../api/deployments.js";
import { usePool } from "../api/pools.js";
import { Dialog, DialogActions } from "./dialog.js";
import { Button } from "./button.js";
import { Field, TextArea, TextInput } from "./field.js";
import { ErrorState, FormError, Loading } from "./states.js";

export function RunDeploymentDialog({ deployment }: { deployment: Deployment }) {
  const [open, setOpen] = useState(false);
  const ref = deploymentRef(deployment);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        Run
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={`Run ${ref}`} wide>
        {open && <RunForm deployment={deployment} />}
      </Dialog>
    </>
  );
}

function RunForm({ deployment }: { deployment: Deployment }) {
  const pool = usePool(deployment.work_pool);
  if (pool.isPending) return <Loading label="Loading the pool's job variables…" />;
  if (pool.isError) return <ErrorState error={pool.error} retry={() => void pool.refetch()} />;
  return <RunFormFields deployment={deployment} pool={pool.data} />;
}

/** Whether a schema describes named fields the form can draw. */
function hasProperties(schema: Record<string, unknown> | null): schema is JsonSchema {
  return schema !== null && typeof schema.properties === "object" && schema.properties !== null && Object.keys(schema.properties).length > 0;
}

function RunFormFields({ deployment, pool }: { deployment: Deployment; pool: WorkPool }) {
  const navigate = useNavigate();
  const create = useCreateFlowRun(deployment.id);
  const parameterSchema = hasProperties(deployment.parameter_schema) ? deployment.parameter_schema : null;
  const [parameters, setParameters] = useState<Record<string, unknown>>(() =>
    parameterSchema ? { ...defaultsOf(parameterSchema), ...deployment.parameters } : deployment.parameters,
  );
  const [parametersText, setParametersText] = useState(() => JSON.stringify(deployment.parameters, null, 2));
  const [parameterErrors, setParameterErrors] = useState<Record<string, string>>({});
  const [jsonError, setJsonError] = useState<string>();

  const variablesSchema = pool.base_job_template.variables;
  // What a run gets with no overrides: the pool's defaults under the deployment's own job variables.
  const jobBase = useMemo(() => ({ ...defaultsOf(variablesSchema), ...deployment.job_variables }), [variablesSchema, deployment.job_variables]);
  const [jobVariables, setJobVariables] = useState<Record<string, unknown>>(jobBase);
  const [jobErrors, setJobErrors] = useState<Record<string, string>>({});
  const [idempotencyKey, setIdempotencyKey] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let params = parameters;
    if (parameterSchema) {
      const found = validateValue(parameterSchema, parameters);
      setParameterErrors(found);
      if (Object.keys(found).length > 0) return;
    } else {
      const parsed = parseParametersJson(parametersText);
      if ("error" in parsed) {
        setJsonError(parsed.error);
        return;
      }
      setJsonError(undefined);
      params = parsed.value;
    }
    const found = validateValue(variablesSchema, jobVariables);
    setJobErrors(found);
    if (Object.keys(found).length > 0) return;
    const body = buildRunRequest({ parameters: params, jobVariableChanges: changedFrom(jobBase, jobVariables), idempotencyKey });
    create.mutate(body, { onSuccess: (result) => void navigate({ to: "/runs/$id", params: { id: result.flow_run.id } }) });
  };

  return (
    <form onSubmit={submit} className="space-y-5" noValidate>
      <fieldset className="space-y-4">
        <legend className="mb-2 font-semibold">Parameters</legend>
        {parameterSchema ? (
          <SchemaFields
            schema={parameterSchema}
            value={parameters}
            onChange={setParameters}
            errors={parameterErrors}
            idPrefix={`run-${deployment.id}-param`}
            disabled={create.isPending}
          />
        ) : (
          <Field label="Parameters (JSON)" hint="The flow has no parameter schema: give its parameters as a JSON object." error={jsonError}>
            {({ id, describedBy, invalid }) => (
              <TextArea id={id} aria-describedby={describedBy} aria-invalid={invalid} rows={6} value={parametersText} onChange={(e) => setParametersText(e.target.value)} />
            )}
          </Field>
        )}
      </fieldset>
      {hasProperties(variablesSchema) && (
        <Disclosure title="Job variables" hint={`Overrides for this run only; only what you change is sent. Defaults come from pool ${pool.name} and the deployment.`}>
          <SchemaFields
            schema={variablesSchema}
            value={jobVariables}
            onChange={setJobVariables}
            errors={jobErrors}
            idPrefix={`run-${deployment.id}-job`}
            disabled={create.isPending}
          />
        </Disclosure>
      )}
      <Disclosure title="Advanced">
        <Field label="Idempotency key" hint="Starting again with the same key within 24 hours returns the same run instead of a second one.">
          {({ id, describedBy }) => (
            <TextInput id={id} aria-describedby={describedBy} autoComplete="off" maxLength={200} value={idempotencyKey} onChange={(e) => setIdempotencyKey(e.target.value)} />
          )}
        </Field>
      </Disclosure>
      <FormError error={create.error} />
      <DialogActions submitLabel="Start run" pending={create.isPending} />
    </form>
  );
}

function Disclosure({ title, hint, children }: { title: string; hint?: string; children: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <Collapsible.Root open={open} onOpenChange={setOpen} className="rounded-md border border-slate-200 dark:border-slate-700">
      <Collapsible.Trigger asChild>
        <button type="button" className="flex w-full items-center gap-2 px-3 py-2 text-left font-semibold">
          <ChevronRight aria-hidden size={16} className={open ? "rotate-90 transition-transform" : "transition-transform"} />
          {title}
        </button>
      </Collapsible.Trigger>
      <Collapsible.Content className="space-y-4 px-3 pb-3">
        {hint && <p className="text-sm text-slate-700 dark:text-slate-300">{hint}</p>}
        {children}
      </Collapsible.Content>
    </Collapsible.Root>
  );
}
