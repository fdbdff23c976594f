import { useState } from "react";
import { useForm } from "react-hook-form";
import { useDeleteNamedValue, useSecretsPages, useSetNamedValue, useVariablesPages } from "../api/variables.js";
import { Button } from "../components/button.js";
import { Section } from "../components/details.js";
import { ConfirmDialog } from "../components/dialog.js";
import { Field, TextInput } from "../components/field.js";
import { PageHeader } from "../components/page-header.js";
import { Empty, ErrorState, FormError, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { formatTime } from "../components/time.js";

type Kind = "variable" | "secret";
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Workspace variables (values shown) and secrets (names only), which a deployment's env refers to. */
export default function VariablesPage() {
  const variables = useVariablesPages();
  const secrets = useSecretsPages();
  return (
    <>
      <PageHeader
        title="Variables and secrets"
        description="Values a deployment's env refers to as {{ var.NAME }} and {{ secret.NAME }}. Secrets are stored encrypted, never shown after saving, and masked in run logs."
      />
      <Section title="Variables">
        <SetForm kind="variable" />
        {variables.query.isPending ? (
          <Loading />
        ) : variables.query.isError ? (
          <ErrorState error={variables.query.error} retry={() => void variables.query.refetch()} />
        ) : !variables.items?.length ? (
          <Empty title="No variables yet">Set one above, or with `ferry variable set NAME VALUE`.</Empty>
        ) : (
          <NamedTable kind="variable" rows={variables.items.map((v) => ({ name: v.name, value: v.value, updated_at: v.updated_at }))} />
        )}
      </Section>
      <Section title="Secrets">
        <SetForm kind="secret" />
        {secrets.query.isPending ? (
          <Loading />
        ) : secrets.query.isError ? (
          <ErrorState error={secrets.query.error} retry={() => void secrets.query.refetch()} />
        ) : !secrets.items?.length ? (
          <Empty title="No secrets yet">Set one above, or with `ferry secret set NAME`.</Empty>
        ) : (
          <NamedTable kind="secret" rows={secrets.items.map((s) => ({ name: s.name, updated_at: s.updated_at }))} />
        )}
      </Section>
    </>
  );
}

function SetForm({ kind }: { kind: Kind }) {
  const set = useSetNamedValue(kind);
  const { register, handleSubmit, formState, reset } = useForm<{ name: string; value: string }>({ defaultValues: { name: "", value: "" } });
  const label = kind === "variable" ? "Variable" : "Secret";
  return (
    <form
      className="mb-4 grid gap-3 sm:grid-cols-[1fr_2fr_auto] sm:items-end"
      noValidate
      aria-label={`Set a ${kind}`}
      onSubmit={handleSubmit(({ name, value }) => set.mutate({ name: name.trim(), value }, { onSuccess: () => reset() }))}
    >
      <Field label={`${label} name`} error={formState.errors.name?.message}>
        {({ id, describedBy, invalid }) => (
          <TextInput
            id={id}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            autoComplete="off"
            {...register("name", { validate: (v) => NAME.test(v.trim()) || "Letters, digits, _ and -, starting with a letter or _." })}
          />
        )}
      </Field>
      <Field label={`${label} value`} error={formState.errors.value?.message}>
        {({ id, describedBy, invalid }) => (
          <TextInput
            id={id}
            type={kind === "secret" ? "password" : "text"}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            autoComplete="off"
            {...register("value", { validate: (v) => (kind === "variable" || v.length > 0) || "A secret needs a value." })}
          />
        )}
      </Field>
      <Button type="submit" variant="primary" disabled={set.isPending}>
        {set.isPending ? "Saving…" : `Set ${kind}`}
      </Button>
      <div className="sm:col-span-3">
        <FormError error={set.error} />
      </div>
    </form>
  );
}

function NamedTable({ kind, rows }: { kind: Kind; rows: { name: string; value?: string; updated_at: string }[] }) {
  const [deleting, setDeleting] = useState<string | null>(null);
  const remove = useDeleteNamedValue(kind);
  return (
    <>
      <Table label={kind === "variable" ? "Variables" : "Secrets"}>
        <thead>
          <tr>
            <Th>Name</Th>
            {kind === "variable" && <Th>Value</Th>}
            <Th>Updated</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <Tr key={row.name}>
              <Td className="font-mono">{row.name}</Td>
              {kind === "variable" && <Td className="font-mono break-all">{row.value}</Td>}
              <Td>{formatTime(row.updated_at)}</Td>
              <Td className="text-right">
                <Button size="sm" variant="ghost" aria-label={`Delete ${kind} ${row.name}`} onClick={() => setDeleting(row.name)}>
                  Delete
                </Button>
              </Td>
            </Tr>
          ))}
        </tbody>
      </Table>
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => {
          if (!open) {
            setDeleting(null);
            remove.reset();
          }
        }}
        title={`Delete ${kind} '${deleting ?? ""}'?`}
        description="Runs of deployments whose env refers to it fail before they start until it is set again."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting, { onSuccess: () => setDeleting(null) })}
      />
    </>
  );
}
