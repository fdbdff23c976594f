/**
 * A pool's base job template keeps its defaults inside the variables' JSON Schema
 * (`properties.<name>.default`); the pool page edits those defaults as a form and writes them back.
 */
export type VariablesSchema = Record<string, unknown>;

function propertiesOf(schema: VariablesSchema): Record<string, Record<string, unknown>> {
  const properties = schema.properties;
  return typeof properties === "object" && properties !== null ? (properties as Record<string, Record<string, unknown>>) : {};
}

/** Variables whose values are secret (`format: password` or `writeOnly`): never shown back in a form. */
export function secretVariables(schema: object): string[] {
  return Object.entries(propertiesOf(schema as VariablesSchema))
    .filter(([, property]) => property.format === "password" || property.writeOnly === true)
    .map(([name]) => name);
}

/** A copy of the schema with the given defaults set; `undefined` removes a default. Other keys untouched. */
export function withDefaults<S extends object>(schema: S, defaults: Record<string, unknown>): S {
  const properties = { ...propertiesOf(schema as VariablesSchema) };
  for (const [name, value] of Object.entries(defaults)) {
    const property = properties[name];
    if (!property) continue;
    const next = { ...property };
    if (value === undefined) delete next.default;
    else next.default = value;
    properties[name] = next;
  }
  return { ...schema, properties };
}

/** The form's starting value: the defaults, without secret ones. */
export function withoutSecrets(value: Record<string, unknown>, secrets: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => !secrets.includes(name)));
}

/** The exact CLI command that provisions a push pool's infrastructure (it runs where cloud credentials are). */
export function provisionCommand(poolName: string): string {
  return `ferry work-pool provision-infra ${poolName}`;
}
