import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, json, now, renderApp } from "./app-harness.js";
import { fixtures } from "./fixtures/schemas.js";

const variablesOf = (source: string) => fixtures.jobVariables.find((f) => f.source.includes(source))!.schema;
/** A push type's variables, as a provider package would give them (a neutral name: no cloud in this package's tests). */
const PUSH_VARIABLES = {
  type: "object",
  properties: { cluster: { type: "string", default: "default" }, cpu: { type: "integer", default: 256 }, env: { type: "object", additionalProperties: { type: "string" }, default: {} } },
};
const pool = (over: Record<string, unknown>) => ({
  id: "1a2b3c4d-0000-4000-8000-0000000000b1", name: "managed", type: "ferry:managed", description: null,
  base_job_template: { variables: variablesOf("MANAGED"), job_configuration: {} },
  concurrency_limit: null, paused: false, credentials: null, active_runs: 0, created_at: now, updated_at: now, ...over,
});
const types = [
  { type: "ferry:managed", description: "Ferry runs each flow run in a container.", managed: true, credentials_type: null, plugin: null,
    default_base_job_template: { variables: variablesOf("MANAGED"), job_configuration: {} } },
  { type: "acme:push", description: "Tasks in your Acme account.", managed: false, credentials_type: "acme", plugin: "@ferry/provider-acme",
    default_base_job_template: { variables: PUSH_VARIABLES, job_configuration: {} } },
];
const credentials = [
  { id: "c1", name: "prod-acme", type: "acme", data: { access_key_id: "AK…", secret_access_key: "********" }, secret_fields: ["secret_access_key"], created_at: now, updated_at: now },
  { id: "c2", name: "repo", type: "git", data: {}, secret_fields: [], created_at: now, updated_at: now },
];

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe("work pools list", () => {
  it("shows type, status and in use / limit; links each pool by name", async () => {
    await renderApp("/work-pools", (route) => {
      if (route === "GET /api/work-pools")
        return json(200, { items: [pool({ active_runs: 1, concurrency_limit: 3 }), pool({ id: "p2", name: "push-pool", type: "acme:push", paused: true })] });
    });
    const table = await screen.findByRole("table", { name: "Work pools" });
    const rows = within(table).getAllByRole("row").slice(1).map((row) => row.textContent);
    expect(rows).toEqual(["managedferry:managedReady1 / 3", "push-poolacme:pushPaused0 / unlimited"]);
    expect(within(table).getByRole("link", { name: "managed" }).getAttribute("href")).toBe("/work-pools/managed");
    expect(document.title).toBe("Work pools · Ferry");
  });

  it("pages through with Load more, showing how many of the total are shown", async () => {
    const all = Array.from({ length: 60 }, (_, i) => pool({ id: `p${i}`, name: `pool-${String(i).padStart(2, "0")}` }));
    const asked: string[] = [];
    await renderApp("/work-pools", (route, _body, url) => {
      if (route !== "GET /api/work-pools") return undefined;
      asked.push(url.search);
      const from = Number(url.searchParams.get("cursor") ?? 0);
      const limit = Number(url.searchParams.get("limit"));
      const next = from + limit < all.length ? String(from + limit) : null;
      return json(200, { items: all.slice(from, from + limit), next_cursor: next, ...(url.searchParams.has("include_total") ? { total: 60, total_is_estimate: false } : {}) });
    });
    const table = await screen.findByRole("table", { name: "Work pools" });
    expect(within(table).getAllByRole("row")).toHaveLength(51);
    expect(screen.getByText("Showing 50 of 60 work pools")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(61));
    expect(screen.getByText("Showing 60 of 60 work pools")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
    expect(asked).toEqual(["?limit=50&include_total=true", "?limit=50&cursor=50"]);
  });

  it("says when the total is an estimate", async () => {
    await renderApp("/work-pools", (route) => {
      if (route === "GET /api/work-pools") return json(200, { items: [pool({})], next_cursor: "more", total: 25_000, total_is_estimate: true });
    });
    expect(await screen.findByText("Showing 1 of about 25,000 work pools")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Load more" })).toBeTruthy();
  });

  it("creates a push pool with credentials of its type, and shows the API's refusal in the dialog", async () => {
    let refuse = true;
    const { router, requests } = await renderApp("/work-pools", (route, body) => {
      if (route === "GET /api/work-pools") return json(200, { items: [] });
      if (route === "GET /api/work-pool-types") return json(200, { items: types });
      if (route === "GET /api/credentials") return json(200, { items: credentials });
      if (route === "POST /api/work-pools") {
        if (refuse) {
          refuse = false;
          return apiError(409, "conflict", "work pool 'push-pool' already exists; pick another name");
        }
        return json(201, pool({ ...(body as object), id: "p9" }));
      }
      if (route === "GET /api/work-pools/push-pool") return json(200, pool({ name: "push-pool", type: "acme:push", credentials: "prod-acme", base_job_template: types[1]!.default_base_job_template }));
      if (route === "GET /api/flow-runs") return json(200, { items: [], next_cursor: null });
    });
    expect(await screen.findByText("No work pools yet")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "New work pool" }));
    const dialog = await screen.findByRole("dialog", { name: "New work pool" });
    await userEvent.type(await within(dialog).findByLabelText("Name"), "push-pool");
    await userEvent.selectOptions(within(dialog).getByLabelText("Type"), "acme:push");
    expect(within(dialog).getByText(/needs credentials of type acme/)).toBeTruthy();
    const creds = within(dialog).getByLabelText("Credentials");
    // Only credentials of the type's credentials_type are offered.
    expect(within(creds).getAllByRole("option").map((o) => o.textContent)).toEqual(["None", "prod-acme"]);
    await userEvent.selectOptions(creds, "prod-acme");
    await userEvent.type(within(dialog).getByLabelText("Concurrency limit"), "4");
    await userEvent.click(within(dialog).getByRole("button", { name: "Create work pool" }));
    expect((await within(dialog).findByRole("alert")).textContent).toBe("work pool 'push-pool' already exists; pick another name");
    await userEvent.click(within(dialog).getByRole("button", { name: "Create work pool" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/work-pools/push-pool"));
    expect(requests.filter((r) => r.route === "POST /api/work-pools").map((r) => r.body)).toEqual([
      { name: "push-pool", type: "acme:push", concurrency_limit: 4, credentials: "prod-acme" },
      { name: "push-pool", type: "acme:push", concurrency_limit: 4, credentials: "prod-acme" },
    ]);
    // A push pool's page gives the exact provisioning command.
    expect(await screen.findByRole("heading", { name: "push-pool" })).toBeTruthy();
    expect(screen.getByText("ferry work-pool provision-infra push-pool")).toBeTruthy();
  });
});

describe("a work pool's page", () => {
  it("saves changed variable defaults into the template and links a managed pool to Quota", async () => {
    let current = pool({});
    const { requests } = await renderApp("/work-pools/managed", (route, body) => {
      if (route === "GET /api/work-pools/managed") return json(200, current);
      if (route === "PATCH /api/work-pools/managed") {
        current = pool({ ...(body as object), updated_at: "2026-12-04T12:01:00Z" });
        return json(200, current);
      }
      if (route === "GET /api/work-pool-types") return json(200, { items: types });
      if (route === "GET /api/work-pools") return json(200, { items: [current] });
      if (route === "GET /api/flow-runs") return json(200, { items: [], next_cursor: null });
    });
    expect(await screen.findByRole("heading", { name: "managed" })).toBeTruthy();
    expect(within(screen.getByRole("main")).getByRole("link", { name: "Quota" }).getAttribute("href")).toBe("/quota");
    const image = screen.getByLabelText(/^image/) as HTMLInputElement;
    expect(image.value).toBe("ferry-engine:latest");
    await userEvent.clear(image);
    await userEvent.type(image, "ferry-engine:1.2");
    await userEvent.click(screen.getByRole("button", { name: "Save defaults" }));
    expect(await screen.findByText("Saved")).toBeTruthy();
    const patch = requests.find((r) => r.route === "PATCH /api/work-pools/managed")!.body as {
      base_job_template: { variables: { properties: Record<string, { default?: unknown }> } };
    };
    expect(Object.keys(patch)).toEqual(["base_job_template"]);
    expect(patch.base_job_template.variables.properties.image!.default).toBe("ferry-engine:1.2");
    expect(patch.base_job_template.variables.properties.pip_packages!.default).toEqual([]);

    await userEvent.click(screen.getByRole("button", { name: "Pause" }));
    await waitFor(() => expect(requests.filter((r) => r.route === "PATCH /api/work-pools/managed").at(-1)!.body).toEqual({ paused: true }));
  });

  it("shows the API's refusal when deleting a pool deployments use", async () => {
    await renderApp("/work-pools/managed", (route) => {
      if (route === "GET /api/work-pools/managed") return json(200, pool({}));
      if (route === "GET /api/work-pool-types") return json(200, { items: types });
      if (route === "GET /api/flow-runs") return json(200, { items: [], next_cursor: null });
      if (route === "DELETE /api/work-pools/managed") return apiError(409, "conflict", "work pool 'managed' is used by 1 deployment (etl/nightly); delete it first");
    });
    await userEvent.click(await screen.findByRole("button", { name: "Delete pool" }));
    const confirm = await screen.findByRole("alertdialog");
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    expect((await within(confirm).findByRole("alert")).textContent).toMatch(/is used by 1 deployment/);
  });
});
