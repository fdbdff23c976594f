import { useState, type FormEvent } from "react";
import type { RouteOutput } from "@ferry/core/browser";
import { SchemaFields, defaultsOf, validateValue } from "../forms/schema-fields.js";
import { useCreateCredentials, useCredentialTypes } from "../api/credentials.js";
import { Dialog, DialogActions } from "./dialog.js";
import { Field, SelectInput, TextInput } from "./field.js";
import { Button } from "./button.js";
import { ErrorState, FormError, Loading } from "./states.js";

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function NewCredentialsDialog() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        New credentials
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title="New credentials" description="Secret fields are encrypted on the server and never shown again." wide>
        {open && <NewCredentialsForm onDone={() => setOpen(false)} />}
      </Dialog>
    </>
  );
}

type CredentialType = RouteOutput<"listCredentialTypes">["items"][number];

function NewCredentialsForm({ onDone }: { onDone(): void }) {
  const types = useCredentialTypes();
  if (types.isPending) return <Loading label="Loading credential types…" />;
  if (types.isError) return <ErrorState error={types.error} retry={() => void types.refetch()} />;
  if (types.data.length === 0) return <p>The server has no credential types.</p>;
  return <CredentialsForm types={types.data} onDone={onDone} />;
}

/** Name and type, then the type's own fields from its schema; secret fields are password inputs. */
function CredentialsForm({ types, onDone }: { types: CredentialType[]; onDone(): void }) {
  const create = useCreateCredentials();
  const first = types[0]!;
  const [name, setName] = useState("");
  const [type, setType] = useState<CredentialType>(first);
  const [data, setData] = useState<Record<string, unknown>>(() => defaultsOf(first.schema));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [nameError, setNameError] = useState<string>();

  const pickType = (next: string) => {
    const found = types.find((t) => t.type === next);
    if (!found) return;
    setType(found);
    setData(defaultsOf(found.schema));
    setErrors({});
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const badName = NAME.test(trimmed) ? undefined : "Use lowercase letters, digits and dashes (at most 63), starting and ending with a letter or digit.";
    const found = validateValue(type.schema, data);
    setNameError(badName);
    setErrors(found);
    if (badName || Object.keys(found).length > 0) return;
    create.mutate({ name: trimmed, type: type.type, data }, { onSuccess: onDone });
  };

  return (
    <form onSubmit={submit} className="space-y-4" noValidate autoComplete="off">
      <Field label="Name" error={nameError}>
        {({ id, describedBy, invalid }) => (
          <TextInput id={id} aria-describedby={describedBy} aria-invalid={invalid} value={name} onChange={(e) => setName(e.target.value)} />
        )}
      </Field>
      <Field label="Type" hint={type.description}>
        {({ id, describedBy }) => (
          <SelectInput id={id} aria-describedby={describedBy} value={type.type} onChange={(e) => pickType(e.target.value)}>
            {types.map((t) => (
              <option key={t.type} value={t.type}>
                {t.type}
              </option>
            ))}
          </SelectInput>
        )}
      </Field>
      <fieldset className="space-y-4 rounded-md border border-slate-200 p-3 dark:border-slate-700">
        <legend className="px-1 text-sm font-medium">{type.type} fields</legend>
        <SchemaFields
          key={type.type}
          schema={type.schema}
          value={data}
          onChange={setData}
          errors={errors}
          idPrefix="new-credentials"
          secretFields={type.secret_fields}
          disabled={create.isPending}
        />
      </fieldset>
      <FormError error={create.error} />
      <DialogActions submitLabel="Save credentials" pending={create.isPending} />
    </form>
  );
}
