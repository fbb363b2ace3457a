//! Tests for `check_tree`: a clean tree, then one broken variant per check.

use super::*;
use serde_json::{json, Value};

const MODULE_VARS: &str = "modules/primary/variables.tf.json";
const MODULE_MAIN: &str = "modules/primary/main.tf.json";
const MODULE_VERSIONS: &str = "modules/primary/versions.tf.json";
const ROOT_PRIMARY: &str = "envs/dev/primary/main.tf.json";
const ROOT_DR: &str = "envs/dev/dr/main.tf.json";

fn clean_tree() -> BTreeMap<String, Value> {
    let mut t = BTreeMap::new();
    t.insert(
        MODULE_VARS.to_string(),
        json!({
            "variable": {
                "name": {"type": "string", "description": "Stack name"},
                "vpc_cidr": {
                    "type": "string",
                    "default": "10.0.0.0/16",
                    "validation": {
                        "condition": "${can(cidrhost(var.vpc_cidr, 0))}",
                        "error_message": "vpc_cidr must be a CIDR block."
                    }
                },
                "azs": {"type": "list(string)"},
                "tags": {"type": "map(string)", "default": {}},
                "db": {"type": "object({instance_class = string, instances = optional(number, 1)})"},
                "ingress_cidrs": {"type": "list(string)", "default": ["10.0.0.0/8"]}
            }
        }),
    );
    t.insert(
        MODULE_VERSIONS.to_string(),
        json!({
            "terraform": {
                "required_providers": {
                    "aws": {
                        "source": "hashicorp/aws",
                        "version": "~> 6.25",
                        "configuration_aliases": ["aws.dr"]
                    }
                }
            }
        }),
    );
    t.insert(
        MODULE_MAIN.to_string(),
        json!({
            "//": "generated",
            "data": {
                "aws_region": {"current": {}},
                "aws_caller_identity": {"current": {}},
                "aws_iam_policy_document": {
                    "assume": {
                        "statement": [{
                            "actions": ["sts:AssumeRole"],
                            "principals": {"type": "Service", "identifiers": ["lambda.amazonaws.com"]}
                        }]
                    }
                }
            },
            "ephemeral": {"aws_secretsmanager_random_password": {"db": {"password_length": 32, "exclude_punctuation": true}}},
            "locals": {
                "name": "${var.name}-${data.aws_region.current.region}",
                "az_count": "${length(var.azs)}",
                "account": "${data.aws_caller_identity.current.account_id}"
            },
            "resource": {
                "aws_vpc": {
                    "this": {
                        "cidr_block": "${var.vpc_cidr}",
                        "enable_dns_hostnames": true,
                        "enable_dns_support": "true",
                        "tags": "${merge(var.tags, {Name = local.name, Account = local.account})}"
                    }
                },
                "aws_subnet": {
                    "private": {
                        "count": "${local.az_count}",
                        "vpc_id": "${aws_vpc.this.id}",
                        "cidr_block": "${cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)}",
                        "availability_zone": "${var.azs[count.index]}",
                        "tags": {"Name": "${local.name}-private-${count.index}", "Tier": "private"}
                    }
                },
                "aws_security_group": {
                    "db": {
                        "name": "${local.name}-db",
                        "vpc_id": "${aws_vpc.this.id}",
                        "dynamic": {
                            "ingress": {
                                "for_each": "${toset(var.ingress_cidrs)}",
                                "iterator": "cidr",
                                "content": {
                                    "from_port": 5432,
                                    "to_port": 5432,
                                    "protocol": "tcp",
                                    "cidr_blocks": ["${cidr.value}"]
                                }
                            }
                        }
                    }
                },
                "aws_rds_cluster": {
                    "this": {
                        "cluster_identifier": "${local.name}",
                        "engine": "aurora-postgresql",
                        "master_username": "app",
                        "master_password_wo": "${ephemeral.aws_secretsmanager_random_password.db.random_password}",
                        "master_password_wo_version": "1",
                        "vpc_security_group_ids": ["${aws_security_group.db.id}"],
                        "timeouts": {"create": "2h"},
                        "lifecycle": {"ignore_changes": ["tags"], "prevent_destroy": true},
                        "depends_on": ["aws_security_group.db"]
                    }
                },
                "aws_rds_cluster_instance": {
                    "writer": {
                        "count": "${var.db.instances}",
                        "cluster_identifier": "${aws_rds_cluster.this.id}",
                        "instance_class": "${var.db.instance_class}",
                        "engine": "${aws_rds_cluster.this.engine}",
                        "lifecycle": {
                            "postcondition": {
                                "condition": "${self.engine == aws_rds_cluster.this.engine}",
                                "error_message": "engine mismatch"
                            }
                        }
                    }
                },
                "aws_s3_bucket": {
                    "replica": {"provider": "aws.dr", "bucket": "${local.name}-replica"}
                },
                "aws_s3_bucket_versioning": {
                    "replica": {
                        "provider": "aws.dr",
                        "bucket": "${aws_s3_bucket.replica.id}",
                        "versioning_configuration": {"status": "Enabled"}
                    }
                },
                "aws_iam_role": {
                    "fn": {
                        "name": "${local.name}-fn",
                        "assume_role_policy": "${data.aws_iam_policy_document.assume.json}"
                    }
                },
                "terraform_data": {
                    "marker": {
                        "input": {"cluster": "${aws_rds_cluster.this.arn}", "n": 1},
                        "triggers_replace": ["${aws_vpc.this.id}"]
                    }
                }
            },
            "output": {
                "vpc_id": {"value": "${aws_vpc.this.id}", "description": "VPC id"},
                "subnet_ids": {"value": "${aws_subnet.private[*].id}"},
                "writer_ids": {"value": "${[for w in aws_rds_cluster_instance.writer : w.id]}"},
                "role_arn": {"value": "${aws_iam_role.fn.arn}"}
            }
        }),
    );
    t.insert(
        ROOT_PRIMARY.to_string(),
        json!({
            "terraform": {
                "backend": {"s3": {"bucket": "tfstate-dev", "key": "dev/primary.tfstate", "region": "us-east-1"}},
                "required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 6.25"}}
            },
            "provider": {
                "aws": [
                    {"region": "us-east-1", "default_tags": {"tags": {"env": "dev"}}},
                    {"alias": "dr", "region": "us-west-2", "allowed_account_ids": ["123456789012"]}
                ]
            },
            "module": {
                "primary": {
                    "source": "../../../modules/primary",
                    "providers": {"aws": "aws", "aws.dr": "aws.dr"},
                    "name": "pay-dev",
                    "azs": ["us-east-1a", "us-east-1b"],
                    "db": {"instance_class": "db.r6g.large"}
                }
            },
            "output": {
                "vpc_id": {"value": "${module.primary.vpc_id}"},
                "subnet_ids": {"value": "${module.primary.subnet_ids}"}
            }
        }),
    );
    t.insert(
        ROOT_DR.to_string(),
        json!({
            "terraform": {
                "backend": {"s3": {"bucket": "tfstate-dev", "key": "dev/dr.tfstate", "region": "us-east-1"}}
            },
            "provider": {"aws": {"region": "us-west-2"}},
            "variable": {"env": {"type": "string", "default": "dev"}},
            "data": {
                "terraform_remote_state": {
                    "primary": {
                        "backend": "s3",
                        "config": {"bucket": "tfstate-dev", "key": "dev/primary.tfstate", "region": "us-east-1"}
                    }
                }
            },
            "resource": {
                "aws_sns_topic": {
                    "alerts": {
                        "name": "${var.env}-alerts",
                        "tags": {"vpc": "${data.terraform_remote_state.primary.outputs.vpc_id}"}
                    }
                }
            }
        }),
    );
    t
}

