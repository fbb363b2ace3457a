use super::*;
use crate::config::{Database, Dns, Env, EnvFile, Lambda, Network, Regions, State};

fn env() -> Env {
    Env {
        name: "t".into(),
        file: EnvFile {
            environment_suffix: "dev".into(),
            account_id: None,
            regions: Regions {
                primary: "us-east-1".into(),
                dr: "us-east-2".into(),
            },
            network: Network {
                primary_cidr: "10.10.0.0/16".into(),
                dr_cidr: "10.20.0.0/16".into(),
            },
            database: Database {
                engine_version: "16.6".into(),
                instance_class: "db.r6g.large".into(),
                database_name: "payments".into(),
                app_user: "payment_app".into(),
            },
            lambda: Lambda {
                memory_mb: 512,
                timeout_s: 10,
            },
            state: State {
                bucket: "drgen-tfstate-dev-use2".into(),
                region: "us-east-2".into(),
            },
            dns: Some(Dns {
                zone_name: "dev.payments.example.com".into(),
                create_zone: true,
                custom_domain: None,
            }),
        },
    }
}

#[test]
fn dump() {
    let p = crate::layers::build(&[env()]);
    for m in p.all() {
        println!(
            "== {} {:?} providers={:?}",
            m.dir,
            m.kind,
            m.providers
                .iter()
                .map(|p| (&p.name, &p.alias))
                .collect::<Vec<_>>()
        );
        for a in m.resources.keys() {
            println!("  {a}");
        }
        for c in m.calls.keys() {
            println!("  call {c}");
        }
    }
    for v in crate::project::violations(&p) {
        println!("{v}");
    }
}
