import type { ReactNode } from "react";
import * as RadixDialog from "@radix-ui/react-dialog";
import { X } from "lucide-react";
import { Button } from "./button.js";
import { FormError } from "./states.js";

interface DialogProps {
  open: boolean;
  onOpenChange(open: boolean): void;
  /** The dialog's accessible name. */
  title: string;
  description?: ReactNode;
  children: ReactNode;
  /** "alertdialog" for a confirmation that interrupts: it is not closed by a click outside. */
  role?: "dialog" | "alertdialog";
  wide?: boolean;
}

/** A modal dialog (Radix: focus trap, Escape closes, focus returns to the trigger), titled and described. */
export function Dialog({ open, onOpenChange, title, description, children, role = "dialog", wide }: DialogProps) {
  return (
    <RadixDialog.Root open={open} onOpenChange={onOpenChange}>
      <RadixDialog.Portal>
        <RadixDialog.Overlay className="fixed inset-0 z-40 bg-slate-950/50" />
        <RadixDialog.Content
          role={role}
          onPointerDownOutside={role === "alertdialog" ? (event) => event.preventDefault() : undefined}
          {...(description ? {} : { "aria-describedby": undefined })}
          className={`fixed top-1/2 left-1/2 z-50 max-h-[90vh] w-[calc(100vw-2rem)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-5 text-slate-900 shadow-xl dark:bg-slate-900 dark:text-slate-100 ${wide ? "max-w-2xl" : "max-w-lg"}`}
        >
          <div className="mb-4 flex items-start justify-between gap-4">
            <RadixDialog.Title className="text-lg font-semibold">{title}</RadixDialog.Title>
            {role === "dialog" && (
              <RadixDialog.Close asChild>
                <Button variant="ghost" size="sm" aria-label="Close">
                  <X aria-hidden size={16} />
                </Button>
              </RadixDialog.Close>
            )}
          </div>
          {description && <RadixDialog.Description className="mb-4 text-sm text-slate-700 dark:text-slate-300">{description}</RadixDialog.Description>}
          {children}
        </RadixDialog.Content>
      </RadixDialog.Portal>
    </RadixDialog.Root>
  );
}

export interface ConfirmDialogProps {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: string;
  description: ReactNode;
  /** The confirming button's name, e.g. "Delete" or "Cancel the run". */
  confirmLabel: string;
  /** The button that backs out, e.g. "Keep running". */
  cancelLabel?: string;
  onConfirm(): void;
  pending?: boolean;
  /** Shown in the dialog (e.g. the API's refusal), which stays open so the user can read it. */
  error?: unknown;
  danger?: boolean;
}

/** Asks before something that cannot be undone; role alertdialog, the backing-out button focused first. */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const { open, onOpenChange, title, description, confirmLabel, cancelLabel = "Cancel", onConfirm, pending, error, danger = true } = props;
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title={title} description={description} role="alertdialog">
      <div className="space-y-4">
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <RadixDialog.Close asChild>
            <Button autoFocus>{cancelLabel}</Button>
          </RadixDialog.Close>
          <Button variant={danger ? "danger" : "primary"} disabled={pending} onClick={onConfirm}>
            {confirmLabel}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

/** The row of buttons at the foot of a form dialog: cancel and submit. */
export function DialogActions({ submitLabel, pending }: { submitLabel: string; pending?: boolean }) {
  return (
    <div className="flex flex-wrap justify-end gap-2 pt-2">
      <RadixDialog.Close asChild>
        <Button>Cancel</Button>
      </RadixDialog.Close>
      <Button type="submit" variant="primary" disabled={pending}>
        {submitLabel}
      </Button>
    </div>
  );
}
