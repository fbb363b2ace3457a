"""Checks each emulator extension through boto3 against a launched emulator.

    python3 -m unittest tests.emulator.test_extensions
"""
from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

import boto3

from tests.emulator import launcher

ACCOUNT = "123456789012"


class Extensions(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = Path(tempfile.mkdtemp(prefix="drgen-emu-"))
        cls.url = launcher.start(cls.dir, None, None)

    @classmethod
    def tearDownClass(cls) -> None:
        launcher.stop(cls.dir, quiet=True)

    def client(self, svc: str, region: str = "us-east-1"):  # type: ignore[no-untyped-def]
        return boto3.client(svc, region_name=region, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def test_dynamodb_replicas(self) -> None:
        d1, d2 = self.client("dynamodb"), self.client("dynamodb", "us-east-2")
        d1.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        d1.update_table(TableName="t", ReplicaUpdates=[{"Create": {"RegionName": "us-east-2"}}])
        t = d1.describe_table(TableName="t")["Table"]
        self.assertEqual(t["Replicas"], [{"RegionName": "us-east-2", "ReplicaStatus": "ACTIVE"}])
        self.assertEqual(t["GlobalTableVersion"], "2019.11.21")
        r = d2.describe_table(TableName="t")["Table"]
        self.assertEqual(r["Replicas"][0]["RegionName"], "us-east-1")
        d1.update_table(TableName="t", ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}])
        self.assertNotIn("Replicas", d1.describe_table(TableName="t")["Table"])
        self.assertEqual(d2.list_tables()["TableNames"], [])
        d1.delete_table(TableName="t")

    def test_lambda_vpc_id(self) -> None:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        sn = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="x", Description="x", VpcId=vpc)["GroupId"]
        iam = self.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = self.client("lambda")
        lam.create_function(FunctionName="f", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                            VpcConfig={"SubnetIds": [sn], "SecurityGroupIds": [sg]})
        cfg = lam.get_function(FunctionName="f")["Configuration"]["VpcConfig"]
        self.assertEqual(cfg["VpcId"], vpc)

    def test_rds_global_cluster_cross_region_delete(self) -> None:
        r1, r2 = self.client("rds"), self.client("rds", "us-east-2")
        g = r1.create_global_cluster(GlobalClusterIdentifier="g", Engine="aurora-postgresql",
                                     EngineVersion="16.6")["GlobalCluster"]
        r1.create_db_cluster(DBClusterIdentifier="p", Engine="aurora-postgresql", EngineVersion="16.6",
                             GlobalClusterIdentifier="g", MasterUsername="u", MasterUserPassword="password123")
        c2 = r2.create_db_cluster(DBClusterIdentifier="s", Engine="aurora-postgresql", EngineVersion="16.6",
                                  GlobalClusterIdentifier="g")["DBCluster"]
        self.assertEqual(len(r1.describe_global_clusters()["GlobalClusters"][0]["GlobalClusterMembers"]), 2)
        r2.remove_from_global_cluster(GlobalClusterIdentifier=g["GlobalClusterArn"], DbClusterIdentifier=c2["DBClusterArn"])
        r2.delete_db_cluster(DBClusterIdentifier="s", SkipFinalSnapshot=True)
        r1.delete_db_cluster(DBClusterIdentifier="p", SkipFinalSnapshot=True)
        self.assertEqual(r1.describe_global_clusters()["GlobalClusters"][0]["GlobalClusterMembers"], [])
        r1.delete_global_cluster(GlobalClusterIdentifier="g")

    def test_rds_instance_monitoring_pi(self) -> None:
        r = self.client("rds")
        r.create_db_cluster(DBClusterIdentifier="m", Engine="aurora-postgresql", EngineVersion="16.6",
                            MasterUsername="u", MasterUserPassword="password123")
        r.create_db_instance(DBInstanceIdentifier="mi", DBClusterIdentifier="m", Engine="aurora-postgresql",
                             DBInstanceClass="db.r6g.large", MonitoringInterval=60,
                             MonitoringRoleArn=f"arn:aws:iam::{ACCOUNT}:role/mon",
                             EnablePerformanceInsights=True,
                             PerformanceInsightsKMSKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
        i = r.describe_db_instances(DBInstanceIdentifier="mi")["DBInstances"][0]
        self.assertEqual(i["CACertificateIdentifier"], "rds-ca-rsa2048-g1")
        self.assertEqual(i["MonitoringInterval"], 60)
        self.assertEqual(i["MonitoringRoleArn"], f"arn:aws:iam::{ACCOUNT}:role/mon")
        self.assertTrue(i["PerformanceInsightsEnabled"])
        self.assertEqual(i["PerformanceInsightsRetentionPeriod"], 7)
        r.modify_db_instance(DBInstanceIdentifier="mi", MonitoringInterval=0, EnablePerformanceInsights=False,
                             ApplyImmediately=True)
        i = r.describe_db_instances(DBInstanceIdentifier="mi")["DBInstances"][0]
        self.assertEqual(i["MonitoringInterval"], 0)
        self.assertFalse(i["PerformanceInsightsEnabled"])

    def test_lambda_kms_and_logging(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(RoleName="r2", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = self.client("lambda")
        key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
        lam.create_function(FunctionName="g", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}, KMSKeyArn=key,
                            LoggingConfig={"LogFormat": "JSON", "LogGroup": "/aws/lambda/g"})
        c = lam.get_function(FunctionName="g")["Configuration"]
        self.assertEqual(c["KMSKeyArn"], key)
        self.assertEqual(c["LoggingConfig"], {"LogFormat": "JSON", "LogGroup": "/aws/lambda/g"})

    def test_rds_provisioned_cluster_has_no_scaling_configuration(self) -> None:
        r = self.client("rds")
        r.create_db_cluster(DBClusterIdentifier="sc", Engine="aurora-postgresql", EngineVersion="16.6",
                            MasterUsername="u", MasterUserPassword="password123")
        self.assertNotIn("ScalingConfigurationInfo", r.describe_db_clusters(DBClusterIdentifier="sc")["DBClusters"][0])

    def test_rds_global_cluster_tags(self) -> None:
        r = self.client("rds")
        g = r.create_global_cluster(GlobalClusterIdentifier="gt", Engine="aurora-postgresql", EngineVersion="16.6",
                                    Tags=[{"Key": "Name", "Value": "gt"}])["GlobalCluster"]
        self.assertEqual(r.list_tags_for_resource(ResourceName=g["GlobalClusterArn"])["TagList"],
                         [{"Key": "Name", "Value": "gt"}])
        r.add_tags_to_resource(ResourceName=g["GlobalClusterArn"], Tags=[{"Key": "A", "Value": "b"}])
        self.assertEqual(len(r.list_tags_for_resource(ResourceName=g["GlobalClusterArn"])["TagList"]), 2)
        r.delete_global_cluster(GlobalClusterIdentifier="gt")

    def test_security_group_rule_description(self) -> None:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        a = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
        b = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
        out = ec2.authorize_security_group_ingress(GroupId=a, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": b, "Description": "from b"}]}])
        rid = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        rule = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"][0]
        self.assertEqual(rule["Description"], "from b")


    def test_s3_replication_delete_marker(self) -> None:
        s3 = self.client("s3")
        for b in ("src", "dst"):
            s3.create_bucket(Bucket=b)
            s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_replication(Bucket="src", ReplicationConfiguration={
            "Role": f"arn:aws:iam::{ACCOUNT}:role/rep",
            "Rules": [{"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Enabled"},
                       "Destination": {"Bucket": "arn:aws:s3:::dst"}}]})
        rule = s3.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]["Rules"][0]
        self.assertEqual(rule["DeleteMarkerReplication"], {"Status": "Enabled"})


    def test_apigateway_policy_escaped(self) -> None:
        import json
        c = self.client("apigateway")
        api = c.create_rest_api(name="x")["id"]
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                       "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]}
        c.update_rest_api(restApiId=api, patchOperations=[
            {"op": "replace", "path": "/policy", "value": json.dumps(doc)},
            {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "false"}])
        r = c.get_rest_api(restApiId=api)
        self.assertEqual(json.loads(json.loads('"' + r["policy"] + '"')), doc)
        self.assertFalse(r["disableExecuteApiEndpoint"])


if __name__ == "__main__":
    unittest.main()
