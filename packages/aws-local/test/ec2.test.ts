import { AssociateRouteTableCommand, AttachInternetGatewayCommand, AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateRouteCommand, CreateRouteTableCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand, DeleteInternetGatewayCommand, DeleteRouteTableCommand, DeleteSecurityGroupCommand, DeleteSubnetCommand, DeleteVpcCommand, DescribeAvailabilityZonesCommand, DescribeInternetGatewaysCommand, DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, DetachInternetGatewayCommand, ModifySubnetAttributeCommand, RevokeSecurityGroupEgressCommand, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { startAwsLocal, type AwsLocal } from "@ferry/aws-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientsFor, rejection, type Clients } from "./helpers.js";

let local: AwsLocal;
let aws: Clients;

beforeAll(async () => {
  local = await startAwsLocal({ docker: null });
  aws = clientsFor(local, local.credentials, "eu-west-1");
});
afterAll(() => local.close());
beforeEach(() => local.reset());

const tagFilter = (key: string, value: string) => ({ Name: `tag:${key}`, Values: [value] });

describe("EC2 default VPC", () => {
  it("has one per region by default, with a subnet in each of three zones, and can be taken away and given back", async () => {
    const zones = await aws.ec2.send(new DescribeAvailabilityZonesCommand({}));
    expect(zones.AvailabilityZones?.map((z) => [z.ZoneName, z.ZoneId, z.State])).toEqual([
      ["eu-west-1a", "euw1-az1", "available"],
      ["eu-west-1b", "euw1-az2", "available"],
      ["eu-west-1c", "euw1-az3", "available"],
    ]);
    const { Vpcs } = await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }));
    expect(Vpcs).toHaveLength(1);
    expect(Vpcs![0]).toMatchObject({ IsDefault: true, CidrBlock: "172.31.0.0/16", State: "available" });
    const subnets = await aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [Vpcs![0]!.VpcId!] }, { Name: "default-for-az", Values: ["true"] }] }));
    expect(subnets.Subnets?.map((s) => s.AvailabilityZone).sort()).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    expect(subnets.Subnets?.every((s) => s.MapPublicIpOnLaunch === true)).toBe(true);
    const igws = await aws.ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: "attachment.vpc-id", Values: [Vpcs![0]!.VpcId!] }] }));
    expect(igws.InternetGateways).toHaveLength(1);
    const groups = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "vpc-id", Values: [Vpcs![0]!.VpcId!] }, { Name: "group-name", Values: ["default"] }] }));
    expect(groups.SecurityGroups).toHaveLength(1);

    local.setDefaultVpc(false);
    expect((await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }))).Vpcs).toEqual([]);
    expect((await aws.ec2.send(new DescribeSubnetsCommand({}))).Subnets).toEqual([]);
    await fetch(`${local.endpoint}/__aws-local/default-vpc`, { method: "POST", body: JSON.stringify({ present: true }) });
    expect((await aws.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }))).Vpcs).toHaveLength(1);
  });

  it("answers InvalidVpcID.NotFound for an unknown VPC, with the SDK's error name and status", async () => {
    const error = await rejection(aws.ec2.send(new DescribeVpcsCommand({ VpcIds: ["vpc-0123456789abcdef0"] })));
    expect(error.name).toBe("InvalidVpcID.NotFound");
    expect(error.message).toBe("The vpc ID 'vpc-0123456789abcdef0' does not exist");
    expect(error.$metadata.httpStatusCode).toBe(400);
  });
});

