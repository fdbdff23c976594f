// The architecture, checked: `npm run check:architecture` (part of `npm run lint`) fails when an import
// crosses a line the layout draws. Tests are held to the same rules as the code they sit beside; only
// packages/e2e may import everything. Cloud names in the code itself are checked by
// scripts/check-architecture.mjs, which runs this first.

/** Workspace folders whose code is cloud-neutral: they reach a cloud only through the plugin loaders. */
const HOSTS = "^(packages/(core|server|client-node|managed-runner|engine|provider-kit)|apps/[^/]+|bench)/";
/** A provider package (a cloud's translator) or a cloud's local wire-protocol server. */
const CLOUD_PACKAGES = "^packages/(provider-(?!kit/)[^/]+|[a-z0-9]+-local)/";
/** The clouds' SDKs, by npm scope or name. */
const CLOUD_SDKS = "node_modules/(@aws-sdk|@smithy|@kubernetes|@google-cloud|@googleapis|google-auth-library|@azure|@microsoft/microsoft-graph-client|modal)/";
/** What core may use besides its own files: pure libraries (schemas, validation, YAML, ids, SSE parsing). */
const CORE_LIBRARIES = "node_modules/(@sinclair/typebox|ajv|ajv-formats|croner|eventsource-parser|re2js|rrule|uuid|yaml)/";
const TESTS = "(\\.test\\.ts$|/test/|/e2e/|/testing/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "core owns the domain: it imports its own files and pure libraries only (its test doubles may use node: and vitest)",
      severity: "error",
      from: { path: "^packages/core/src/", pathNot: TESTS },
      to: { pathNot: ["^packages/core/", CORE_LIBRARIES] },
    },
    {
      name: "core-tests-stay-in-core",
      comment: "core's tests and test doubles use core, node: built-ins, vitest and core's own libraries, nothing of Ferry's other packages",
      severity: "error",
      from: { path: `^packages/core/src/.*${TESTS}` },
      to: { dependencyTypesNot: ["core"], pathNot: ["^packages/core/", CORE_LIBRARIES, "node_modules/(vitest|@vitest)/"] },
    },
    {
      name: "no-cloud-in-hosts",
      comment:
        "the server, the clients, core and the kit never import a provider package, a cloud's local server or a cloud SDK: providers are loaded by name from configuration (FERRY_PROVIDERS)",
      severity: "error",
      from: { path: HOSTS },
      to: { path: [CLOUD_PACKAGES, CLOUD_SDKS] },
    },
    {
      name: "providers-do-not-import-the-server",
      comment: "a provider translates between core's contracts and its cloud; it never reaches into the server",
      severity: "error",
      from: { path: CLOUD_PACKAGES },
      to: { path: "^packages/server/" },
    },
    {
      name: "providers-do-not-import-each-other",
      comment: "each cloud is its own package: what two providers share belongs in provider-kit",
      severity: "error",
      from: { path: "^packages/provider-(?!kit/)([^/]+)/" },
      to: { path: "^packages/provider-(?!kit/)[^/]+/", pathNot: "^packages/provider-$1/" },
    },
    {
      name: "apps-do-not-import-apps",
      comment: "an app is a leaf: what two apps share belongs in a package (client-node, core)",
      severity: "error",
      from: { path: "^apps/([^/]+)/" },
      to: { path: "^apps/[^/]+/", pathNot: "^apps/$1/" },
    },
    {
      name: "nothing-imports-e2e",
      comment: "packages/e2e may import everything; nothing imports it",
      severity: "error",
      from: { pathNot: "^packages/e2e/" },
      to: { path: "^packages/e2e/" },
    },
    {
      name: "resolvable",
      comment: "an import that cannot be resolved cannot be checked: build first (npm run build), or fix the import",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Neither node_modules nor dist is excluded: an import of a library, an SDK or another workspace
    // package (resolved through its exports into its dist/) must still be seen, or no rule could fire.
    // They are not followed; scripts/check-architecture.mjs cruises the source folders only.
    doNotFollow: { path: ["node_modules", "(^|/)dist/"] },
    exclude: { path: "(^|/)(\\.turbo|coverage|test-results)/" },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "types", "default", "node"],
      mainFields: ["module", "main", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".d.ts", ".json"],
    },
    tsConfig: { fileName: "tsconfig.base.json" },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
