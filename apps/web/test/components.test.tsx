import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { STATE_TYPES } from "@ferry/core/browser";
import { CopyButton } from "../src/components/copy-button.js";
import { ConfirmDialog } from "../src/components/dialog.js";
import { STATE_TONES, StateBadge, stateLabel } from "../src/components/state-badge.js";
import { FerryError } from "@ferry/core/browser";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// fireEvent, not userEvent, for these: userEvent installs a clipboard of its own.
function setClipboard(writeText: ((text: string) => Promise<void>) | undefined) {
  Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
  Object.defineProperty(window.navigator, "clipboard", { value: writeText ? { writeText } : undefined, configurable: true });
}

describe("CopyButton", () => {
  it("writes the text to the clipboard and says so, keeping its name", async () => {
    const written: string[] = [];
    setClipboard(async (text) => {
      written.push(text);
    });
    render(<CopyButton text="ferry work-pool provision-infra p" />);
    fireEvent.click(screen.getByRole("button", { name: "Copy" }));
    expect(await screen.findByText("Copied")).toBeTruthy();
    expect(written).toEqual(["ferry work-pool provision-infra p"]);
    expect(screen.getByRole("button", { name: "Copy" })).toBeTruthy();
  });

  it("tells the user to copy by hand when neither the clipboard nor the copy command works", async () => {
    setClipboard(() => Promise.reject(new Error("denied")));
    render(<CopyButton text="secret-free text" />);
    fireEvent.click(screen.getByRole("button", { name: "Copy" }));
    expect(await screen.findByText(/select the text and copy it by hand/)).toBeTruthy();
    // The fallback's hidden textarea does not stay behind.
    expect(document.querySelectorAll("textarea")).toHaveLength(0);
  });
});

describe("ConfirmDialog", () => {
  it("is an alertdialog that confirms with the named button and shows the API's refusal", async () => {
    const confirmed: number[] = [];
    const closes: boolean[] = [];
    const { rerender } = render(
      <ConfirmDialog
        open
        onOpenChange={(open) => closes.push(open)}
        title="Delete work pool 'p'?"
        description="Its runs are kept."
        confirmLabel="Delete"
        onConfirm={() => confirmed.push(1)}
      />,
    );
    const dialog = screen.getByRole("alertdialog", { name: "Delete work pool 'p'?" });
    // The backing-out button has focus first, so Enter does not destroy anything.
    expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }));
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(confirmed).toEqual([1]);

    rerender(
      <ConfirmDialog
        open
        onOpenChange={(open) => closes.push(open)}
        title="Delete work pool 'p'?"
        description="Its runs are kept."
        confirmLabel="Delete"
        onConfirm={() => confirmed.push(1)}
        error={new FerryError("conflict", "work pool 'p' is used by 2 deployments; delete them first")}
      />,
    );
    expect(within(screen.getByRole("alertdialog")).getByRole("alert").textContent).toBe("work pool 'p' is used by 2 deployments; delete them first");
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(closes).toEqual([false]);
  });

  it("takes other labels, as the run page's cancel confirmation needs", () => {
    render(
      <ConfirmDialog open onOpenChange={() => {}} title="Cancel this run?" description="It stops." confirmLabel="Cancel the run" cancelLabel="Keep running" onConfirm={() => {}} />,
    );
    expect(screen.getByRole("button", { name: "Cancel the run" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Keep running" })).toBeTruthy();
  });
});

describe("StateBadge", () => {
  it("has a tone for every state type", () => {
    for (const type of STATE_TYPES) expect(STATE_TONES[type]).toMatch(/bg-.*text-/);
    expect(new Set(Object.values(STATE_TONES)).size).toBe(STATE_TYPES.length);
  });

  it("shows the state's name in words and carries the test id", () => {
    expect(stateLabel("Running")).toBe("Running");
    expect(stateLabel("AwaitingConcurrencySlot")).toBe("Awaiting concurrency slot");
    expect(stateLabel("TimedOut")).toBe("Timed out");
    render(<StateBadge state={{ type: "CANCELLED", name: "Cancelled" }} testId="run-state" />);
    const badge = screen.getByTestId("run-state");
    expect(badge.textContent).toBe("Cancelled");
    expect(badge.className).toContain(STATE_TONES.CANCELLED.split(" ")[0]);
  });
});
