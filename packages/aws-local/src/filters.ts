import { AwsError } from "./aws-error.js";
import type { Tags } from "./state.js";

/** One `Filter.N` of an EC2 Describe call. */
export interface Ec2Filter {
  name: string;
  values: string[];
}

/**
 * The values a resource has for a filter name, or undefined when the resource type has no such filter.
 * Tag filters (`tag:<key>`, `tag-key`) are shared by every resource type.
 */
export type FilterValues<T> = (resource: T, name: string) => string[] | undefined;

function glob(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

function tagValues(tags: Tags, name: string): string[] | undefined {
  if (name.startsWith("tag:")) {
    const value = tags[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  if (name === "tag-key") return Object.keys(tags);
  if (name === "tag-value") return Object.values(tags);
  return undefined;
}

/** Keeps the resources that match every filter (one of its values each), as EC2 does. */
export function applyFilters<T extends { tags: Tags }>(resources: T[], filters: Ec2Filter[], valuesOf: FilterValues<T>): T[] {
  return resources.filter((resource) =>
    filters.every((filter) => {
      const values = tagValues(resource.tags, filter.name) ?? valuesOf(resource, filter.name);
      if (values === undefined) throw new AwsError("InvalidParameterValue", `The filter '${filter.name}' is invalid`);
      const patterns = filter.values.map(glob);
      return values.some((v) => patterns.some((p) => p.test(v)));
    }),
  );
}
