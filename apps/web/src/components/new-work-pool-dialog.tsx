import { useState } from "react";
import { useForm } from "react-hook-form";
import { useNavigate } from "@tanstack/react-router";
import type { ProviderInfo } from "@ferry/core/browser";
import { useCreatePool, usePoolTypes } from "../api/pools.js";
import { useCredentials } from "../api/credentials.js";
import { Dialog, DialogActions } from "./dialog.js";
import { Field, SelectInput, TextInput } from "./field.js";
import { FormError, Loading, ErrorState } from "./states.js";
import { Button } from "./button.js";

interface FormValues {
  name: string;
  type: string;
  credentials: string;
  concurrency_limit: string;
}

/** What a pool type needs, in a sentence under the type picker. */
export function typeNeeds(type: ProviderInfo): string {
  if (type.managed) return "Runs on Ferry's managed execution; counts against your tier's managed pools, concurrency and compute hours.";
  if (type.credentials_type) return `Runs in your own cloud account; needs credentials of type ${type.credentials_type}.`;
  return "Runs on infrastructure you run; needs no credentials.";
}

/** The type's description as a sentence: the server's may lack the final stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed === "" || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** "0", "" or "12" from the field → the API's concurrency_limit (null: unlimited). */
export function parseLimit(text: string): number | null | "invalid" {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^\d+$/.test(trimmed)) return "invalid";
  const value = Number(trimmed);
  return value > 2_147_483_647 ? "invalid" : value;
}

export function NewWorkPoolDialog() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        New work pool
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title="New work pool" wide>
        {open && <NewWorkPoolForm />}
      </Dialog>
    </>
  );
}

function NewWorkPoolForm() {
  const types = usePoolTypes();
  const credentials = useCredentials();
  const create = useCreatePool();
  const navigate = useNavigate();
  const { register, handleSubmit, watch, formState } = useForm<FormValues>({
    defaultValues: { name: "", type: "ferry:managed", credentials: "", concurrency_limit: "" },
  });
  if (types.isPending) return <Loading label="Loading pool types…" />;
  if (types.isError) return <ErrorState error={types.error} retry={() => void types.refetch()} />;
  const selected = types.data.find((t) => t.type === watch("type")) ?? types.data[0];
  const matching = (credentials.data ?? []).filter((c) => selected?.credentials_type && c.type === selected.credentials_type);

  const submit = handleSubmit((values) => {
    const limit = parseLimit(values.concurrency_limit);
    if (limit === "invalid") return;
    create.mutate(
      {
        name: values.name.trim(),
        type: values.type,
        concurrency_limit: limit,
        ...(selected?.credentials_type && values.credentials ? { credentials: values.credentials } : {}),
      },
      { onSuccess: (pool) => void navigate({ to: "/work-pools/$name", params: { name: pool.name } }) },
    );
  });

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <Field label="Name" hint="Lowercase letters, digits and dashes, e.g. my-pool." error={formState.errors.name?.message}>
        {({ id, describedBy, invalid }) => (
          <TextInput
            id={id}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            autoComplete="off"
            {...register("name", {
              required: "Give the pool a name.",
              pattern: { value: /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, message: "Use lowercase letters, digits and dashes (at most 63), starting and ending with a letter or digit." },
            })}
          />
        )}
      </Field>
      <Field label="Type" hint={selected ? `${sentence(selected.description)} ${typeNeeds(selected)}` : undefined}>
        {({ id, describedBy }) => (
          <SelectInput id={id} aria-describedby={describedBy} {...register("type")}>
            {types.data.map((t) => (
              <option key={t.type} value={t.type}>
                {t.type}
                {t.managed ? " (managed)" : ""}
              </option>
            ))}
          </SelectInput>
        )}
      </Field>
      {selected?.credentials_type && (
        <Field
          label="Credentials"
          hint={
            matching.length === 0
              ? `No credentials of type ${selected.credentials_type} yet: add them on the Credentials page, or let 'ferry work-pool provision-infra' make them.`
              : `Credentials of type ${selected.credentials_type}.`
          }
        >
          {({ id, describedBy }) => (
            <SelectInput id={id} aria-describedby={describedBy} {...register("credentials")}>
              <option value="">None</option>
              {matching.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </SelectInput>
          )}
        </Field>
      )}
      <Field label="Concurrency limit" hint="Runs of this pool at once; leave empty for no limit." error={formState.errors.concurrency_limit?.message}>
        {({ id, describedBy, invalid }) => (
          <TextInput
            id={id}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            inputMode="numeric"
            {...register("concurrency_limit", { validate: (v) => parseLimit(v) !== "invalid" || "Give a whole number of 0 or more, or leave it empty." })}
          />
        )}
      </Field>
      <FormError error={create.error} />
      <DialogActions submitLabel="Create work pool" pending={create.isPending} />
    </form>
  );
}
