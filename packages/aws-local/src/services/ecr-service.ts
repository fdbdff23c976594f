import { AwsError } from "../aws-error.js";
import { JsonInput } from "../json-input.js";
import type { JsonService, ServiceContext } from "../service.js";
import type { EcrRepository } from "../state.js";

export interface EcrServiceOptions {
  /** Where GetAuthorizationToken's `proxyEndpoint` points and repository URIs live; null: AWS-shaped names. */
  registryUrl: string | null;
  /** The password in the token (`AWS:<password>`, base64). */
  registryPassword: string;
}

const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

function registryHost(ctx: ServiceContext, options: EcrServiceOptions): string {
  return options.registryUrl === null ? `${ctx.accountId}.dkr.ecr.${ctx.region}.amazonaws.com` : new URL(options.registryUrl).host;
}

function repositoryJson(ctx: ServiceContext, r: EcrRepository): Record<string, unknown> {
  return {
    repositoryArn: r.arn,
    registryId: ctx.accountId,
    repositoryName: r.name,
    repositoryUri: r.uri,
    createdAt: r.createdAt / 1000,
    imageTagMutability: r.imageTagMutability,
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { encryptionType: "AES256" },
  };
}

function repositoryByArn(ctx: ServiceContext, arn: string): EcrRepository {
  const repository = Object.values(ctx.state.region(ctx.region).ecr.repositories).find((r) => r.arn === arn);
  if (!repository) throw new AwsError("RepositoryNotFoundException", `The repository with ARN '${arn}' does not exist in the registry with id '${ctx.accountId}'`);
  return repository;
}

const notFound = (ctx: ServiceContext, name: string): AwsError => new AwsError("RepositoryNotFoundException", `The repository with name '${name}' does not exist in the registry with id '${ctx.accountId}'`);

export function createEcrService(options: EcrServiceOptions): JsonService {
  return {
    protocol: "json",
    signingName: "ecr",
    targetPrefix: "AmazonEC2ContainerRegistry_V20150921",
    operations: {
      CreateRepository(ctx, body) {
        const input = new JsonInput(body);
        const name = input.required("repositoryName");
        if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name)) throw new AwsError("InvalidParameterException", `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '${REPOSITORY_NAME.source}''`);
        const repositories = ctx.state.region(ctx.region).ecr.repositories;
        if (repositories[name] !== undefined) throw new AwsError("RepositoryAlreadyExistsException", `The repository with name '${name}' already exists in the registry with id '${ctx.accountId}'`);
        const scanning = body.imageScanningConfiguration as { scanOnPush?: boolean } | undefined;
        const repository: EcrRepository = {
          name,
          arn: `arn:aws:ecr:${ctx.region}:${ctx.accountId}:repository/${name}`,
          uri: `${registryHost(ctx, options)}/${name}`,
          createdAt: ctx.now().getTime(),
          imageTagMutability: input.string("imageTagMutability") ?? "MUTABLE",
          scanOnPush: scanning?.scanOnPush ?? false,
          tags: input.tags(),
        };
        repositories[name] = repository;
        return { repository: repositoryJson(ctx, repository) };
      },
      DescribeRepositories(ctx, body) {
        const input = new JsonInput(body);
        const repositories = ctx.state.region(ctx.region).ecr.repositories;
        const names = input.strings("repositoryNames");
        for (const name of names) if (repositories[name] === undefined) throw notFound(ctx, name);
        const chosen = names.length > 0 ? names.map((n) => repositories[n]!) : Object.values(repositories);
        return { repositories: chosen.map((r) => repositoryJson(ctx, r)) };
      },
      DeleteRepository(ctx, body) {
        const name = new JsonInput(body).required("repositoryName");
        const repositories = ctx.state.region(ctx.region).ecr.repositories;
        const repository = repositories[name];
        if (repository === undefined) throw notFound(ctx, name);
        delete repositories[name];
        return { repository: repositoryJson(ctx, repository) };
      },
      TagResource(ctx, body) {
        const input = new JsonInput(body);
        Object.assign(repositoryByArn(ctx, input.required("resourceArn")).tags, input.tags());
        return {};
      },
      UntagResource(ctx, body) {
        const input = new JsonInput(body);
        const repository = repositoryByArn(ctx, input.required("resourceArn"));
        for (const key of input.strings("tagKeys")) delete repository.tags[key];
        return {};
      },
      ListTagsForResource(ctx, body) {
        const repository = repositoryByArn(ctx, new JsonInput(body).required("resourceArn"));
        // ECR's tags are {Key, Value} with capitalised names, unlike ECS's {key, value}.
        return { tags: Object.entries(repository.tags).map(([Key, Value]) => ({ Key, Value })) };
      },
      GetAuthorizationToken(ctx) {
        const proxyEndpoint = options.registryUrl ?? `https://${registryHost(ctx, options)}`;
        const expiresAt = ctx.now().getTime() / 1000 + 12 * 3600;
        return { authorizationData: [{ authorizationToken: Buffer.from(`AWS:${options.registryPassword}`).toString("base64"), expiresAt, proxyEndpoint }] };
      },
    },
  };
}