fn run(t: &BTreeMap<String, Value>) -> Vec<Finding> {
    check_tree(t, Schemas::vendored())
}

fn show(f: &[Finding]) -> String {
    f.iter().map(|f| format!("{f}\n")).collect()
}

/// Exactly the findings matching `address` and containing `needle`; fails
/// unless at least one does.
#[track_caller]
fn expect(f: &[Finding], file: &str, address: &str, needle: &str) {
    assert!(
        f.iter()
            .any(|x| x.file == file && x.address == address && x.message.contains(needle)),
        "no finding {file}: {address}: ..{needle}.. in:\n{}",
        show(f)
    );
}

/// Mutate the JSON at `pointer` in `file`.
fn edit(t: &mut BTreeMap<String, Value>, file: &str, pointer: &str, f: impl FnOnce(&mut Value)) {
    let doc = t.get_mut(file).expect("file in tree");
    f(doc.pointer_mut(pointer).expect("pointer exists"));
}

fn set(t: &mut BTreeMap<String, Value>, file: &str, pointer: &str, key: &str, v: Value) {
    edit(t, file, pointer, |x| {
        x.as_object_mut()
            .expect("object")
            .insert(key.to_string(), v);
    });
}

fn remove(t: &mut BTreeMap<String, Value>, file: &str, pointer: &str, key: &str) {
    edit(t, file, pointer, |x| {
        x.as_object_mut().expect("object").remove(key);
    });
}

/// Run and require that every finding mentions `address` (the broken bit
/// causes nothing else), returning the findings.
#[track_caller]
fn only(t: &BTreeMap<String, Value>, address: &str) -> Vec<Finding> {
    let f = run(t);
    assert!(!f.is_empty(), "expected findings for {address}");
    assert!(
        f.iter().all(|x| x.address == address),
        "unexpected findings besides {address}:\n{}",
        show(&f)
    );
    f
}

// ------------------------------------------------------------------ schema

