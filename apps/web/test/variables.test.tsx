import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { json, now, renderApp } from "./app-harness.js";

const SECRET = "s3cr3t-token-value-42";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe("variables and secrets", () => {
  it("sets a variable and a secret (a password input, never shown again), lists them and deletes one", async () => {
    const variables = new Map<string, string>();
    const secrets = new Set<string>();
    const { requests } = await renderApp("/variables", (route, body) => {
      if (route === "GET /api/variables") return json(200, { items: [...variables].map(([name, value]) => ({ name, value, created_at: now, updated_at: now })), next_cursor: null });
      if (route === "GET /api/secrets") return json(200, { items: [...secrets].map((name) => ({ name, created_at: now, updated_at: now })), next_cursor: null });
      const put = /^PUT \/api\/(variables|secrets)\/(.+)$/.exec(route);
      if (put) {
        const name = decodeURIComponent(put[2]!);
        if (put[1] === "variables") variables.set(name, (body as { value: string }).value);
        else secrets.add(name);
        return json(200, { name, ...(put[1] === "variables" ? { value: (body as { value: string }).value } : {}), created_at: now, updated_at: now });
      }
      if (route === "DELETE /api/variables/region") {
        variables.delete("region");
        return json(200, { deleted: true });
      }
    });
    expect(await screen.findByText("No variables yet")).toBeTruthy();
    expect(await screen.findByText("No secrets yet")).toBeTruthy();

    const varForm = screen.getByRole("form", { name: "Set a variable" });
    await userEvent.type(within(varForm).getByLabelText("Variable name"), "region");
    await userEvent.type(within(varForm).getByLabelText("Variable value"), "eu-west-1");
    await userEvent.click(within(varForm).getByRole("button", { name: "Set variable" }));
    const varTable = await screen.findByRole("table", { name: "Variables" });
    expect(within(varTable).getByText("eu-west-1")).toBeTruthy();

    const secretForm = screen.getByRole("form", { name: "Set a secret" });
    const value = within(secretForm).getByLabelText("Secret value");
    expect(value.getAttribute("type")).toBe("password");
    await userEvent.type(within(secretForm).getByLabelText("Secret name"), "api_token");
    await userEvent.type(value, SECRET);
    await userEvent.click(within(secretForm).getByRole("button", { name: "Set secret" }));
    const secretTable = await screen.findByRole("table", { name: "Secrets" });
    expect(within(secretTable).getByText("api_token")).toBeTruthy();
    expect(requests.find((r) => r.route === "PUT /api/secrets/api_token")!.body).toEqual({ value: SECRET });
    // Sent once, then gone from the page (the form is reset, the list has names only).
    await waitFor(() => expect(document.body.innerHTML).not.toContain(SECRET));

    await userEvent.type(within(secretForm).getByLabelText("Secret name"), "bad name");
    await userEvent.click(within(secretForm).getByRole("button", { name: "Set secret" }));
    expect(await within(secretForm).findByText(/Letters, digits/)).toBeTruthy();

    await userEvent.click(within(varTable).getByRole("button", { name: "Delete variable region" }));
    const confirm = await screen.findByRole("alertdialog");
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("No variables yet")).toBeTruthy();
  });
});
