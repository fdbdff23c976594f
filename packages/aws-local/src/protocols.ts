import type { AwsError } from "./aws-error.js";
import { escapeXml, writeXml, type XmlObject } from "./xml.js";

/** The three wire protocols the served APIs use. */
export type WireProtocol = "json" | "query" | "ec2";

export interface EncodedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** JSON 1.1 (ECS, ECR, CloudWatch Logs): the output object as is. */
export function encodeJsonResult(output: unknown, requestId: string): EncodedResponse {
  return { status: 200, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId }, body: JSON.stringify(output ?? {}) };
}

/** JSON 1.1 errors: `__type` names the error; the SDK also reads `x-amzn-errortype`. */
export function encodeJsonError(error: AwsError, requestId: string): EncodedResponse {
  return {
    status: error.status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId, "x-amzn-errortype": error.code },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** Query protocol (IAM, STS): `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…`. */
export function encodeQueryResult(operation: string, xmlns: string, output: XmlObject | undefined, requestId: string): EncodedResponse {
  const result = output === undefined ? "" : `<${operation}Result>${writeXml(output, "member")}</${operation}Result>`;
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${xmlns}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
  return { status: 200, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body };
}

export function encodeQueryError(error: AwsError, requestId: string): EncodedResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${error.fault}</Type><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body };
}

/** EC2: members directly under `<OpResponse>`, lists of `<item>`. */
export function encodeEc2Result(operation: string, xmlns: string, output: XmlObject | undefined, requestId: string): EncodedResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${xmlns}"><requestId>${requestId}</requestId>` +
    `${writeXml(output ?? {}, "item")}</${operation}Response>`;
  return { status: 200, headers: { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId }, body };
}

export function encodeEc2Error(error: AwsError, requestId: string): EncodedResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  return { status: error.status, headers: { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId }, body };
}

export function encodeError(protocol: WireProtocol, error: AwsError, requestId: string): EncodedResponse {
  if (protocol === "json") return encodeJsonError(error, requestId);
  if (protocol === "ec2") return encodeEc2Error(error, requestId);
  return encodeQueryError(error, requestId);
}