#[test]
fn tfcheck_vendored_schema_loads() {
    let s = Schemas::vendored();
    assert!(s.resource("aws_vpc").is_some());
    assert!(s.resource("terraform_data").is_some());
    assert!(s.data_source("terraform_remote_state").is_some());
    assert!(s.data_source("aws_region").is_some());
    assert!(s.ephemeral("aws_secretsmanager_random_password").is_some());
    assert!(s
        .provider("aws")
        .is_some_and(|p| p.attribute("region").is_some()));
    assert!(
        s.provider("random").is_none(),
        "one provider: no hashicorp/random"
    );
    assert!(s.resource("aws_region").is_none());
    assert!(s.is_taggable("aws_vpc"));
    assert!(!s.is_taggable("aws_route_table_association"));
    assert!(!s.is_taggable("terraform_data"));
    assert!(!s.is_taggable("aws_nope"));
    let vpc = s.resource("aws_vpc").expect("aws_vpc");
    assert!(vpc
        .attribute("arn")
        .is_some_and(AttributeSchema::is_computed_only));
    assert!(!vpc
        .attribute("tags_all")
        .is_some_and(AttributeSchema::is_computed_only));
    let ver = s.resource("aws_s3_bucket_versioning").expect("versioning");
    let vc = ver.block_type("versioning_configuration").expect("block");
    assert_eq!((vc.min_items, vc.max_items), (1, Some(1)));
}

#[test]
fn tfcheck_schema_from_json_errors() {
    assert!(matches!(Schemas::from_json("{"), Err(SchemaError::Json(_))));
    assert!(matches!(
        Schemas::from_json("[]"),
        Err(SchemaError::Format(_))
    ));
    assert!(matches!(
        Schemas::from_json(r#"{"format_version":"2.0","provider_schemas":{}}"#),
        Err(SchemaError::Format(_))
    ));
    let bad_type = r#"{"format_version":"1.0","provider_schemas":{"p/x":{"resource_schemas":
        {"x_a":{"version":0,"block":{"attributes":{"a":{"type":"strng","optional":true}}}}}}}}"#;
    let err = Schemas::from_json(bad_type).expect_err("bad type");
    assert!(err.to_string().contains("x_a.a"), "{err}");
    let bad_mode = r#"{"format_version":"1.0","provider_schemas":{"p/x":{"resource_schemas":
        {"x_a":{"block":{"block_types":{"b":{"nesting_mode":"weird","block":{}}}}}}}}}"#;
    assert!(matches!(
        Schemas::from_json(bad_mode),
        Err(SchemaError::BadNestingMode { .. })
    ));
    // Protocol-6 nested attribute types are understood.
    let nested = r#"{"format_version":"1.0","provider_schemas":{"registry.terraform.io/hashicorp/x":{
        "resource_schemas":{"x_a":{"block":{"attributes":{"n":{"optional":true,
        "nested_type":{"nesting_mode":"list","attributes":{"k":{"type":"string","required":true}}}}}}}}}}}"#;
    let s = Schemas::from_json(nested).expect("parses");
    let n = s.resource("x_a").and_then(|b| b.attribute("n")).expect("n");
    assert_eq!(n.ty.to_string(), "list(object)");
}

#[test]
fn tfcheck_clean_tree_has_no_findings() {
    let f = run(&clean_tree());
    assert!(f.is_empty(), "{}", show(&f));
}

#[test]
fn tfcheck_unknown_resource_type() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource",
        "aws_vpcc",
        json!({"x": {}}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource",
        "google_thing",
        json!({"x": {}}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/data",
        "aws_regionn",
        json!({"x": {}}),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpcc.x",
        "resource type `aws_vpcc` does not exist in the `aws` provider schema",
    );
    expect(&f, MODULE_MAIN, "google_thing.x", "provider `google`");
    expect(
        &f,
        MODULE_MAIN,
        "data.aws_regionn.x",
        "data source type `aws_regionn` does not exist",
    );
    assert_eq!(f.len(), 3, "{}", show(&f));
}

#[test]
fn tfcheck_unknown_attribute() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "cidr",
        json!("10.0.0.0/16"),
    );
    let f = only(&t, "aws_vpc.this");
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`cidr`: unsupported argument `cidr`",
    );
}

#[test]
fn tfcheck_computed_only_attribute_set() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "arn",
        json!("arn:aws:x"),
    );
    let f = only(&t, "aws_vpc.this");
    expect(&f, MODULE_MAIN, "aws_vpc.this", "`arn` is computed-only");
    assert_eq!(f.len(), 1);
}

#[test]
fn tfcheck_missing_required_attribute() {
    let mut t = clean_tree();
    remove(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_subnet/private",
        "vpc_id",
    );
    let f = only(&t, "aws_subnet.private");
    expect(
        &f,
        MODULE_MAIN,
        "aws_subnet.private",
        "missing required attribute `vpc_id`",
    );
    // Null counts as missing for required attributes.
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_subnet/private",
        "vpc_id",
        Value::Null,
    );
    expect(
        &run(&t),
        MODULE_MAIN,
        "aws_subnet.private",
        "must not be null",
    );
}

