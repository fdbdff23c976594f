/** What discovery gives back for each function; `entrypoints.ts` re-exports these as the public types. */

export interface DiscoveredFunction {
  /** What goes after the `:` of the entrypoint (`default` for a default export). */
  name: string;
  /** 0-based line of the `def` (after any decorators) or of the statement that declares the function. */
  line: number;
  async: boolean;
  /**
   * The names a run's parameters can set. Python: the parameters that can be passed by keyword (not
   * `*args`, `**kwargs` or positional-only ones). JavaScript/TypeScript: the keys of the one parameters
   * object, when the signature shows them (a destructuring pattern or an inline object type); empty otherwise.
   */
  parameters: string[];
  /** Marked as a flow: a Python `@flow` / `@prefect.flow` decorator. Ferry needs no marker, so false when none. */
  flow: boolean;
  /**
   * A JSON Schema of the parameters object a run passes, from the signature's annotations and literal
   * defaults; null when the signature does not show it (a JavaScript parameter without a type, or a
   * TypeScript one typed by a name this file does not declare). Python: `additionalProperties: false`
   * unless the function takes `**kwargs`, since Python refuses unknown keywords. JavaScript/TypeScript:
   * extra keys are left allowed. Each property has a `title` (its name) and a `default` when the source's
   * default is a literal that fits the property's schema.
   */
  parameterSchema: ParameterSchema | null;
}

/** The JSON Schema of a flow's parameters object. */
export type ParameterSchema = {
  type: "object";
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties?: false;
};
