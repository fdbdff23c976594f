import { AwsError } from "../aws-error.js";
import type { QueryInput } from "../query-input.js";
import { tagList, type QueryService, type ServiceContext } from "../service.js";
import { ids, type IamPolicy, type IamRole, type IamUser, type Tags } from "../state.js";
import type { XmlObject } from "../xml.js";

const noSuchEntity = (message: string): AwsError => new AwsError("NoSuchEntity", message, 404);
const alreadyExists = (message: string): AwsError => new AwsError("EntityAlreadyExists", message, 409);
const deleteConflict = (message: string): AwsError => new AwsError("DeleteConflict", message, 409);

/** Policies AWS manages (`arn:aws:iam::aws:policy/…`) exist in every account and can be attached. */
const AWS_MANAGED_POLICY = /^arn:aws:iam::aws:policy\/(?:.*\/)?([^/]+)$/;
const MAX_POLICY_VERSIONS = 5;
const MAX_ACCESS_KEYS = 2;

function tagsOf(input: QueryInput): Tags {
  return Object.fromEntries(input.objects("Tags").map((t) => [t.required("Key"), t.string("Value") ?? ""]));
}

function checkDocument(document: string): void {
  try {
    JSON.parse(document);
  } catch {
    throw new AwsError("MalformedPolicyDocument", "Syntax errors in policy.");
  }
}

/** IAM returns policy documents URL-encoded (RFC 3986), as the real service does. */
const encodeDocument = (document: string): string => encodeURIComponent(document);

function normalizePath(path: string | undefined): string {
  if (path === undefined) return "/";
  if (!path.startsWith("/") || !path.endsWith("/")) throw new AwsError("ValidationError", `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`);
  return path;
}

function getRole(ctx: ServiceContext, name: string): IamRole {
  const role = ctx.state.data.iam.roles[name];
  if (role === undefined) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return role;
}

function getUser(ctx: ServiceContext, name: string): IamUser {
  const user = ctx.state.data.iam.users[name];
  if (user === undefined) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return user;
}

/** A customer-managed policy, or a synthesized AWS-managed one. */
function getPolicy(ctx: ServiceContext, arn: string, notFound = `Policy ${arn} was not found.`): IamPolicy {
  const policy = ctx.state.data.iam.policies[arn];
  if (policy !== undefined) return policy;
  const managed = AWS_MANAGED_POLICY.exec(arn);
  if (managed === null) throw noSuchEntity(notFound);
  const epoch = "2015-02-06T18:40:00.000Z";
  return {
    name: managed[1]!,
    id: `ANPA${Buffer.from(arn).toString("hex").toUpperCase().slice(0, 17)}`,
    arn,
    path: arn.slice("arn:aws:iam::aws:policy".length, arn.length - managed[1]!.length),
    createDate: epoch,
    updateDate: epoch,
    tags: {},
    defaultVersionId: "v1",
    versions: [{ versionId: "v1", document: JSON.stringify({ Version: "2012-10-17", Statement: [] }), createDate: epoch }],
  };
}

function attachmentCount(ctx: ServiceContext, arn: string): number {
  const { roles, users } = ctx.state.data.iam;
  return [...Object.values(roles), ...Object.values(users)].filter((e) => e.attachedPolicies.includes(arn)).length;
}

function roleXml(role: IamRole): XmlObject {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: role.arn,
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodeDocument(role.assumeRolePolicyDocument),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: Object.keys(role.tags).length > 0 ? tagList(role.tags) : undefined,
  };
}

function userXml(user: IamUser): XmlObject {
  return { Path: user.path, UserName: user.name, UserId: user.id, Arn: user.arn, CreateDate: user.createDate, Tags: Object.keys(user.tags).length > 0 ? tagList(user.tags) : undefined };
}