#[test]
fn tfcheck_missing_required_in_nested_block() {
    let mut t = clean_tree();
    remove(
        &mut t,
        MODULE_MAIN,
        "/data/aws_iam_policy_document/assume/statement/0/principals",
        "type",
    );
    let f = only(&t, "data.aws_iam_policy_document.assume");
    expect(
        &f,
        MODULE_MAIN,
        "data.aws_iam_policy_document.assume",
        "`statement[0].principals`: missing required attribute `type`",
    );
}

#[test]
fn tfcheck_unknown_attribute_in_nested_block() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_s3_bucket_versioning/replica/versioning_configuration",
        "enabled",
        json!(true),
    );
    let f = only(&t, "aws_s3_bucket_versioning.replica");
    expect(
        &f,
        MODULE_MAIN,
        "aws_s3_bucket_versioning.replica",
        "`versioning_configuration.enabled`: unsupported argument",
    );
}

#[test]
fn tfcheck_block_limits() {
    let p = "/resource/aws_s3_bucket_versioning/replica";
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "versioning_configuration",
        json!([{"status": "Enabled"}, {"status": "Suspended"}]),
    );
    let f = only(&t, "aws_s3_bucket_versioning.replica");
    expect(
        &f,
        MODULE_MAIN,
        "aws_s3_bucket_versioning.replica",
        "at most 1 `versioning_configuration` block(s) allowed, found 2",
    );

    let mut t = clean_tree();
    remove(&mut t, MODULE_MAIN, p, "versioning_configuration");
    let f = only(&t, "aws_s3_bucket_versioning.replica");
    expect(
        &f,
        MODULE_MAIN,
        "aws_s3_bucket_versioning.replica",
        "at least 1 `versioning_configuration` block(s) required, found 0",
    );

    // `single` nesting (timeouts) given twice.
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_rds_cluster/this",
        "timeouts",
        json!([{}, {}]),
    );
    expect(
        &run(&t),
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "at most 1 `timeouts` block(s) allowed, found 2",
    );
}

#[test]
fn tfcheck_block_given_as_value_and_attribute_as_block() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_s3_bucket_versioning/replica",
        "versioning_configuration",
        json!("Enabled"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "cidr_block",
        json!({"value": "10.0.0.0/16"}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_rds_cluster/this",
        "timeouts",
        json!(["2h"]),
    );
    let f = run(&t);
    expect(&f, MODULE_MAIN, "aws_s3_bucket_versioning.replica", "`versioning_configuration` is a block: give an object or an array of objects, not a string");
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`cidr_block`: expected string, got an object",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`timeouts[0]`: block must be an object, got a string",
    );
}

#[test]
fn tfcheck_literal_type_mismatch() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "enable_dns_hostnames",
        json!("yes"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "ipv4_netmask_length",
        json!(true),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_rds_cluster/this",
        "vpc_security_group_ids",
        json!("sg-1"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_subnet/private",
        "tags",
        json!({"a": ["x"]}),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`enable_dns_hostnames`: expected bool, got string \"yes\"",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`ipv4_netmask_length`: expected number, got a bool",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`vpc_security_group_ids`: expected set(string), got a string",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_subnet.private",
        "`tags.a`: expected string, got an array",
    );
    assert_eq!(f.len(), 4, "{}", show(&f));
}

#[test]
fn tfcheck_object_attribute_missing_fields() {
    // aws_security_group.ingress is set(object) with every field required
    // when written as a JSON attribute value.
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_security_group/db",
        "egress",
        json!([{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}]),
    );
    let f = only(&t, "aws_security_group.db");
    expect(
        &f,
        MODULE_MAIN,
        "aws_security_group.db",
        "`egress[0]`: object is missing attribute `description`",
    );
}

#[test]
fn tfcheck_dynamic_block_checks() {
    let p = "/resource/aws_security_group/db/dynamic/ingress/content";
    let mut t = clean_tree();
    set(&mut t, MODULE_MAIN, p, "port", json!(1));
    set(&mut t, MODULE_MAIN, p, "description", json!("${cidr.name}"));
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_security_group/db/dynamic",
        "vpc_id",
        json!({"for_each": [], "content": {}}),
    );
    let f = only(&t, "aws_security_group.db");
    expect(
        &f,
        MODULE_MAIN,
        "aws_security_group.db",
        "`dynamic.ingress.content.port`: unsupported argument",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_security_group.db",
        "iterator `cidr` only has `.key` and `.value`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_security_group.db",
        "`vpc_id` is an attribute of type string",
    );
}

