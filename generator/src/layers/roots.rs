//! Root configurations: `envs/<env>/<layer>`. Each pins the providers,
//! sets the S3 backend (in the DR region), configures providers with
//! literal regions and calls its module with the environment's values.

use std::collections::BTreeMap;

use crate::config::Env;
use crate::model::expr::{interp, lit, object, tpl, Expr, Ref, Root};
use crate::model::{
    Address, Body, Layer, Module, ModuleCall, ModuleKind, Provider, ProviderRef, RequiredProvider,
    Role, S3Backend, TerraformBlock,
};
use crate::policy::naming::NameContext;

use super::{AWS_PIN, TERRAFORM_PIN};

/// Where the built function package is, relative to a root directory.
pub const PACKAGE_FROM_ROOT: &str = "/../../../dist/payment-handler.zip";

/// The directory of a root.
pub fn dir(env: &str, layer: Layer) -> String {
    format!("envs/{env}/{layer}")
}

/// The state key of a layer.
pub fn state_key(env: &str, layer: Layer) -> String {
    format!("{env}/{layer}/terraform.tfstate")
}

/// The `terraform` block of a root: pinned versions and the S3 backend.
pub fn terraform(env: &Env, layer: Layer) -> TerraformBlock {
    let mut rp = BTreeMap::new();
    rp.insert(
        "aws".to_owned(),
        RequiredProvider {
            source: "hashicorp/aws".into(),
            version: AWS_PIN.into(),
            configuration_aliases: vec![],
        },
    );
    TerraformBlock {
        required_version: TERRAFORM_PIN.into(),
        required_providers: rp,
        backend: Some(S3Backend {
            bucket: env.file.state.bucket.clone(),
            key: state_key(&env.name, layer),
            region: env.file.state.region.clone(),
            encrypt: true,
            use_lockfile: true,
        }),
    }
}

/// An aws provider with a literal region and the account guard.
pub fn aws_provider(env: &Env, region: &str, alias: Option<&str>) -> Provider {
    let mut body = Body::new().set("region", region);
    if let Some(a) = &env.file.account_id {
        body = body.set(
            "allowed_account_ids",
            crate::model::expr::list([Expr::from(a.as_str())]),
        );
    }
    Provider {
        name: "aws".into(),
        alias: alias.map(str::to_owned),
        body,
    }
}

/// The mutual TLS truststore of the environment's custom domain, if any.
pub fn mtls(env: &Env) -> Option<&crate::config::Truststore> {
    env.file
        .dns
        .as_ref()
        .and_then(|d| d.custom_domain.as_ref())
        .and_then(|c| c.truststore.as_ref())
}

/// Declares `data.terraform_remote_state.LAYER` reading another layer.
pub fn remote_state(m: &mut Module, env: &Env, layer: Layer) -> Address {
    let names = NameContext {
        suffix: Expr::Null,
        region: Expr::Null,
        account: Expr::Null,
    };
    let mut s = m.scope(None, names);
    let d = s
        .data("terraform_remote_state", layer.as_str())
        .set("backend", "s3")
        .set(
            "config",
            object([
                ("bucket", Expr::from(env.file.state.bucket.as_str())),
                ("key", Expr::from(state_key(&env.name, layer))),
                ("region", Expr::from(env.file.state.region.as_str())),
            ]),
        );
    s.add(d)
}

/// `data.terraform_remote_state.LAYER.outputs.NAME`
pub fn remote_output(state: &Address, name: &str) -> Expr {
    state.reference().attr("outputs").attr(name).expr()
}

/// Forwards every output of the called module.
pub fn forward_outputs(root: &mut Module, called: &Module, call: &str) {
    for o in called.outputs.values() {
        root.output(
            &o.name,
            &o.description,
            Ref::new(Root::Module(call.to_owned())).attr(&o.name).expr(),
        );
    }
}

