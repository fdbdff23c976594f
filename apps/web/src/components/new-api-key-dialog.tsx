import { useState } from "react";
import { useForm } from "react-hook-form";
import { useCreateApiKey } from "../api/api-keys.js";
import { Dialog, DialogActions } from "./dialog.js";
import { Field, TextInput } from "./field.js";
import { Button } from "./button.js";
import { CopyButton } from "./copy-button.js";
import { FormError } from "./states.js";

/**
 * Creates a key and shows it once. The key lives in this dialog's state only: closing the dialog
 * forgets it, and it never enters the query cache.
 */
export function NewApiKeyDialog() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        New API key
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title="New API key">
        {open && <NewApiKeyForm onClose={() => setOpen(false)} />}
      </Dialog>
    </>
  );
}

function NewApiKeyForm({ onClose }: { onClose(): void }) {
  const create = useCreateApiKey();
  const [key, setKey] = useState<string | null>(null);
  const { register, handleSubmit, formState } = useForm<{ name: string }>({ defaultValues: { name: "" } });

  if (key !== null) {
    return (
      <div className="space-y-4">
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-50">
          Copy this key now: it will not be shown again.
        </p>
        <Field label="New API key">
          {({ id }) => <TextInput id={id} readOnly value={key} className="font-mono" onFocus={(e) => e.currentTarget.select()} />}
        </Field>
        <div className="flex flex-wrap items-center justify-between gap-2">
          <CopyButton text={key} />
          <Button variant="primary" onClick={onClose}>
            Done
          </Button>
        </div>
      </div>
    );
  }
  return (
    <form
      className="space-y-4"
      noValidate
      onSubmit={handleSubmit(({ name }) => create.mutate(name.trim(), { onSuccess: (created) => setKey(created.key) }))}
    >
      <Field label="Name" hint="What the key is for, e.g. ci or laptop." error={formState.errors.name?.message}>
        {({ id, describedBy, invalid }) => (
          <TextInput
            id={id}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            autoComplete="off"
            {...register("name", {
              validate: (v) => (v.trim().length > 0 && v.trim().length <= 100) || "Give the key a name of 1 to 100 characters.",
            })}
          />
        )}
      </Field>
      <FormError error={create.error} />
      <DialogActions submitLabel="Create API key" pending={create.isPending} />
    </form>
  );
}