#[test]
fn tfcheck_provider_block_schema() {
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_PRIMARY,
        "/provider/aws/0",
        "regoin",
        json!("us-east-1"),
    );
    set(
        &mut t,
        ROOT_PRIMARY,
        "/provider/aws/1",
        "default_tags",
        json!("env=dev"),
    );
    set(
        &mut t,
        ROOT_PRIMARY,
        "/provider/aws/1",
        "max_retries",
        json!("many"),
    );
    set(&mut t, ROOT_DR, "/provider", "gooogle", json!({}));
    let f = run(&t);
    expect(
        &f,
        ROOT_PRIMARY,
        "provider.aws",
        "`regoin`: unsupported argument",
    );
    expect(
        &f,
        ROOT_PRIMARY,
        "provider.aws.dr",
        "`default_tags` is a block",
    );
    expect(
        &f,
        ROOT_PRIMARY,
        "provider.aws.dr",
        "`max_retries`: expected number",
    );
    expect(
        &f,
        ROOT_DR,
        "provider.gooogle",
        "provider `gooogle` is not in the schema",
    );
    assert_eq!(f.len(), 4, "{}", show(&f));
}

#[test]
fn tfcheck_meta_arguments_are_not_attributes() {
    // count/for_each/depends_on/provider/lifecycle are accepted on every
    // kind; provisioner/connection only on resources.
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/data/aws_region/current",
        "provisioner",
        json!({}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "count",
        json!(1),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "for_each",
        json!({"a": 1}),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "data.aws_region.current",
        "unsupported argument `provisioner`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`count` and `for_each` are mutually exclusive",
    );
}

// -------------------------------------------------------------- references

#[test]
fn tfcheck_undeclared_references() {
    let mut t = clean_tree();
    let p = "/resource/aws_vpc/this";
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "instance_tenancy",
        json!("${var.tenancy}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv6_cidr_block",
        json!("${local.v6}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv4_ipam_pool_id",
        json!("${aws_vpc_ipam_pool.main.id}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv6_ipam_pool_id",
        json!("${data.aws_partition.current.partition}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv6_cidr_block_network_border_group",
        json!("${module.net.x}"),
    );
    set(&mut t, MODULE_MAIN, p, "dhcp_options_id", json!(1));
    let f = run(&t);
    let a = "aws_vpc.this";
    expect(
        &f,
        MODULE_MAIN,
        a,
        "reference to undeclared variable `var.tenancy`",
    );
    expect(
        &f,
        MODULE_MAIN,
        a,
        "reference to undeclared local `local.v6`",
    );
    expect(
        &f,
        MODULE_MAIN,
        a,
        "reference to undeclared `aws_vpc_ipam_pool.main`",
    );
    expect(
        &f,
        MODULE_MAIN,
        a,
        "reference to undeclared `data.aws_partition.current`",
    );
    expect(
        &f,
        MODULE_MAIN,
        a,
        "reference to undeclared module call `module.net`",
    );
    expect(&f, MODULE_MAIN, a, "`dhcp_options_id` is computed-only");
    assert_eq!(f.len(), 6, "{}", show(&f));
}

#[test]
fn tfcheck_reference_to_missing_attribute() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/output/vpc_id",
        "value",
        json!("${aws_vpc.this.vpc_id}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "r",
        json!("${data.aws_region.current.nam}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "p",
        json!("${ephemeral.aws_secretsmanager_random_password.db.random_passwordd}"),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "output.vpc_id",
        "`aws_vpc.this` has no attribute `vpc_id`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "local.r",
        "`data.aws_region.current` has no attribute `nam`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "local.p",
        "has no attribute `random_passwordd`",
    );
}

#[test]
fn tfcheck_instance_keys() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/output/subnet_ids",
        "value",
        json!("${aws_subnet.private.id}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/output/vpc_id",
        "value",
        json!("${aws_vpc.this[0].id}"),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "output.subnet_ids",
        "needs an instance key",
    );
    expect(
        &f,
        MODULE_MAIN,
        "output.vpc_id",
        "has neither count nor for_each; it cannot be indexed",
    );
}

#[test]
fn tfcheck_module_output_reference() {
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_PRIMARY,
        "/output/vpc_id",
        "value",
        json!("${module.primary.vpc}"),
    );
    let f = only(&t, "output.vpc_id");
    expect(
        &f,
        ROOT_PRIMARY,
        "output.vpc_id",
        "module `primary` (source `modules/primary`) declares no output `vpc`",
    );
}

#[test]
fn tfcheck_remote_state_output_missing() {
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/resource/aws_sns_topic/alerts",
        "display_name",
        json!("${data.terraform_remote_state.primary.outputs[\"cluster_arn\"]}"),
    );
    let f = only(&t, "aws_sns_topic.alerts");
    expect(&f, ROOT_DR, "aws_sns_topic.alerts", "reads output `cluster_arn`, but root `envs/dev/primary` (s3://tfstate-dev/dev/primary.tfstate) declares no such output");
}

