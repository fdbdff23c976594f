import { AwsError } from "../aws-error.js";
import { JsonInput } from "../json-input.js";
import type { JsonService, ServiceContext } from "../service.js";
import type { AwsLocalState, LogGroup, LogStream } from "../state.js";

const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const DEFAULT_LIMIT = 10_000;

const groupNotFound = (): AwsError => new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
const streamNotFound = (): AwsError => new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");

export function findLogGroup(state: AwsLocalState, region: string, name: string): LogGroup | undefined {
  return state.region(region).logs.groups[name];
}

export function createLogGroup(state: AwsLocalState, region: string, accountId: string, name: string, now: number, tags: Record<string, string> = {}): LogGroup {
  const groups = state.region(region).logs.groups;
  if (groups[name] !== undefined) throw new AwsError("ResourceAlreadyExistsException", "The specified log group already exists");
  const group: LogGroup = { name, arn: `arn:aws:logs:${region}:${accountId}:log-group:${name}`, creationTime: now, tags, streams: {} };
  groups[name] = group;
  return group;
}

export function createLogStream(group: LogGroup, name: string, now: number): LogStream {
  if (group.streams[name] !== undefined) throw new AwsError("ResourceAlreadyExistsException", "The specified log stream already exists");
  const stream: LogStream = { name, creationTime: now, events: [] };
  group.streams[name] = stream;
  return stream;
}

function group(ctx: ServiceContext, input: JsonInput): LogGroup {
  const name = input.string("logGroupName") ?? input.string("logGroupIdentifier")?.replace(/^arn:aws:logs:[^:]*:[^:]*:log-group:/, "").replace(/:\*$/, "");
  if (name === undefined) throw new AwsError("InvalidParameterException", "Either logGroupName or logGroupIdentifier must be specified");
  const found = findLogGroup(ctx.state, ctx.region, name);
  if (found === undefined) throw groupNotFound();
  return found;
}

function stream(group: LogGroup, name: string): LogStream {
  const found = group.streams[name];
  if (found === undefined) throw streamNotFound();
  return found;
}

function groupJson(g: LogGroup): Record<string, unknown> {
  return { logGroupName: g.name, creationTime: g.creationTime, retentionInDays: g.retentionInDays, metricFilterCount: 0, arn: `${g.arn}:*`, logGroupArn: g.arn, storedBytes: storedBytes(g), logGroupClass: "STANDARD" };
}

function storedBytes(g: LogGroup): number {
  return Object.values(g.streams).reduce((sum, s) => sum + s.events.reduce((n, e) => n + Buffer.byteLength(e.message), 0), 0);
}

/**
 * GetLogEvents' paging: a forward token `f/<i>` reads from event i on, a backward token `b/<j>`
 * reads the events before j. At the end of a stream the forward token comes back unchanged, which is
 * how a follower knows to wait.
 */
export function readLogEvents(events: LogStream["events"], options: { nextToken?: string; startFromHead?: boolean; limit?: number; startTime?: number; endTime?: number }) {
  const inRange = events.filter((e) => (options.startTime === undefined || e.timestamp >= options.startTime) && (options.endTime === undefined || e.timestamp < options.endTime));
  const limit = Math.min(options.limit ?? DEFAULT_LIMIT, DEFAULT_LIMIT);
  const token = /^([fb])\/(\d+)$/.exec(options.nextToken ?? "");
  if (options.nextToken !== undefined && token === null) throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
  const forward = token !== null ? token[1] === "f" : options.startFromHead === true;
  if (forward) {
    const start = Math.min(token !== null ? Number(token[2]) : 0, inRange.length);
    const page = inRange.slice(start, start + limit);
    return { events: page, nextForwardToken: `f/${start + page.length}`, nextBackwardToken: `b/${start}` };
  }
  const end = Math.min(token !== null ? Number(token[2]) : inRange.length, inRange.length);
  const start = Math.max(0, end - limit);
  return { events: inRange.slice(start, end), nextForwardToken: `f/${end}`, nextBackwardToken: `b/${start}` };
}

