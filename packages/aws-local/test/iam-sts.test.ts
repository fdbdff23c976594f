import { AttachRolePolicyCommand, AttachUserPolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateRoleCommand, CreateUserCommand, DeleteAccessKeyCommand, DeletePolicyCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DeleteUserCommand, DeleteConflictException, DetachRolePolicyCommand, DetachUserPolicyCommand, EntityAlreadyExistsException, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, GetUserCommand, ListAccessKeysCommand, ListAttachedRolePoliciesCommand, ListAttachedUserPoliciesCommand, ListPolicyVersionsCommand, MalformedPolicyDocumentException, NoSuchEntityException, PutRolePolicyCommand, TagPolicyCommand, TagRoleCommand, TagUserCommand, UntagPolicyCommand, UntagRoleCommand, UntagUserCommand, LimitExceededException } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientsFor, rejection, type Clients } from "./helpers.js";

const TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] });
const POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ecs:RunTask"], Resource: "*" }] });
const EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

let local: AwsLocal;
let aws: Clients;

beforeAll(async () => {
  local = await startAwsLocal({ docker: null });
  aws = clientsFor(local);
});
afterAll(() => local.close());
beforeEach(() => local.reset());

describe("STS", () => {
  it("says who the root key is", async () => {
    const identity = await aws.sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:root", UserId: "123456789012" });
  });

  it("refuses an unknown key with InvalidClientTokenId (403)", async () => {
    const stranger = clientsFor(local, { accessKeyId: "AKIASTRANGER0000000", secretAccessKey: "x" });
    const error = await rejection(stranger.sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe("InvalidClientTokenId");
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(local.calls().at(-1)).toMatchObject({ service: "sts", operation: "GetCallerIdentity", accessKeyId: "AKIASTRANGER0000000", userName: null, error: "InvalidClientTokenId" });
  });
});

describe("IAM roles", () => {
  it("creates, reads back (URL-encoded document, tags) and deletes a role", async () => {
    const { Role } = await aws.iam.send(new CreateRoleCommand({ RoleName: "ferry-exec", AssumeRolePolicyDocument: TRUST, Description: "d", Tags: [{ Key: "ferry", Value: "yes" }] }));
    expect(Role).toMatchObject({ RoleName: "ferry-exec", Arn: "arn:aws:iam::123456789012:role/ferry-exec", Path: "/", Description: "d", Tags: [{ Key: "ferry", Value: "yes" }] });
    expect(Role?.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    expect(Role?.CreateDate).toBeInstanceOf(Date);
    await aws.iam.send(new TagRoleCommand({ RoleName: "ferry-exec", Tags: [{ Key: "more", Value: "1" }] }));
    const got = await aws.iam.send(new GetRoleCommand({ RoleName: "ferry-exec" }));
    expect(JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(TRUST));
    expect(got.Role?.Tags).toEqual([{ Key: "ferry", Value: "yes" }, { Key: "more", Value: "1" }]);
    await aws.iam.send(new DeleteRoleCommand({ RoleName: "ferry-exec" }));
    const error = await rejection(aws.iam.send(new GetRoleCommand({ RoleName: "ferry-exec" })));
    expect(error).toBeInstanceOf(NoSuchEntityException);
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toBe("The role with name ferry-exec cannot be found.");
  });

  it("answers EntityAlreadyExists (409) for a second role of the same name, and MalformedPolicyDocument for bad JSON", async () => {
    await aws.iam.send(new CreateRoleCommand({ RoleName: "twice", AssumeRolePolicyDocument: TRUST }));
    const error = await rejection(aws.iam.send(new CreateRoleCommand({ RoleName: "twice", AssumeRolePolicyDocument: TRUST })));
    expect(error).toBeInstanceOf(EntityAlreadyExistsException);
    expect(error.$metadata.httpStatusCode).toBe(409);
    expect(await rejection(aws.iam.send(new CreateRoleCommand({ RoleName: "bad", AssumeRolePolicyDocument: "{not json" })))).toBeInstanceOf(MalformedPolicyDocumentException);
  });

  it("attaches managed policies (AWS's and the account's), keeps inline policies, and refuses to delete a role that has them", async () => {
    await aws.iam.send(new CreateRoleCommand({ RoleName: "exec", AssumeRolePolicyDocument: TRUST }));
    const { Policy } = await aws.iam.send(new CreatePolicyCommand({ PolicyName: "ferry-run", PolicyDocument: POLICY, Tags: [{ Key: "ferry", Value: "yes" }] }));
    await aws.iam.send(new AttachRolePolicyCommand({ RoleName: "exec", PolicyArn: EXECUTION_POLICY }));
    await aws.iam.send(new AttachRolePolicyCommand({ RoleName: "exec", PolicyArn: Policy!.Arn }));
    const attached = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "exec" }));
    expect(attached.AttachedPolicies).toEqual([
      { PolicyName: "AmazonECSTaskExecutionRolePolicy", PolicyArn: EXECUTION_POLICY },
      { PolicyName: "ferry-run", PolicyArn: Policy!.Arn },
    ]);
    expect(await rejection(aws.iam.send(new AttachRolePolicyCommand({ RoleName: "exec", PolicyArn: "arn:aws:iam::123456789012:policy/missing" })))).toBeInstanceOf(NoSuchEntityException);

    await aws.iam.send(new PutRolePolicyCommand({ RoleName: "exec", PolicyName: "inline", PolicyDocument: POLICY }));
    const inline = await aws.iam.send(new GetRolePolicyCommand({ RoleName: "exec", PolicyName: "inline" }));
    expect(JSON.parse(decodeURIComponent(inline.PolicyDocument!))).toEqual(JSON.parse(POLICY));

    const conflict = await rejection(aws.iam.send(new DeleteRoleCommand({ RoleName: "exec" })));
    expect(conflict).toBeInstanceOf(DeleteConflictException);
    expect(await rejection(aws.iam.send(new DeletePolicyCommand({ PolicyArn: Policy!.Arn })))).toBeInstanceOf(DeleteConflictException);
    await aws.iam.send(new DetachRolePolicyCommand({ RoleName: "exec", PolicyArn: EXECUTION_POLICY }));
    await aws.iam.send(new DetachRolePolicyCommand({ RoleName: "exec", PolicyArn: Policy!.Arn }));
    await aws.iam.send(new DeleteRolePolicyCommand({ RoleName: "exec", PolicyName: "inline" }));
    await aws.iam.send(new DeleteRoleCommand({ RoleName: "exec" }));
    await aws.iam.send(new DeletePolicyCommand({ PolicyArn: Policy!.Arn }));
  });
});