#[test]
fn tfcheck_remote_state_no_matching_root() {
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/data/terraform_remote_state/primary/config",
        "key",
        json!("dev/primry.tfstate"),
    );
    let f = only(&t, "data.terraform_remote_state.primary");
    expect(&f, ROOT_DR, "data.terraform_remote_state.primary", "no root module in the tree has an s3 backend with bucket \"tfstate-dev\" and key \"dev/primry.tfstate\"");

    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/data/terraform_remote_state/primary/config",
        "region",
        json!("eu-west-1"),
    );
    remove(
        &mut t,
        ROOT_DR,
        "/data/terraform_remote_state/primary/config",
        "bucket",
    );
    let f = only(&t, "data.terraform_remote_state.primary");
    expect(
        &f,
        ROOT_DR,
        "data.terraform_remote_state.primary",
        "s3 remote state config needs `bucket`",
    );

    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/data/terraform_remote_state/primary/config",
        "region",
        json!("eu-west-1"),
    );
    let f = only(&t, "data.terraform_remote_state.primary");
    expect(
        &f,
        ROOT_DR,
        "data.terraform_remote_state.primary",
        "region \"eu-west-1\" differs from the backend region \"us-east-1\"",
    );
}

#[test]
fn tfcheck_context_references() {
    let mut t = clean_tree();
    let p = "/resource/aws_vpc/this";
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "instance_tenancy",
        json!("${each.key}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv6_cidr_block",
        json!("${count.index}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ipv4_ipam_pool_id",
        json!("${self.id}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "m",
        json!("${path.module}/${terraform.workspace}/${path.nowhere}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "z",
        json!("${[for s in var.azs : s if s != \"\"]}"),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`each` is only valid in a block with `for_each`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`count.index` is only valid in a block with `count`",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "`self` is only valid in provisioner",
    );
    expect(
        &f,
        MODULE_MAIN,
        "local.m",
        "incomplete or invalid reference `path...`",
    );
    assert_eq!(f.len(), 4, "{}", show(&f));
}

#[test]
fn tfcheck_bad_templates_and_functions() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "a",
        json!("${upper(var.name}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "b",
        json!("${uppercase(var.name)}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "c",
        json!("$${not.a.reference} %%{ literal }"),
    );
    let f = run(&t);
    expect(&f, MODULE_MAIN, "local.a", "invalid template expression");
    expect(
        &f,
        MODULE_MAIN,
        "local.b",
        "call to unknown function `uppercase`",
    );
    assert_eq!(f.len(), 2, "{}", show(&f));
}

#[test]
fn tfcheck_depends_on() {
    let p = "/resource/aws_rds_cluster/this";
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "depends_on",
        json!(["${aws_security_group.db}"]),
    );
    let f = only(&t, "aws_rds_cluster.this");
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`depends_on[0]`: `${aws_security_group.db}` must be a bare address",
    );

    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "depends_on",
        json!([
            "aws_security_group.app",
            "aws_security_group.db.id",
            "data.aws_region.current",
            "module.x"
        ]),
    );
    let f = only(&t, "aws_rds_cluster.this");
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`depends_on[0]`: `aws_security_group.app` is not declared",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`depends_on[1]`: `aws_security_group.db.id` must reference a whole object",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`depends_on[3]`: `module.x` is not declared",
    );
    assert_eq!(f.len(), 3, "{}", show(&f));
}

#[test]
fn tfcheck_lifecycle_ignore_changes() {
    let p = "/resource/aws_rds_cluster/this/lifecycle";
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "ignore_changes",
        json!(["master_pasword", "${tags}"]),
    );
    set(
        &mut t,
        MODULE_MAIN,
        p,
        "prevent_destroy",
        json!("${var.protect}"),
    );
    set(&mut t, MODULE_MAIN, p, "create_after_destroy", json!(true));
    let f = only(&t, "aws_rds_cluster.this");
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`lifecycle.ignore_changes[0]`: `master_pasword` is not an attribute",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`lifecycle.ignore_changes[1]`: `${tags}` must be a bare attribute name",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "`lifecycle.prevent_destroy`: expected a literal bool",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "unsupported lifecycle argument `create_after_destroy`",
    );
}

#[test]
fn tfcheck_provider_meta_argument() {
    let p = "/resource/aws_s3_bucket/replica";
    let mut t = clean_tree();
    set(&mut t, MODULE_MAIN, p, "provider", json!("${aws.dr}"));
    let f = only(&t, "aws_s3_bucket.replica");
    expect(
        &f,
        MODULE_MAIN,
        "aws_s3_bucket.replica",
        "must be a bare provider reference",
    );

    let mut t = clean_tree();
    set(&mut t, MODULE_MAIN, p, "provider", json!("aws.secondary"));
    let f = only(&t, "aws_s3_bucket.replica");
    expect(
        &f,
        MODULE_MAIN,
        "aws_s3_bucket.replica",
        "provider configuration `aws.secondary` is not available in this module",
    );

    // In a root, the alias must be a declared provider block.
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/resource/aws_sns_topic/alerts",
        "provider",
        json!("aws.dr"),
    );
    let f = only(&t, "aws_sns_topic.alerts");
    expect(
        &f,
        ROOT_DR,
        "aws_sns_topic.alerts",
        "provider configuration `aws.dr` is not available",
    );
}