export const logsService: JsonService = {
  protocol: "json",
  signingName: "logs",
  targetPrefix: "Logs_20140328",
  operations: {
    CreateLogGroup(ctx, body) {
      const input = new JsonInput(body);
      createLogGroup(ctx.state, ctx.region, ctx.accountId, input.required("logGroupName"), ctx.now().getTime(), input.tags());
      return {};
    },
    DescribeLogGroups(ctx, body) {
      const input = new JsonInput(body);
      const prefix = input.string("logGroupNamePrefix") ?? "";
      const pattern = input.string("logGroupNamePattern");
      const groups = Object.values(ctx.state.region(ctx.region).logs.groups)
        .filter((g) => g.name.startsWith(prefix) && (pattern === undefined || g.name.toLowerCase().includes(pattern.toLowerCase())))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { logGroups: groups.map(groupJson) };
    },
    DeleteLogGroup(ctx, body) {
      const g = group(ctx, new JsonInput(body));
      delete ctx.state.region(ctx.region).logs.groups[g.name];
      return {};
    },
    PutRetentionPolicy(ctx, body) {
      const input = new JsonInput(body);
      const g = group(ctx, input);
      const days = input.number("retentionInDays");
      if (days === undefined || !RETENTION_DAYS.includes(days)) throw new AwsError("InvalidParameterException", `1 validation error detected: Value '${String(days)}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`);
      g.retentionInDays = days;
      return {};
    },
    DeleteRetentionPolicy(ctx, body) {
      delete group(ctx, new JsonInput(body)).retentionInDays;
      return {};
    },
    CreateLogStream(ctx, body) {
      const input = new JsonInput(body);
      createLogStream(group(ctx, input), input.required("logStreamName"), ctx.now().getTime());
      return {};
    },
    DescribeLogStreams(ctx, body) {
      const input = new JsonInput(body);
      const g = group(ctx, input);
      const prefix = input.string("logStreamNamePrefix") ?? "";
      let streams = Object.values(g.streams).filter((s) => s.name.startsWith(prefix));
      if (input.string("orderBy") === "LastEventTime") streams.sort((a, b) => (a.events.at(-1)?.timestamp ?? 0) - (b.events.at(-1)?.timestamp ?? 0));
      else streams.sort((a, b) => a.name.localeCompare(b.name));
      if (input.boolean("descending") === true) streams = streams.reverse();
      return {
        logStreams: streams.map((s) => ({
          logStreamName: s.name,
          creationTime: s.creationTime,
          firstEventTimestamp: s.events[0]?.timestamp,
          lastEventTimestamp: s.events.at(-1)?.timestamp,
          lastIngestionTime: s.events.at(-1)?.ingestionTime,
          arn: `${g.arn}:log-stream:${s.name}`,
          storedBytes: 0,
        })),
      };
    },
    PutLogEvents(ctx, body) {
      const input = new JsonInput(body);
      const s = stream(group(ctx, input), input.required("logStreamName"));
      const now = ctx.now().getTime();
      const events = (body.logEvents as { timestamp: number; message: string }[] | undefined) ?? [];
      s.events.push(...events.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: now })));
      s.events.sort((a, b) => a.timestamp - b.timestamp);
      return { nextSequenceToken: String(s.events.length) };
    },
    GetLogEvents(ctx, body) {
      const input = new JsonInput(body);
      const s = stream(group(ctx, input), input.required("logStreamName"));
      return readLogEvents(s.events, { nextToken: input.string("nextToken"), startFromHead: input.boolean("startFromHead"), limit: input.number("limit"), startTime: input.number("startTime"), endTime: input.number("endTime") });
    },
    FilterLogEvents(ctx, body) {
      const input = new JsonInput(body);
      const g = group(ctx, input);
      const names = input.strings("logStreamNames");
      const prefix = input.string("logStreamNamePrefix") ?? "";
      const pattern = (input.string("filterPattern") ?? "").replace(/^"(.*)"$/, "$1");
      const startTime = input.number("startTime");
      const endTime = input.number("endTime");
      const all = Object.values(g.streams)
        .filter((s) => (names.length === 0 || names.includes(s.name)) && s.name.startsWith(prefix))
        .flatMap((s) => s.events.map((e, i) => ({ logStreamName: s.name, ...e, eventId: `${s.name}/${i}` })))
        .filter((e) => (startTime === undefined || e.timestamp >= startTime) && (endTime === undefined || e.timestamp <= endTime) && e.message.includes(pattern))
        .sort((a, b) => a.timestamp - b.timestamp);
      const start = Number(input.string("nextToken") ?? "0");
      const limit = input.number("limit") ?? DEFAULT_LIMIT;
      const page = all.slice(start, start + limit);
      return { events: page, nextToken: start + page.length < all.length ? String(start + page.length) : undefined, searchedLogStreams: [] };
    },
  },
};
