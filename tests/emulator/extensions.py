"""Behaviour moto 5.2.1 lacks, added for the drgen end-to-end test.

Test-only: imported by tests/emulator/launcher.py in the emulator's own
process, never by anything a user applies. Each patch wraps one moto method
and says what moto does, what AWS does and what the patch does. `apply()`
installs them all once; EXTENSIONS lists them (tests/emulator/EXTENSIONS.md is
the human-readable copy).
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable

_APPLIED = False
EXTENSIONS: list[tuple[str, str]] = []


def extension(fn: Callable[[], None]) -> Callable[[], None]:
    EXTENSIONS.append((fn.__name__, (fn.__doc__ or "").strip().splitlines()[0]))
    return fn


# --------------------------------------------------------------------------- DynamoDB
@extension
def dynamodb_global_table_replicas() -> None:
    """DynamoDB global table replicas (version 2019.11.21) through UpdateTable ReplicaUpdates.

    moto: UpdateTable ignores `ReplicaUpdates`, DescribeTable has no
    `Replicas`, so the provider waits for the replica of `sessions` until its
    timeout.
    AWS: `Create` adds a replica (a table of the same schema in that region,
    CREATING then ACTIVE) listed in DescribeTable `Replicas` of every replica;
    `Delete` removes it and its table.
    Patch: `Create` creates the table in the replica region's backend (same
    keys, attributes, billing mode, streams, SSE, indexes) and lists the
    replica as ACTIVE at once, in both regions; `Update` keeps it; `Delete`
    removes it from `Replicas` and deletes the replica region's table.
    DescribeTable also answers `GlobalTableVersion` 2019.11.21 while a table
    has replicas. Deleting a table drops it from its peers' `Replicas`.
    """
    from moto.dynamodb import responses as r
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    def replicas_of(table: Table) -> dict[str, dict[str, Any]]:
        if not hasattr(table, "_drgen_replicas"):
            table._drgen_replicas = {}  # type: ignore[attr-defined]
        return table._drgen_replicas  # type: ignore[attr-defined]

    orig_describe = Table.describe

    @functools.wraps(orig_describe)
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        out = orig_describe(self, base_key)
        reps = replicas_of(self)
        if reps:
            out[base_key]["GlobalTableVersion"] = "2019.11.21"
            out[base_key]["Replicas"] = [copy.deepcopy(v) for _, v in sorted(reps.items())]
        return out

    Table.describe = describe  # type: ignore[method-assign]

    def replica_desc(region: str, spec: dict[str, Any]) -> dict[str, Any]:
        d: dict[str, Any] = {"RegionName": region, "ReplicaStatus": "ACTIVE"}
        if spec.get("KMSMasterKeyId"):
            d["KMSMasterKeyId"] = spec["KMSMasterKeyId"]
        return d

    orig_update = r.DynamoHandler.update_table

    @functools.wraps(orig_update)
    def update_table(self: r.DynamoHandler):  # type: ignore[no-untyped-def]
        updates = self.body.get("ReplicaUpdates") or []
        if updates:
            account = self.current_account
            src = self.dynamodb_backend.get_table(self.body["TableName"])
            for u in updates:
                if "Create" in u:
                    spec = u["Create"]
                    region = spec["RegionName"]
                    backend = dynamodb_backends[account][region]
                    if src.name not in backend.tables:
                        backend.create_table(
                            src.name,
                            schema=copy.deepcopy(src.schema),
                            throughput=copy.deepcopy(getattr(src, "throughput", None))
                            if src.billing_mode != "PAY_PER_REQUEST" else None,
                            attr=copy.deepcopy(src.attr),
                            global_indexes=[i.describe() for i in src.global_indexes],
                            indexes=[i.describe() for i in src.indexes],
                            streams=copy.deepcopy(src.stream_specification),
                            billing_mode=src.billing_mode,
                            sse_specification=copy.deepcopy(src.sse_specification),
                            tags=[],
                            deletion_protection_enabled=False,
                            warm_throughput=None,
                        )
                    replicas_of(src)[region] = replica_desc(region, spec)
                    replicas_of(backend.tables[src.name])[self.region] = replica_desc(self.region, {})
                elif "Update" in u:
                    region = u["Update"]["RegionName"]
                    if region in replicas_of(src):
                        replicas_of(src)[region].update(
                            replica_desc(region, u["Update"]))
                elif "Delete" in u:
                    region = u["Delete"]["RegionName"]
                    replicas_of(src).pop(region, None)
                    backend = dynamodb_backends[account][region]
                    if src.name in backend.tables:
                        backend.tables.pop(src.name)
        return orig_update(self)

    r.DynamoHandler.update_table = update_table  # type: ignore[method-assign]

    from moto.dynamodb.models import DynamoDBBackend

    orig_delete = DynamoDBBackend.delete_table

    @functools.wraps(orig_delete)
    def delete_table(self: DynamoDBBackend, name: str) -> Table:
        table = orig_delete(self, name)
        for region in list(replicas_of(table)):
            peer = dynamodb_backends[self.account_id][region].tables.get(table.name)
            if peer is not None:
                replicas_of(peer).pop(self.region_name, None)
        return table

    DynamoDBBackend.delete_table = delete_table  # type: ignore[method-assign]


# --------------------------------------------------------------------------- Lambda
@extension
def lambda_vpc_config_vpc_id() -> None:
    """Lambda VpcConfig.VpcId is the VPC of the function's subnets.

    moto: GetFunction answers the fixed `VpcConfig.VpcId` "vpc-123abc".
    AWS: `VpcId` is the VPC the configured subnets belong to.
    Patch: looks the first subnet up in the EC2 backend of the function's
    account and region and answers its VPC id (moto's value when the subnet
    is unknown). Destroying a function with
    `replace_security_groups_on_destroy` then finds that VPC's default
    security group.
    """
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models import ec2_backends

    orig = LambdaFunction.vpc_config

    def vpc_config(self: LambdaFunction) -> dict[str, Any] | None:
        config = orig.fget(self)  # type: ignore[union-attr]
        if config and config.get("SubnetIds"):
            try:
                subnet = ec2_backends[self.account_id][self.region].get_subnet(config["SubnetIds"][0])
                config["VpcId"] = subnet.vpc_id
            except Exception:  # unknown subnet: keep moto's answer
                pass
        return config

    LambdaFunction.vpc_config = property(vpc_config)  # type: ignore[assignment,method-assign]


# --------------------------------------------------------------------------- RDS
def _all_global_clusters(account_id: str):  # type: ignore[no-untyped-def]
    from moto.rds.models import rds_backends

    backends = rds_backends[account_id]
    for region in list(backends.keys()):
        for gc in list(backends[region].global_clusters.values()):
            yield backends[region], gc


def _matches_global(gc, ident: str) -> bool:  # type: ignore[no-untyped-def]
    return ident in (gc.global_cluster_identifier, gc.global_cluster_arn)


@extension
def rds_global_cluster_membership_across_regions() -> None:
    """RDS global cluster members are removed in every region (RemoveFromGlobalCluster, DeleteDBCluster).

    moto: the global cluster lives in one region's backend (us-east-1), but
    RemoveFromGlobalCluster and DeleteDBCluster only look in the caller's
    region, so a deleted cross-region secondary cluster stays a member and
    DeleteGlobalCluster answers "not empty" until the provider's timeout.
    AWS: global clusters are global; removing or deleting a member cluster
    removes it from the global cluster whatever the region of the call.
    Patch: RemoveFromGlobalCluster accepts the global cluster's id or ARN and
    the member's id or ARN in any region (the removed cluster becomes a
    standalone cluster); DeleteDBCluster removes the deleted cluster from
    every global cluster of the account, in every region.
    """
    from moto.rds.models import RDSBackend

    orig_remove = RDSBackend.remove_from_global_cluster

    @functools.wraps(orig_remove)
    def remove_from_global_cluster(self: RDSBackend, global_cluster_identifier: str, db_cluster_identifier: str):  # type: ignore[no-untyped-def]
        found = None
        for _, gc in _all_global_clusters(self.account_id):
            if not _matches_global(gc, global_cluster_identifier):
                continue
            for m in list(gc.members):
                if db_cluster_identifier in (m.db_cluster_identifier, m.db_cluster_arn):
                    gc.members.remove(m)
                    m.global_cluster_identifier = None
                    if gc.members and not any(x.is_writer for x in gc.members):
                        gc.members[0].is_writer = True
                    found = gc
        return found if found is not None else orig_remove(self, global_cluster_identifier, db_cluster_identifier)

    RDSBackend.remove_from_global_cluster = remove_from_global_cluster  # type: ignore[method-assign]

    orig_delete = RDSBackend.delete_db_cluster

    @functools.wraps(orig_delete)
    def delete_db_cluster(self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None):  # type: ignore[no-untyped-def]
        cluster = orig_delete(self, cluster_identifier, snapshot_name)
        for _, gc in _all_global_clusters(self.account_id):
            gc.members = [m for m in gc.members if m is not cluster and m.db_cluster_arn != cluster.db_cluster_arn]
        return cluster

    RDSBackend.delete_db_cluster = delete_db_cluster  # type: ignore[method-assign]


@extension
def rds_instance_monitoring_and_performance_insights() -> None:
    """RDS instances keep Enhanced Monitoring and Performance Insights settings.

    moto: CreateDBInstance/ModifyDBInstance drop `MonitoringInterval`,
    `MonitoringRoleArn`, `EnablePerformanceInsights`,
    `PerformanceInsightsKMSKeyId` and `PerformanceInsightsRetentionPeriod`;
    DescribeDBInstances answers none of them, so every re-plan shows a diff.
    AWS: they are stored and described (retention 7 days by default when
    Performance Insights is on).
    Patch: stores them on create and modify and describes them
    (`PerformanceInsightsEnabled`, ...).
    """
    from moto.rds.models import DBInstance

    def remember(self: DBInstance, kw: dict[str, Any]) -> None:
        if kw.get("monitoring_interval") is not None:
            self.monitoring_interval = int(kw["monitoring_interval"])  # type: ignore[attr-defined]
        if kw.get("monitoring_role_arn") is not None:
            self.monitoring_role_arn = kw["monitoring_role_arn"]  # type: ignore[attr-defined]
        if kw.get("enable_performance_insights") is not None:
            on = str(kw["enable_performance_insights"]).lower() in ("true", "1")
            self.performance_insights_enabled = on  # type: ignore[attr-defined]
            if on and getattr(self, "performance_insights_retention_period", None) is None:
                self.performance_insights_retention_period = 7  # type: ignore[attr-defined]
        if kw.get("performance_insights_kms_key_id") is not None:
            self.performance_insights_kms_key_id = kw["performance_insights_kms_key_id"]  # type: ignore[attr-defined]
        if kw.get("performance_insights_retention_period") is not None:
            self.performance_insights_retention_period = int(kw["performance_insights_retention_period"])  # type: ignore[attr-defined]

    orig_init = DBInstance.__init__

    @functools.wraps(orig_init)
    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        orig_init(self, *args, **kwargs)
        if getattr(self, "monitoring_interval", None) is None:
            self.monitoring_interval = 0  # type: ignore[attr-defined]
        if getattr(self, "performance_insights_enabled", None) is None:
            self.performance_insights_enabled = False  # type: ignore[attr-defined]
        remember(self, kwargs)

    DBInstance.__init__ = __init__  # type: ignore[method-assign]

    orig_update = DBInstance.update

    @functools.wraps(orig_update)
    def update(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        kw = dict(kwargs)
        orig_update(self, *args, **{k: v for k, v in kwargs.items() if k != "enable_performance_insights"})
        remember(self, kw)

    DBInstance.update = update  # type: ignore[method-assign]


@extension
def rds_cluster_scaling_configuration_only_serverless() -> None:
    """RDS DescribeDBClusters answers ScalingConfigurationInfo only for Aurora Serverless v1.

    moto: every cluster gets a `ScalingConfigurationInfo` with empty fields,
    which the provider reads as a `scaling_configuration` block of nulls, so
    every re-plan of a provisioned cluster shows a diff.
    AWS: the field is present only for `EngineMode` serverless.
    Patch: no `ScalingConfigurationInfo` unless the engine mode is serverless.
    """
    from moto.rds.models import DBCluster

    orig = DBCluster.scaling_configuration_info

    def scaling_configuration_info(self: DBCluster) -> dict[str, Any] | None:
        if getattr(self, "engine_mode", None) != "serverless":
            return None
        return orig.fget(self)  # type: ignore[union-attr]

    DBCluster.scaling_configuration_info = property(scaling_configuration_info)  # type: ignore[assignment,method-assign]


@extension
def lambda_kms_key_and_logging_config() -> None:
    """Lambda keeps KMSKeyArn and LoggingConfig.

    moto: CreateFunction/UpdateFunctionConfiguration drop `KMSKeyArn` and
    `LoggingConfig`; GetFunction answers neither, so every re-plan shows a
    diff on `kms_key_arn` and `logging_config`.
    AWS: both are stored; `LoggingConfig` is always answered (default
    LogFormat Text, LogGroup /aws/lambda/<name>).
    Patch: stores both on create and on configuration update and answers them.
    """
    from moto.awslambda.models import LambdaFunction

    orig_init = LambdaFunction.__init__

    @functools.wraps(orig_init)
    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *a: Any, **kw: Any) -> None:
        orig_init(self, account_id, spec, *a, **kw)
        self._drgen_kms_key_arn = spec.get("KMSKeyArn")  # type: ignore[attr-defined]
        self._drgen_logging_config = spec.get("LoggingConfig")  # type: ignore[attr-defined]

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]

    orig_get = LambdaFunction.get_configuration

    @functools.wraps(orig_get)
    def get_configuration(self: LambdaFunction, *a: Any, **kw: Any) -> dict[str, Any]:
        config = orig_get(self, *a, **kw)
        if getattr(self, "_drgen_kms_key_arn", None):
            config["KMSKeyArn"] = self._drgen_kms_key_arn  # type: ignore[attr-defined]
        logging = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.function_name}"}
        logging.update(getattr(self, "_drgen_logging_config", None) or {})
        config["LoggingConfig"] = logging
        return config

    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]

    orig_update = LambdaFunction.update_configuration

    @functools.wraps(orig_update)
    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "KMSKeyArn" in config_updates:
            self._drgen_kms_key_arn = config_updates["KMSKeyArn"] or None  # type: ignore[attr-defined]
        if "LoggingConfig" in config_updates:
            self._drgen_logging_config = config_updates["LoggingConfig"]  # type: ignore[attr-defined]
        return orig_update(self, config_updates)

    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


@extension
def rds_global_cluster_tags() -> None:
    """RDS global clusters keep their tags.

    moto: CreateGlobalCluster drops `Tags`, and ListTagsForResource /
    AddTagsToResource / RemoveTagsFromResource do not find global clusters
    (their ARN has no region), so every re-plan shows the tags as added.
    AWS: global clusters are taggable like clusters.
    Patch: CreateGlobalCluster stores `Tags`; the tagging calls find a
    global cluster by the name in its ARN, in any region of the account.
    """
    from moto.rds.models import RDSBackend
    from moto.rds.responses import RDSResponse

    orig_create = RDSResponse.create_global_cluster

    @functools.wraps(orig_create)
    def create_global_cluster(self: RDSResponse):  # type: ignore[no-untyped-def]
        res = orig_create(self)
        tags = self.params.get("Tags")
        if tags:
            ident = self.params["GlobalClusterIdentifier"]
            for _, gc in _all_global_clusters(self.current_account):
                if _matches_global(gc, ident.lower()) or _matches_global(gc, ident):
                    gc.add_tags([{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags])
        return res

    RDSResponse.create_global_cluster = create_global_cluster  # type: ignore[method-assign]

    orig_get = RDSBackend._get_resource_for_tagging

    @functools.wraps(orig_get)
    def _get_resource_for_tagging(self: RDSBackend, arn: str):  # type: ignore[no-untyped-def]
        parts = arn.split(":")
        if len(parts) >= 7 and parts[-2] == "global-cluster":
            for _, gc in _all_global_clusters(self.account_id):
                if gc.global_cluster_identifier == parts[-1].lower():
                    return gc
        return orig_get(self, arn)

    RDSBackend._get_resource_for_tagging = _get_resource_for_tagging  # type: ignore[method-assign]


@extension
def ec2_security_group_rule_description() -> None:
    """EC2 security group rules keep the description of a group or prefix-list reference.

    moto: a rule's `Description` is read from its CIDR range only; a rule
    that references a security group (`UserIdGroupPairs`) or a prefix list
    (`PrefixListIds`) is described with no description, so every re-plan of
    `aws_vpc_security_group_{ingress,egress}_rule` shows a diff.
    AWS: the description is stored whatever the rule's source.
    Patch: keeps the description given with the group or prefix-list
    reference and answers it in DescribeSecurityGroupRules.
    """
    import inspect

    from moto.ec2.models.security_groups import SecurityGroupRule

    orig_init = SecurityGroupRule.__init__
    sig = inspect.signature(orig_init)

    @functools.wraps(orig_init)
    def __init__(self: SecurityGroupRule, *a: Any, **kw: Any) -> None:
        orig_init(self, *a, **kw)
        b = sig.bind(self, *a, **kw)
        desc = None
        for key in ("source_group", "prefix_list_id"):
            v = b.arguments.get(key)
            if isinstance(v, dict) and v.get("Description"):
                desc = v["Description"]
        self._drgen_description = desc  # type: ignore[attr-defined]

    SecurityGroupRule.__init__ = __init__  # type: ignore[method-assign]
    orig_desc = SecurityGroupRule.description

    def description(self: SecurityGroupRule) -> str | None:
        return orig_desc.fget(self) or getattr(self, "_drgen_description", None)  # type: ignore[union-attr]

    SecurityGroupRule.description = property(description)  # type: ignore[assignment,method-assign]


@extension
def rds_instance_default_ca_certificate() -> None:
    """RDS instances get AWS's default CA certificate, rds-ca-rsa2048-g1.

    moto: an instance created without `CACertificateIdentifier` answers
    "rds-ca-default" (no such CA). The provider creates Aurora instances
    without it and, seeing a different CA than configured, calls
    ModifyDBInstance, RebootDBInstance and two more availability waiters:
    about 2.5 of the 3 minutes an `aws_rds_cluster_instance` took to create.
    AWS: new instances get rds-ca-rsa2048-g1 (the default since 2024), so a
    configuration naming that CA creates with no modify and no reboot.
    Patch: the default is rds-ca-rsa2048-g1; an explicit value is kept.
    """
    from moto.rds.models import DBInstance

    orig_init = DBInstance.__init__

    @functools.wraps(orig_init)
    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("ca_certificate_identifier", "rds-ca-rsa2048-g1")
        if kwargs["ca_certificate_identifier"] in (None, "", "rds-ca-default"):
            kwargs["ca_certificate_identifier"] = "rds-ca-rsa2048-g1"
        orig_init(self, *args, **kwargs)

    DBInstance.__init__ = __init__  # type: ignore[method-assign]


@extension
def s3_replication_delete_marker_replication() -> None:
    """S3 GetBucketReplication answers the stored DeleteMarkerReplication.

    moto: GetBucketReplication answers `DeleteMarkerReplication` Disabled
    whatever PutBucketReplication stored, so every re-plan of a rule with
    `delete_marker_replication { status = "Enabled" }` shows a diff.
    AWS: the stored value is answered.
    Patch: answers the rule's stored `DeleteMarkerReplication` (Disabled when
    the rule has none, as before); the rest of moto's answer is unchanged.
    """
    from moto.s3.responses import S3Response

    orig = S3Response.get_bucket_replication

    @functools.wraps(orig)
    def get_bucket_replication(self: S3Response):  # type: ignore[no-untyped-def]
        replication = self.backend.get_bucket_replication(self.bucket_name)
        rules = (replication or {}).get("Rule") or []
        if isinstance(rules, dict):
            rules = [rules]
        stored = {}
        for rule in rules:
            dmr = rule.get("DeleteMarkerReplication")
            if isinstance(dmr, dict) and dmr.get("Status") in ("Enabled", "Disabled"):
                stored[str(rule.get("ID"))] = dmr["Status"]
        out = orig(self)
        if not stored:
            return out
        status, headers, body = out if isinstance(out, tuple) else (200, {}, out)
        text = body.decode() if isinstance(body, bytes) else body
        # One <Rule> per stored rule, in order: rewrite each rule's status.
        import re as _re

        def fix(m):  # type: ignore[no-untyped-def]
            rule_xml = m.group(0)
            idm = _re.search(r"<ID>(.*?)</ID>", rule_xml)
            want = stored.get(idm.group(1) if idm else "")
            if want is None:
                return rule_xml
            return _re.sub(r"(<DeleteMarkerReplication>\s*<Status>)\w+(</Status>)",
                           lambda mm: mm.group(1) + want + mm.group(2), rule_xml)

        text = _re.sub(r"<Rule>.*?</Rule>", fix, text, flags=_re.S)
        return status, headers, text

    S3Response.get_bucket_replication = get_bucket_replication  # type: ignore[method-assign]


@extension
def apigateway_rest_api_policy_escaped() -> None:
    """API Gateway answers a REST API's resource policy as an escaped JSON string.

    moto: GetRestApi answers `policy` as the raw JSON document, and a PATCH
    of `/disableExecuteApiEndpoint` to "false" stores True (bool of a
    non-empty string). The provider unescapes the policy as AWS sends it and
    fails (`aws_api_gateway_rest_api_policy`: "invalid character ... after
    top-level value").
    AWS: `policy` is the document with its quotes escaped
    ({\\"Version\\":...}); "false" means false.
    Patch: answers the policy escaped (stored as given); parses the boolean
    patch value.
    """
    import json as _json

    from moto.apigateway.models import RestAPI

    orig_to_dict = RestAPI.to_dict

    @functools.wraps(orig_to_dict)
    def to_dict(self: RestAPI) -> dict[str, Any]:
        d = orig_to_dict(self)
        pol = d.get(RestAPI.PROP_POLICY)
        if isinstance(pol, str) and pol.lstrip().startswith("{") and '\\"' not in pol:
            d[RestAPI.PROP_POLICY] = _json.dumps(_json.dumps(_json.loads(pol), separators=(",", ":")))[1:-1]
        return d

    RestAPI.to_dict = to_dict  # type: ignore[method-assign]

    orig_patch = RestAPI.apply_patch_operations

    @functools.wraps(orig_patch)
    def apply_patch_operations(self: RestAPI, patch_operations: list[dict[str, Any]]) -> None:
        orig_patch(self, patch_operations)
        for op in patch_operations:
            if op.get("path") == "/disableExecuteApiEndpoint" and op.get("op") == "replace":
                self.disableExecuteApiEndpoint = str(op.get("value", "")).lower() == "true"

    RestAPI.apply_patch_operations = apply_patch_operations  # type: ignore[method-assign]


def apply() -> list[str]:
    """Installs every extension once; returns their names."""
    global _APPLIED
    if not _APPLIED:
        for name, _ in EXTENSIONS:
            globals()[name]()
        _APPLIED = True
    return [n for n, _ in EXTENSIONS]
