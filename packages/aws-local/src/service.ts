import type { AwsError } from "./aws-error.js";
import type { QueryInput } from "./query-input.js";
import type { AwsLocalState } from "./state.js";
import type { XmlObject } from "./xml.js";

/** Who signed a request: the configured root key, or an access key of an IAM user made here. */
export interface Principal {
  accessKeyId: string;
  /** null for the root key. */
  userName: string | null;
  arn: string;
  userId: string;
}

export interface ServiceContext {
  region: string;
  accountId: string;
  principal: Principal;
  state: AwsLocalState;
  now(): Date;
}

export type JsonOperation = (ctx: ServiceContext, input: Record<string, unknown>) => unknown;
export type QueryOperation = (ctx: ServiceContext, input: QueryInput) => XmlObject | undefined;

export interface JsonService {
  protocol: "json";
  /** The SigV4 signing name, which routes the request. */
  signingName: string;
  /** `X-Amz-Target` is `<targetPrefix>.<Operation>`. */
  targetPrefix: string;
  operations: Record<string, JsonOperation>;
}

export interface QueryService {
  protocol: "query" | "ec2";
  signingName: string;
  xmlns: string;
  /** The error a request without a required parameter gets. */
  missingParameter(name: string): AwsError;
  operations: Record<string, QueryOperation>;
}

export type AwsService = JsonService | QueryService;

/** `{ k: "v" }` ↔ AWS's `[{ Key: "k", Value: "v" }]`. */
export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