describe("IAM users, policies and access keys", () => {
  it("reads a policy's document back through its default version", async () => {
    const { Policy } = await aws.iam.send(new CreatePolicyCommand({ PolicyName: "p", PolicyDocument: POLICY, Description: "ferry" }));
    await aws.iam.send(new TagPolicyCommand({ PolicyArn: Policy!.Arn, Tags: [{ Key: "k", Value: "v" }] }));
    const got = await aws.iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }));
    expect(got.Policy).toMatchObject({ PolicyName: "p", DefaultVersionId: "v1", AttachmentCount: 0, Description: "ferry", Tags: [{ Key: "k", Value: "v" }] });
    const versions = await aws.iam.send(new ListPolicyVersionsCommand({ PolicyArn: Policy!.Arn }));
    expect(versions.Versions).toMatchObject([{ VersionId: "v1", IsDefaultVersion: true }]);
    const version = await aws.iam.send(new GetPolicyVersionCommand({ PolicyArn: Policy!.Arn, VersionId: "v1" }));
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!))).toEqual(JSON.parse(POLICY));
    expect(await rejection(aws.iam.send(new CreatePolicyCommand({ PolicyName: "p", PolicyDocument: POLICY })))).toBeInstanceOf(EntityAlreadyExistsException);
  });

  it("removes tags from roles, users and policies", async () => {
    await aws.iam.send(new CreateRoleCommand({ RoleName: "r-untag", AssumeRolePolicyDocument: TRUST, Tags: [{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }] }));
    await aws.iam.send(new UntagRoleCommand({ RoleName: "r-untag", TagKeys: ["a"] }));
    expect((await aws.iam.send(new GetRoleCommand({ RoleName: "r-untag" }))).Role?.Tags).toEqual([{ Key: "b", Value: "2" }]);
    await aws.iam.send(new CreateUserCommand({ UserName: "u-untag", Tags: [{ Key: "a", Value: "1" }] }));
    await aws.iam.send(new UntagUserCommand({ UserName: "u-untag", TagKeys: ["a", "not-there"] }));
    expect((await aws.iam.send(new GetUserCommand({ UserName: "u-untag" }))).User?.Tags).toBeUndefined();
    const { Policy } = await aws.iam.send(new CreatePolicyCommand({ PolicyName: "p-untag", PolicyDocument: POLICY, Tags: [{ Key: "a", Value: "1" }] }));
    await aws.iam.send(new UntagPolicyCommand({ PolicyArn: Policy!.Arn, TagKeys: ["a"] }));
    expect((await aws.iam.send(new GetPolicyCommand({ PolicyArn: Policy!.Arn }))).Policy?.Tags).toBeUndefined();
  });

  it("refuses a third access key of a user, as AWS does (LimitExceeded, 409)", async () => {
    await aws.iam.send(new CreateUserCommand({ UserName: "two-keys" }));
    await aws.iam.send(new CreateAccessKeyCommand({ UserName: "two-keys" }));
    await aws.iam.send(new CreateAccessKeyCommand({ UserName: "two-keys" }));
    const third = await rejection(aws.iam.send(new CreateAccessKeyCommand({ UserName: "two-keys" })));
    expect(third).toBeInstanceOf(LimitExceededException);
    expect(third.$metadata.httpStatusCode).toBe(409);
    expect(third.message).toBe("Cannot exceed quota for AccessKeysPerUser: 2");
  });

  it("gives a user access keys that then sign requests as that user, until deleted", async () => {
    const { User } = await aws.iam.send(new CreateUserCommand({ UserName: "ferry-ci", Tags: [{ Key: "team", Value: "ferry" }] }));
    expect(User).toMatchObject({ UserName: "ferry-ci", Arn: "arn:aws:iam::123456789012:user/ferry-ci" });
    await aws.iam.send(new TagUserCommand({ UserName: "ferry-ci", Tags: [{ Key: "more", Value: "x" }] }));
    expect((await aws.iam.send(new GetUserCommand({ UserName: "ferry-ci" }))).User?.Tags).toHaveLength(2);
    await aws.iam.send(new AttachUserPolicyCommand({ UserName: "ferry-ci", PolicyArn: "arn:aws:iam::aws:policy/AmazonECS_FullAccess" }));
    expect((await aws.iam.send(new ListAttachedUserPoliciesCommand({ UserName: "ferry-ci" }))).AttachedPolicies).toEqual([{ PolicyName: "AmazonECS_FullAccess", PolicyArn: "arn:aws:iam::aws:policy/AmazonECS_FullAccess" }]);

    const { AccessKey } = await aws.iam.send(new CreateAccessKeyCommand({ UserName: "ferry-ci" }));
    expect(AccessKey).toMatchObject({ UserName: "ferry-ci", Status: "Active" });
    expect(AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(AccessKey?.SecretAccessKey).toHaveLength(40);
    expect((await aws.iam.send(new ListAccessKeysCommand({ UserName: "ferry-ci" }))).AccessKeyMetadata).toMatchObject([{ AccessKeyId: AccessKey!.AccessKeyId }]);

    const asUser = clientsFor(local, { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! });
    const identity = await asUser.sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({ Arn: User!.Arn, UserId: User!.UserId, Account: "123456789012" });
    expect(local.calls().at(-1)).toMatchObject({ service: "sts", operation: "GetCallerIdentity", accessKeyId: AccessKey!.AccessKeyId, userName: "ferry-ci" });

    expect(await rejection(aws.iam.send(new DeleteUserCommand({ UserName: "ferry-ci" })))).toBeInstanceOf(DeleteConflictException);
    await aws.iam.send(new DeleteAccessKeyCommand({ UserName: "ferry-ci", AccessKeyId: AccessKey!.AccessKeyId }));
    expect((await rejection(asUser.sts.send(new GetCallerIdentityCommand({})))).name).toBe("InvalidClientTokenId");
    await aws.iam.send(new DetachUserPolicyCommand({ UserName: "ferry-ci", PolicyArn: "arn:aws:iam::aws:policy/AmazonECS_FullAccess" }));
    await aws.iam.send(new DeleteUserCommand({ UserName: "ferry-ci" }));
    expect(await rejection(aws.iam.send(new GetUserCommand({ UserName: "ferry-ci" })))).toBeInstanceOf(NoSuchEntityException);
  });

  it("answers an injected IAM fault in the query protocol's error shape", async () => {
    local.injectFault({ service: "iam", operation: "CreateRole", code: "Throttling", message: "Rate exceeded" });
    const error = await rejection(aws.iam.send(new CreateRoleCommand({ RoleName: "r", AssumeRolePolicyDocument: TRUST })));
    expect(error).toMatchObject({ name: "Throttling", message: "Rate exceeded", $metadata: { httpStatusCode: 400 } });
    await aws.iam.send(new CreateRoleCommand({ RoleName: "r", AssumeRolePolicyDocument: TRUST }));
  });
});
