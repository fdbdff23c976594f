import { AwsError } from "../aws-error.js";
import type { QueryService } from "../service.js";

export const stsService: QueryService = {
  protocol: "query",
  signingName: "sts",
  xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
  missingParameter: (name) => new AwsError("MissingParameter", `The request must contain the parameter ${name}`),
  operations: {
    GetCallerIdentity: (ctx) => ({ UserId: ctx.principal.userId, Account: ctx.accountId, Arn: ctx.principal.arn }),
  },
};
