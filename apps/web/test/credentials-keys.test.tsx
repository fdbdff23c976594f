import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, json, now, renderApp } from "./app-harness.js";
import { fixtures } from "./fixtures/schemas.js";

const schemaOf = (source: string) => fixtures.credentialTypes.find((f) => f.source.includes(source))!.schema;
const credentialTypes = [
  { type: "git", description: "A token for a private git repository", schema: schemaOf("GIT"), secret_fields: ["token"] },
  {
    type: "acme",
    description: "Acme access keys",
    schema: {
      type: "object",
      required: ["access_key_id", "secret_access_key"],
      properties: { access_key_id: { type: "string", minLength: 1 }, secret_access_key: { type: "string", minLength: 1, "x-ferry-secret": true } },
    },
    secret_fields: ["secret_access_key"],
  },
];
const SECRET = "ghp_s3cr3t_value_123";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe("credentials", () => {
  it("creates credentials from the type's schema with the secret as a password input, and never shows it", async () => {
    const stored: Array<{ name: string; type: string; data: Record<string, unknown> }> = [];
    const { requests } = await renderApp("/credentials", (route, body) => {
      if (route === "GET /api/credential-types") return json(200, { items: credentialTypes });
      if (route === "GET /api/credentials")
        return json(200, {
          items: stored.map((c, i) => ({ id: `c${i}`, name: c.name, type: c.type, data: { ...c.data, token: "********" }, secret_fields: ["token"], created_at: now, updated_at: now })),
        });
      if (route === "POST /api/credentials") {
        stored.push(body as (typeof stored)[number]);
        return json(201, { id: "c0", ...(body as object), data: { token: "********" }, secret_fields: ["token"], created_at: now, updated_at: now });
      }
      if (route === "DELETE /api/credentials/repo") return apiError(409, "conflict", "credentials 'repo' are used by deployment etl/nightly; change its source first");
    });
    expect(await screen.findByText("No credentials yet")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "New credentials" }));
    const dialog = await screen.findByRole("dialog", { name: "New credentials" });
    await userEvent.type(await within(dialog).findByLabelText("Name"), "repo");
    expect((within(dialog).getByLabelText("Type") as HTMLSelectElement).value).toBe("git");
    const token = within(dialog).getByLabelText(/^token/);
    expect(token.getAttribute("type")).toBe("password");
    await userEvent.type(token, SECRET);
    await userEvent.click(within(dialog).getByRole("button", { name: "Save credentials" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(requests.find((r) => r.route === "POST /api/credentials")!.body).toEqual({ name: "repo", type: "git", data: { token: SECRET } });

    const table = await screen.findByRole("table", { name: "Credentials" });
    expect(within(table).getByText("repo")).toBeTruthy();
    expect(document.body.innerHTML).not.toContain(SECRET);

    await userEvent.click(within(table).getByRole("button", { name: "Delete repo" }));
    const confirm = await screen.findByRole("alertdialog");
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    expect((await within(confirm).findByRole("alert")).textContent).toMatch(/used by deployment etl\/nightly/);
  });

  it("switching the type shows that type's fields", async () => {
    await renderApp("/credentials", (route) => {
      if (route === "GET /api/credential-types") return json(200, { items: credentialTypes });
      if (route === "GET /api/credentials") return json(200, { items: [] });
    });
    await userEvent.click(await screen.findByRole("button", { name: "New credentials" }));
    const dialog = await screen.findByRole("dialog", { name: "New credentials" });
    await userEvent.selectOptions(await within(dialog).findByLabelText("Type"), "acme");
    expect(within(dialog).queryByLabelText(/^token/)).toBeNull();
    expect(within(dialog).getByLabelText(/^secret_access_key/).getAttribute("type")).toBe("password");
  });
});

describe("API keys", () => {
  it("shows a new key once, read-only with Copy, and the API's refusal to delete the last key", async () => {
    const items = [{ id: "k1", name: "first", prefix: "fk_abc", created_at: now, last_used_at: null }];
    await renderApp("/api-keys", (route, body) => {
      if (route === "GET /api/api-keys") return json(200, { items });
      if (route === "POST /api/api-keys") {
        const created = { id: "k2", name: (body as { name: string }).name, prefix: "fk_new", created_at: now, last_used_at: null };
        items.push(created);
        return json(201, { ...created, key: "fk_new_full_key_value", workspace_id: "w" });
      }
      if (route === "DELETE /api/api-keys/k1") return apiError(409, "conflict", "this is the workspace's last API key; create another before deleting it");
    });
    const table = await screen.findByRole("table", { name: "API keys" });
    expect(within(table).getByText("Never")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "New API key" }));
    const dialog = await screen.findByRole("dialog", { name: "New API key" });
    await userEvent.type(within(dialog).getByLabelText("Name"), "ci");
    await userEvent.click(within(dialog).getByRole("button", { name: "Create API key" }));
    const shown = (await within(dialog).findByLabelText("New API key")) as HTMLInputElement;
    expect(shown.value).toBe("fk_new_full_key_value");
    expect(shown.readOnly).toBe(true);
    expect(within(dialog).getByText(/will not be shown again/)).toBeTruthy();
    expect(within(dialog).getByRole("button", { name: "Copy" })).toBeTruthy();
    await userEvent.click(within(dialog).getByRole("button", { name: "Done" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(document.body.innerHTML).not.toContain("fk_new_full_key_value");
    await screen.findByText("ci");

    await userEvent.click(screen.getByRole("button", { name: "Delete first" }));
    const confirm = await screen.findByRole("alertdialog");
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    expect((await within(confirm).findByRole("alert")).textContent).toBe("this is the workspace's last API key; create another before deleting it");
  });
});