function policyXml(ctx: ServiceContext, policy: IamPolicy): XmlObject {
  return {
    PolicyName: policy.name,
    PolicyId: policy.id,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: attachmentCount(ctx, policy.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: policy.description,
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
    Tags: Object.keys(policy.tags).length > 0 ? tagList(policy.tags) : undefined,
  };
}

function attachedXml(ctx: ServiceContext, arns: string[]): XmlObject {
  return { AttachedPolicies: arns.map((arn) => ({ PolicyName: getPolicy(ctx, arn).name, PolicyArn: arn })), IsTruncated: false };
}

function attach(ctx: ServiceContext, list: string[], arn: string): void {
  getPolicy(ctx, arn, `Policy ${arn} does not exist or is not attachable.`);
  if (!list.includes(arn)) list.push(arn);
}

function detach(list: string[], arn: string): void {
  const index = list.indexOf(arn);
  if (index < 0) throw noSuchEntity(`Policy ${arn} was not found.`);
  list.splice(index, 1);
}

function versionXml(policy: IamPolicy, version: IamPolicy["versions"][number]): XmlObject {
  return { Document: encodeDocument(version.document), VersionId: version.versionId, IsDefaultVersion: version.versionId === policy.defaultVersionId, CreateDate: version.createDate };
}

export const iamService: QueryService = {
  protocol: "query",
  signingName: "iam",
  xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
  missingParameter: (name) => new AwsError("ValidationError", `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`),
  operations: {
    CreateRole(ctx, input) {
      const name = input.required("RoleName");
      const document = input.required("AssumeRolePolicyDocument");
      checkDocument(document);
      const { roles } = ctx.state.data.iam;
      if (roles[name] !== undefined) throw alreadyExists(`Role with name ${name} already exists.`);
      const path = normalizePath(input.string("Path"));
      const role: IamRole = {
        name,
        id: ids.upper("AROA", 17),
        arn: `arn:aws:iam::${ctx.accountId}:role${path}${name}`,
        path,
        createDate: ctx.now().toISOString(),
        assumeRolePolicyDocument: document,
        description: input.string("Description"),
        maxSessionDuration: input.integer("MaxSessionDuration") ?? 3600,
        tags: tagsOf(input),
        attachedPolicies: [],
        inlinePolicies: {},
      };
      roles[name] = role;
      return { Role: roleXml(role) };
    },
    GetRole: (ctx, input) => ({ Role: roleXml(getRole(ctx, input.required("RoleName"))) }),
    DeleteRole(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      if (role.attachedPolicies.length > 0) throw deleteConflict("Cannot delete entity, must detach all policies first.");
      if (Object.keys(role.inlinePolicies).length > 0) throw deleteConflict("Cannot delete entity, must delete policies first.");
      delete ctx.state.data.iam.roles[role.name];
      return undefined;
    },
    UpdateAssumeRolePolicy(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      const document = input.required("PolicyDocument");
      checkDocument(document);
      role.assumeRolePolicyDocument = document;
      return undefined;
    },
    TagRole(ctx, input) {
      Object.assign(getRole(ctx, input.required("RoleName")).tags, tagsOf(input));
      return undefined;
    },
    UntagRole(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      for (const key of input.strings("TagKeys")) delete role.tags[key];
      return undefined;
    },
    ListRoleTags: (ctx, input) => ({ Tags: tagList(getRole(ctx, input.required("RoleName")).tags), IsTruncated: false }),
    AttachRolePolicy(ctx, input) {
      attach(ctx, getRole(ctx, input.required("RoleName")).attachedPolicies, input.required("PolicyArn"));
      return undefined;
    },
    DetachRolePolicy(ctx, input) {
      detach(getRole(ctx, input.required("RoleName")).attachedPolicies, input.required("PolicyArn"));
      return undefined;
    },
    ListAttachedRolePolicies: (ctx, input) => attachedXml(ctx, getRole(ctx, input.required("RoleName")).attachedPolicies),
    PutRolePolicy(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      const document = input.required("PolicyDocument");
      checkDocument(document);
      role.inlinePolicies[input.required("PolicyName")] = document;
      return undefined;
    },
    GetRolePolicy(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      const policyName = input.required("PolicyName");
      const document = role.inlinePolicies[policyName];
      if (document === undefined) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
      return { RoleName: role.name, PolicyName: policyName, PolicyDocument: encodeDocument(document) };
    },
    DeleteRolePolicy(ctx, input) {
      const role = getRole(ctx, input.required("RoleName"));
      const policyName = input.required("PolicyName");
      if (role.inlinePolicies[policyName] === undefined) throw noSuchEntity(`The role policy with name ${policyName} cannot be found.`);
      delete role.inlinePolicies[policyName];
      return undefined;
    },
    ListRolePolicies: (ctx, input) => ({ PolicyNames: Object.keys(getRole(ctx, input.required("RoleName")).inlinePolicies), IsTruncated: false }),

    CreateUser(ctx, input) {
      const name = input.required("UserName");
      const { users } = ctx.state.data.iam;
      if (users[name] !== undefined) throw alreadyExists(`User with name ${name} already exists.`);
      const path = normalizePath(input.string("Path"));
      const user: IamUser = { name, id: ids.upper("AIDA", 17), arn: `arn:aws:iam::${ctx.accountId}:user${path}${name}`, path, createDate: ctx.now().toISOString(), tags: tagsOf(input), attachedPolicies: [] };
      users[name] = user;
      return { User: userXml(user) };
    },
    GetUser(ctx, input) {
      const name = input.string("UserName") ?? ctx.principal.userName;
      if (name === null) return { User: { UserId: ctx.accountId, Arn: ctx.principal.arn, CreateDate: new Date(0) } };
      return { User: userXml(getUser(ctx, name)) };
    },
    DeleteUser(ctx, input) {
      const user = getUser(ctx, input.required("UserName"));
      if (Object.values(ctx.state.data.iam.accessKeys).some((k) => k.userName === user.name)) throw deleteConflict("Cannot delete entity, must delete access keys first.");
      if (user.attachedPolicies.length > 0) throw deleteConflict("Cannot delete entity, must detach all policies first.");
      delete ctx.state.data.iam.users[user.name];
      return undefined;
    },
    TagUser(ctx, input) {
      Object.assign(getUser(ctx, input.required("UserName")).tags, tagsOf(input));
      return undefined;
    },
    UntagUser(ctx, input) {
      const user = getUser(ctx, input.required("UserName"));
      for (const key of input.strings("TagKeys")) delete user.tags[key];
      return undefined;
    },
    ListUserTags: (ctx, input) => ({ Tags: tagList(getUser(ctx, input.required("UserName")).tags), IsTruncated: false }),
    AttachUserPolicy(ctx, input) {
      attach(ctx, getUser(ctx, input.required("UserName")).attachedPolicies, input.required("PolicyArn"));
      return undefined;
    },
    DetachUserPolicy(ctx, input) {
      detach(getUser(ctx, input.required("UserName")).attachedPolicies, input.required("PolicyArn"));
      return undefined;
    },
    ListAttachedUserPolicies: (ctx, input) => attachedXml(ctx, getUser(ctx, input.required("UserName")).attachedPolicies),

    CreatePolicy(ctx, input) {
      const name = input.required("PolicyName");
      const document = input.required("PolicyDocument");
      checkDocument(document);
      const path = normalizePath(input.string("Path"));
      const arn = `arn:aws:iam::${ctx.accountId}:policy${path}${name}`;
      const { policies } = ctx.state.data.iam;
      if (Object.values(policies).some((p) => p.name === name)) throw alreadyExists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
      const now = ctx.now().toISOString();
      const policy: IamPolicy = {
        name,
        id: ids.upper("ANPA", 17),
        arn,
        path,
        description: input.string("Description"),
        createDate: now,
        updateDate: now,
        tags: tagsOf(input),
        defaultVersionId: "v1",
        versions: [{ versionId: "v1", document, createDate: now }],
      };
      policies[arn] = policy;
      return { Policy: policyXml(ctx, policy) };
    },
    GetPolicy: (ctx, input) => ({ Policy: policyXml(ctx, getPolicy(ctx, input.required("PolicyArn"))) }),
    DeletePolicy(ctx, input) {
      const arn = input.required("PolicyArn");
      const policy = ctx.state.data.iam.policies[arn];
      if (policy === undefined) throw noSuchEntity(`Policy ${arn} was not found.`);
      if (attachmentCount(ctx, arn) > 0) throw deleteConflict("Cannot delete a policy attached to entities.");
      if (policy.versions.length > 1) throw deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
      delete ctx.state.data.iam.policies[arn];
      return undefined;
    },
    TagPolicy(ctx, input) {
      const arn = input.required("PolicyArn");
      const policy = ctx.state.data.iam.policies[arn];
      if (policy === undefined) throw noSuchEntity(`Policy ${arn} was not found.`);
      Object.assign(policy.tags, tagsOf(input));
      return undefined;
    },
    UntagPolicy(ctx, input) {
      const arn = input.required("PolicyArn");
      const policy = ctx.state.data.iam.policies[arn];
      if (policy === undefined) throw noSuchEntity(`Policy ${arn} was not found.`);
      for (const key of input.strings("TagKeys")) delete policy.tags[key];
      return undefined;
    },
    GetPolicyVersion(ctx, input) {
      const policy = getPolicy(ctx, input.required("PolicyArn"));
      const versionId = input.required("VersionId");
      const version = policy.versions.find((v) => v.versionId === versionId);
      if (version === undefined) throw noSuchEntity(`Policy ${policy.arn} version ${versionId} does not exist or is not attachable.`);
      return { PolicyVersion: versionXml(policy, version) };
    },
    ListPolicyVersions(ctx, input) {
      const policy = getPolicy(ctx, input.required("PolicyArn"));
      return { Versions: [...policy.versions].reverse().map((v) => ({ ...versionXml(policy, v), Document: undefined })), IsTruncated: false };
    },
    CreatePolicyVersion(ctx, input) {
      const arn = input.required("PolicyArn");
      const policy = ctx.state.data.iam.policies[arn];
      if (policy === undefined) throw noSuchEntity(`Policy ${arn} was not found.`);
      const document = input.required("PolicyDocument");
      checkDocument(document);
      if (policy.versions.length >= MAX_POLICY_VERSIONS) throw new AwsError("LimitExceeded", `A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`, 409);
      const last = Math.max(...policy.versions.map((v) => Number(v.versionId.slice(1))));
      const version = { versionId: `v${last + 1}`, document, createDate: ctx.now().toISOString() };
      policy.versions.push(version);
      if (input.boolean("SetAsDefault") === true) policy.defaultVersionId = version.versionId;
      policy.updateDate = version.createDate;
      return { PolicyVersion: versionXml(policy, version) };
    },
    DeletePolicyVersion(ctx, input) {
      const arn = input.required("PolicyArn");
      const policy = ctx.state.data.iam.policies[arn];
      const versionId = input.required("VersionId");
      const index = policy?.versions.findIndex((v) => v.versionId === versionId) ?? -1;
      if (policy === undefined || index < 0) throw noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not deletable.`);
      if (policy.defaultVersionId === versionId) throw deleteConflict("Cannot delete the default version of a policy.");
      policy.versions.splice(index, 1);
      return undefined;
    },

    CreateAccessKey(ctx, input) {
      const userName = input.string("UserName") ?? ctx.principal.userName;
      if (userName === null) throw new AwsError("ValidationError", "Must specify userName when calling with non-User credentials");
      getUser(ctx, userName);
      const { accessKeys } = ctx.state.data.iam;
      if (Object.values(accessKeys).filter((k) => k.userName === userName).length >= MAX_ACCESS_KEYS) throw new AwsError("LimitExceeded", `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`, 409);
      const key = { id: ids.upper("AKIA", 16), secret: ids.secret(), userName, status: "Active" as const, createDate: ctx.now().toISOString() };
      accessKeys[key.id] = key;
      return { AccessKey: { UserName: userName, AccessKeyId: key.id, Status: key.status, SecretAccessKey: key.secret, CreateDate: key.createDate } };
    },
    ListAccessKeys(ctx, input) {
      const userName = input.string("UserName") ?? ctx.principal.userName;
      if (userName !== null) getUser(ctx, userName);
      const keys = Object.values(ctx.state.data.iam.accessKeys).filter((k) => k.userName === userName);
      return { AccessKeyMetadata: keys.map((k) => ({ UserName: k.userName, AccessKeyId: k.id, Status: k.status, CreateDate: k.createDate })), IsTruncated: false };
    },
    DeleteAccessKey(ctx, input) {
      const id = input.required("AccessKeyId");
      const key = ctx.state.data.iam.accessKeys[id];
      const userName = input.string("UserName") ?? ctx.principal.userName;
      if (userName !== null) getUser(ctx, userName);
      if (key === undefined || (userName !== null && key.userName !== userName)) throw noSuchEntity(`The Access Key with id ${id} cannot be found.`);
      delete ctx.state.data.iam.accessKeys[id];
      return undefined;
    },
  },
};