/// The root of a regional layer.
pub fn regional(env: &Env, role: Role, module: &Module) -> Module {
    let f = &env.file;
    let layer = role.layer();
    let description = format!("{} layer of environment {}", layer, env.name);
    let mut root = Module::new(
        &dir(&env.name, layer),
        ModuleKind::Root {
            env: env.name.clone(),
            layer,
        },
        &description,
        terraform(env, layer),
    );
    let (region, other) = match role {
        Role::Primary => (&f.regions.primary, &f.regions.dr),
        Role::Dr => (&f.regions.dr, &f.regions.primary),
    };
    root.provider(aws_provider(env, region, None));

    let mut args: BTreeMap<String, Expr> = BTreeMap::new();
    let mut put = |k: &str, v: Expr| {
        args.insert(k.to_owned(), v);
    };
    put(
        "environment_suffix",
        Expr::from(f.environment_suffix.as_str()),
    );
    put(
        "vpc_cidr",
        Expr::from(match role {
            Role::Primary => f.network.primary_cidr.as_str(),
            Role::Dr => f.network.dr_cidr.as_str(),
        }),
    );
    put(
        "instance_class",
        Expr::from(f.database.instance_class.as_str()),
    );
    put(
        "database_name",
        Expr::from(f.database.database_name.as_str()),
    );
    put("app_user", Expr::from(f.database.app_user.as_str()));
    put("lambda_memory_mb", Expr::Int(i64::from(f.lambda.memory_mb)));
    put("lambda_timeout_s", Expr::Int(i64::from(f.lambda.timeout_s)));
    put(
        "lambda_reserved_concurrency",
        Expr::Int(i64::from(f.lambda.reserved_concurrency)),
    );
    put(
        "allowed_principals",
        crate::model::expr::list(
            f.api
                .allowed_principals
                .iter()
                .map(|p| Expr::from(p.as_str())),
        ),
    );
    put(
        "waf_rate_limit_per_5min",
        Expr::Int(i64::from(f.api.rate_limit_per_5min)),
    );
    put(
        "disable_execute_api_endpoint",
        Expr::Bool(mtls(env).is_some()),
    );
    let (configured, az_region) = match role {
        Role::Primary => (f.network.primary_az_ids.as_ref(), &f.regions.primary),
        Role::Dr => (f.network.dr_az_ids.as_ref(), &f.regions.dr),
    };
    let az_ids = crate::config::Network::az_ids(configured, az_region).unwrap_or_default();
    put(
        "availability_zone_ids",
        crate::model::expr::list(az_ids.iter().map(|a| Expr::from(a.as_str()))),
    );
    put(
        "lambda_package_path",
        tpl(vec![
            interp(Ref::new(Root::Path("root")).expr()),
            lit(PACKAGE_FROM_ROOT),
        ]),
    );
    let mut providers = BTreeMap::new();
    match role {
        Role::Primary => {
            put(
                "engine_version",
                Expr::from(f.database.engine_version.as_str()),
            );
            put("dr_region", Expr::from(other.as_str()));
        }
        Role::Dr => {
            root.provider(aws_provider(env, other, Some("primary")));
            let state = remote_state(&mut root, env, Layer::Primary);
            let get = |n: &str| remote_output(&state, n);
            put("primary_region", Expr::from(other.as_str()));
            put("engine_version", get("rds_global_cluster_engine_version"));
            put("global_cluster_identifier", get("rds_global_cluster_id"));
            put(
                "primary_writer_instance_arn",
                get("rds_writer_instance_arn"),
            );
            put("source_bucket_name", get("s3_bucket_name"));
            put("source_bucket_arn", get("s3_bucket_arn"));
            put(
                "source_bucket_versioning_id",
                get("s3_bucket_versioning_id"),
            );
            providers.insert(
                "aws".to_owned(),
                ProviderRef {
                    name: "aws".into(),
                    alias: None,
                },
            );
            providers.insert(
                "aws.primary".to_owned(),
                ProviderRef::aliased("aws", "primary"),
            );
        }
    }
    root.call(ModuleCall {
        name: layer.as_str().to_owned(),
        source: format!("../../../{}", module.dir),
        args,
        providers,
        depends_on: vec![],
    });
    forward_outputs(&mut root, module, layer.as_str());
    root
}