#[test]
fn tfcheck_ephemeral_values() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_rds_cluster/this",
        "master_password",
        json!("${ephemeral.aws_secretsmanager_random_password.db.random_password}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/locals",
        "pw",
        json!("${ephemeral.aws_secretsmanager_random_password.db.random_password}"),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/output",
        "pw",
        json!({"value": "${local.pw}"}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/output",
        "pw_ok",
        json!({"value": "${local.pw}", "ephemeral": true}),
    );
    set(
        &mut t,
        MODULE_MAIN,
        "/output",
        "pw_null",
        json!({"value": "${ephemeralasnull(local.pw)}"}),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_MAIN,
        "aws_rds_cluster.this",
        "ephemeral value used in `master_password`, which is not a write-only",
    );
    expect(
        &f,
        MODULE_MAIN,
        "output.pw",
        "the output needs `\"ephemeral\": true`",
    );
    assert_eq!(f.len(), 2, "{}", show(&f));
}

// ------------------------------------------------------------ module calls

#[test]
fn tfcheck_module_call_arguments() {
    let p = "/module/primary";
    let mut t = clean_tree();
    remove(&mut t, ROOT_PRIMARY, p, "azs");
    set(&mut t, ROOT_PRIMARY, p, "region", json!("us-east-1"));
    set(
        &mut t,
        ROOT_PRIMARY,
        p,
        "db",
        json!({"instance_class": "db.r6g.large", "instances": "two"}),
    );
    set(&mut t, ROOT_PRIMARY, p, "tags", json!(["a"]));
    let f = only(&t, "module.primary");
    let a = "module.primary";
    expect(&f, ROOT_PRIMARY, a, "missing required argument `azs`");
    expect(
        &f,
        ROOT_PRIMARY,
        a,
        "unsupported argument `region`: module `modules/primary` declares no variable `region`",
    );
    expect(
        &f,
        ROOT_PRIMARY,
        a,
        "`db.instances`: expected number, got string \"two\"",
    );
    expect(
        &f,
        ROOT_PRIMARY,
        a,
        "`tags`: expected map(string), got an array",
    );
    assert_eq!(f.len(), 4, "{}", show(&f));
}

#[test]
fn tfcheck_module_source_and_providers() {
    let p = "/module/primary";
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_PRIMARY,
        p,
        "source",
        json!("../../modules/primary"),
    );
    let f = only(&t, "module.primary");
    expect(&f, ROOT_PRIMARY, "module.primary", "`source`: `../../modules/primary` resolves to `envs/modules/primary`, which has no .tf.json files");

    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_PRIMARY,
        p,
        "providers",
        json!({"aws": "aws", "aws.west": "aws.dr"}),
    );
    let f = only(&t, "module.primary");
    expect(&f, ROOT_PRIMARY, "module.primary", "`providers.aws.west`: module `modules/primary` has no configuration_aliases entry `aws.west`");
    expect(
        &f,
        ROOT_PRIMARY,
        "module.primary",
        "declares configuration_aliases `aws.dr`, which must be passed in `providers`",
    );

    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_PRIMARY,
        p,
        "providers",
        json!({"aws": "aws", "aws.dr": "aws.west"}),
    );
    let f = only(&t, "module.primary");
    expect(
        &f,
        ROOT_PRIMARY,
        "module.primary",
        "`providers.aws.dr`: provider configuration `aws.west` is not available",
    );
}

// ------------------------------------------------------------------ unused

#[test]
fn tfcheck_unused_variable() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_VARS,
        "/variable",
        "spare",
        json!({"type": "string", "default": "x"}),
    );
    // A variable only used in its own validation is still unused.
    set(
        &mut t,
        MODULE_VARS,
        "/variable",
        "lonely",
        json!({
            "type": "number",
            "default": 1,
            "validation": {"condition": "${var.lonely > 0}", "error_message": "positive"}
        }),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_VARS,
        "var.spare",
        "warning: variable `spare` is declared but never used",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.lonely",
        "warning: variable `lonely` is declared but never used",
    );
    assert_eq!(f.len(), 2, "{}", show(&f));
}

// ------------------------------------------------- declarations & structure

#[test]
fn tfcheck_duplicate_declarations_across_files() {
    let mut t = clean_tree();
    t.insert(
        "modules/primary/extra.tf.json".into(),
        json!({
            "variable": {"name": {"type": "string"}},
            "resource": {"aws_vpc": {"this": {}}},
            "output": {"vpc_id": {"value": "x"}}
        }),
    );
    let f = run(&t);
    // Files are read in path order: the first declaration wins, later ones
    // are reported.
    expect(
        &f,
        MODULE_VARS,
        "var.name",
        "duplicate declaration of `var.name` (already declared in modules/primary/extra.tf.json)",
    );
    expect(
        &f,
        MODULE_MAIN,
        "aws_vpc.this",
        "duplicate declaration of `aws_vpc.this`",
    );
    expect(&f, MODULE_MAIN, "output.vpc_id", "duplicate declaration");
    assert_eq!(f.len(), 3, "{}", show(&f));
}