describe("EC2 network Ferry provisions", () => {
  it("builds and tears down a VPC with a public subnet, gateway, routes and a security group", async () => {
    const tags = [{ ResourceType: "vpc" as const, Tags: [{ Key: "ferry:pool", Value: "p1" }] }];
    const { Vpc } = await aws.ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16", TagSpecifications: tags }));
    const vpcId = Vpc!.VpcId!;
    expect(Vpc).toMatchObject({ CidrBlock: "10.20.0.0/16", IsDefault: false, Tags: [{ Key: "ferry:pool", Value: "p1" }] });
    expect((await aws.ec2.send(new DescribeVpcsCommand({ Filters: [tagFilter("ferry:pool", "p1")] }))).Vpcs?.map((v) => v.VpcId)).toEqual([vpcId]);

    const { Subnet } = await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.20.1.0/24", AvailabilityZone: "eu-west-1b" }));
    const subnetId = Subnet!.SubnetId!;
    expect(Subnet).toMatchObject({ VpcId: vpcId, AvailabilityZone: "eu-west-1b", MapPublicIpOnLaunch: false, AvailableIpAddressCount: 251 });
    expect((await rejection(aws.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.20.1.128/25" })))).name).toBe("InvalidSubnet.Conflict");
    expect((await rejection(aws.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.99.0.0/24" })))).name).toBe("InvalidSubnet.Range");
    await aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
    await aws.ec2.send(new CreateTagsCommand({ Resources: [subnetId], Tags: [{ Key: "ferry:pool", Value: "p1" }] }));
    const subnets = await aws.ec2.send(new DescribeSubnetsCommand({ Filters: [tagFilter("ferry:pool", "p1")] }));
    expect(subnets.Subnets).toMatchObject([{ SubnetId: subnetId, MapPublicIpOnLaunch: true }]);

    const { InternetGateway } = await aws.ec2.send(new CreateInternetGatewayCommand({}));
    const igwId = InternetGateway!.InternetGatewayId!;
    await aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    expect((await rejection(aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })))).name).toBe("Resource.AlreadyAssociated");
    expect((await aws.ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igwId] }))).InternetGateways?.[0]?.Attachments).toEqual([{ VpcId: vpcId, State: "available" }]);

    const { RouteTable } = await aws.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }));
    const rtbId = RouteTable!.RouteTableId!;
    await aws.ec2.send(new CreateRouteCommand({ RouteTableId: rtbId, DestinationCidrBlock: "0.0.0.0/0", GatewayId: igwId }));
    expect((await rejection(aws.ec2.send(new CreateRouteCommand({ RouteTableId: rtbId, DestinationCidrBlock: "0.0.0.0/0", GatewayId: igwId })))).name).toBe("RouteAlreadyExists");
    const { AssociationId } = await aws.ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtbId, SubnetId: subnetId }));
    expect(AssociationId).toMatch(/^rtbassoc-/);
    const tables = await aws.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "association.subnet-id", Values: [subnetId] }] }));
    expect(tables.RouteTables?.[0]).toMatchObject({
      RouteTableId: rtbId,
      Routes: [{ DestinationCidrBlock: "10.20.0.0/16", GatewayId: "local", State: "active" }, { DestinationCidrBlock: "0.0.0.0/0", GatewayId: igwId }],
      Associations: [{ SubnetId: subnetId, Main: false }],
    });
    const main = await aws.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }, { Name: "association.main", Values: ["true"] }] }));
    expect(main.RouteTables).toHaveLength(1);

    const { GroupId } = await aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: "ferry-tasks", Description: "Ferry tasks", VpcId: vpcId, TagSpecifications: [{ ResourceType: "security-group", Tags: [{ Key: "ferry:pool", Value: "p1" }] }] }));
    expect((await rejection(aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: "ferry-tasks", Description: "again", VpcId: vpcId })))).name).toBe("InvalidGroup.Duplicate");
    // Ferry replaces the default allow-all egress with HTTPS only, and opens nothing inbound but from itself.
    await aws.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }] }));
    await aws.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "https" }] }] }));
    const ingress = await aws.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [{ IpProtocol: "tcp", FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId }] }] }));
    expect(ingress.SecurityGroupRules).toMatchObject([{ GroupId, IsEgress: false, IpProtocol: "tcp", FromPort: 8080, ToPort: 8080, ReferencedGroupInfo: { GroupId } }]);
    const duplicate = await rejection(aws.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }] })));
    expect(duplicate.name).toBe("InvalidPermission.Duplicate");
    const { SecurityGroups } = await aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [tagFilter("ferry:pool", "p1")] }));
    expect(SecurityGroups).toMatchObject([
      {
        GroupId,
        GroupName: "ferry-tasks",
        Description: "Ferry tasks",
        VpcId: vpcId,
        IpPermissionsEgress: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "https" }] }],
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 8080, UserIdGroupPairs: [{ GroupId }] }],
      },
    ]);
    await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: [{ IpProtocol: "tcp", FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId }] }] }));

    // Teardown in dependency order; a VPC with things in it cannot go first.
    expect((await rejection(aws.ec2.send(new DeleteVpcCommand({ VpcId: vpcId })))).name).toBe("DependencyViolation");
    expect((await rejection(aws.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId })))).name).toBe("DependencyViolation");
    await aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId }));
    await aws.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }));
    await aws.ec2.send(new DeleteRouteTableCommand({ RouteTableId: rtbId }));
    await aws.ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await aws.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId }));
    await aws.ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
    expect((await rejection(aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })))).name).toBe("InvalidSubnetID.NotFound");
    expect((await rejection(aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId!] })))).name).toBe("InvalidGroup.NotFound");
    expect((await aws.ec2.send(new DescribeVpcsCommand({}))).Vpcs?.map((v) => v.IsDefault)).toEqual([true]);
  });

  it("keeps regions apart", async () => {
    await aws.ec2.send(new CreateVpcCommand({ CidrBlock: "10.1.0.0/16" }));
    const other = clientsFor(local, local.credentials, "us-west-2");
    expect((await other.ec2.send(new DescribeVpcsCommand({}))).Vpcs?.map((v) => v.CidrBlock)).toEqual(["172.31.0.0/16"]);
  });

  it("answers an unknown key with AuthFailure (401)", async () => {
    const stranger = clientsFor(local, { accessKeyId: "AKIASTRANGER0000000", secretAccessKey: "x" });
    const error = await rejection(stranger.ec2.send(new DescribeVpcsCommand({})));
    expect(error.name).toBe("AuthFailure");
    expect(error.$metadata.httpStatusCode).toBe(401);
  });
});