#[test]
fn tfcheck_odd_structure_does_not_panic() {
    let mut t = clean_tree();
    t.insert("modules/primary/a.tf.json".into(), json!([1, 2]));
    t.insert(
        "modules/primary/b.tf.json".into(),
        json!({
            "resources": {},
            "resource": {"aws_vpc": {"x": "nope", "y": [1]}},
            "variable": 3,
            "locals": "x",
            "module": {"m": {}},
            "provider": {"aws": {"alias": 5}},
            "output": {"o": {"value": {"${var.name}": ["${local.name}"]}}},
            "moved": {"from": "aws_vpc.old", "to": "aws_vpc.nowhere"},
            "import": [{"to": "aws_vpc.this", "id": "vpc-1"}],
            "check": {"c": {"assert": {"condition": "${data.aws_region.x.region == \"a\"}"}}}
        }),
    );
    t.insert("modules/primary/README.md".into(), json!("ignored"));
    let f = run(&t);
    let b = "modules/primary/b.tf.json";
    expect(
        &f,
        "modules/primary/a.tf.json",
        "(file)",
        "must hold a JSON object",
    );
    expect(&f, b, "resources", "unknown top-level key `resources`");
    expect(&f, b, "aws_vpc.x", "block body must be an object");
    expect(&f, b, "var", "`var` must be an object");
    expect(&f, b, "locals", "`locals` must be an object");
    expect(&f, b, "module.m", "module call needs a `source`");
    expect(&f, b, "provider.aws", "`alias` must be a string");
    expect(&f, b, "moved", "`to`: `aws_vpc.nowhere` is not declared");
    expect(&f, b, "check.c", "`assert`: missing `error_message`");
    expect(
        &f,
        b,
        "check.c",
        "reference to undeclared `data.aws_region.x`",
    );
}

#[test]
fn tfcheck_variable_declarations() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_VARS,
        "/variable/azs",
        "type",
        json!("${list(string)}"),
    );
    set(
        &mut t,
        MODULE_VARS,
        "/variable/tags",
        "type",
        json!("dict(string)"),
    );
    set(
        &mut t,
        MODULE_VARS,
        "/variable/vpc_cidr",
        "default",
        json!("${var.name}"),
    );
    set(
        &mut t,
        MODULE_VARS,
        "/variable/ingress_cidrs",
        "default",
        json!("10.0.0.0/8"),
    );
    set(
        &mut t,
        MODULE_VARS,
        "/variable/name",
        "sensitive",
        json!("maybe"),
    );
    set(
        &mut t,
        MODULE_VARS,
        "/variable/name",
        "descripton",
        json!("typo"),
    );
    let f = run(&t);
    expect(
        &f,
        MODULE_VARS,
        "var.azs",
        "`type`: invalid type constraint `${list(string)}`: must be a bare type expression",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.tags",
        "unknown type constructor `dict(...)`",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.vpc_cidr",
        "`default` must be a literal value",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.ingress_cidrs",
        "`default`: expected list(string), got a string",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.name",
        "`sensitive`: expected a literal bool",
    );
    expect(
        &f,
        MODULE_VARS,
        "var.name",
        "unsupported variable argument `descripton`",
    );
    assert_eq!(f.len(), 6, "{}", show(&f));
}

#[test]
fn tfcheck_terraform_block() {
    let mut t = clean_tree();
    set(
        &mut t,
        ROOT_DR,
        "/terraform/backend/s3",
        "key",
        json!("${var.env}/dr.tfstate"),
    );
    set(
        &mut t,
        ROOT_DR,
        "/terraform",
        "required_provider",
        json!({}),
    );
    set(
        &mut t,
        MODULE_VERSIONS,
        "/terraform/required_providers/aws",
        "configuration_aliases",
        json!(["${aws.dr}"]),
    );
    let f = run(&t);
    expect(&f, ROOT_DR, "terraform", "backend settings cannot use");
    expect(
        &f,
        ROOT_DR,
        "terraform",
        "unsupported `terraform` setting `required_provider`",
    );
    expect(
        &f,
        MODULE_VERSIONS,
        "terraform",
        "must be a bare `aws.ALIAS` string",
    );
}

#[test]
fn tfcheck_findings_sorted_and_display() {
    let mut t = clean_tree();
    set(
        &mut t,
        MODULE_MAIN,
        "/resource/aws_vpc/this",
        "arn",
        json!("x"),
    );
    set(
        &mut t,
        ROOT_DR,
        "/resource/aws_sns_topic/alerts",
        "arn",
        json!("x"),
    );
    let f = run(&t);
    let mut sorted = f.clone();
    sorted.sort();
    assert_eq!(f, sorted);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].file, ROOT_DR);
    assert_eq!(
        f[1].to_string(),
        "modules/primary/main.tf.json: aws_vpc.this: `arn`: `arn` is computed-only (set by the provider) and cannot be configured"
    );
}
