//! Property tests over generated *valid* environment files.
//!
//! Each case builds an `env.toml` text from random valid values (written in
//! one of several equivalent TOML styles, so parsing is exercised too) and
//! then runs the whole pipeline: parse, validate (no errors), build, the
//! model invariants (none broken), render, every rendered `.json` file
//! parses as JSON, and the rendered Terraform tree (`*.tf.json`) passes the
//! provider-schema and reference checks. A second property checks that rendering is deterministic.
//!
//! The number of cases defaults to 64 (32 for the determinism property);
//! set `PROPTEST_CASES` to change it.
//! Failures are not persisted to a regressions file (proptest prints the
//! minimal failing input, which is enough to write a regular test).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use drgen::config::validate::{
    az_prefix, Cidr, INSTANCE_FAMILIES, MAX_LAMBDA_TIMEOUT_S, MAX_RESERVED_CONCURRENCY,
    PLACEHOLDER_ACCOUNTS,
};
use drgen::config::{
    self, Api, CertificateArns, CustomDomain, Database, Dns, Env, EnvFile, Lambda, Network,
    Regions, State, AWS_REGIONS,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// The case count: `PROPTEST_CASES`, or 64.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies for the pieces of a valid file
// ---------------------------------------------------------------------------

/// A suffix matching `^[a-z0-9]+(-[a-z0-9]+)*$`, 1 to `max_suffix_len()`
/// characters (the maximum length is generated on purpose, often).
fn suffix() -> impl Strategy<Value = String> {
    let max = drgen::policy::naming::max_suffix_len().0;
    let groups = proptest::collection::vec((prop::bool::weighted(0.2), "[a-z0-9]"), 0..max)
        .prop_flat_map(|steps| ("[a-z0-9]", Just(steps)))
        .prop_map(move |(first, steps)| {
            let mut s = first;
            for (hyphen, c) in steps {
                if hyphen && s.len() + 2 <= max {
                    s.push('-');
                    s.push_str(&c);
                } else if s.len() < max {
                    s.push_str(&c);
                }
            }
            s
        });
    prop_oneof![
        6 => groups,
        1 => proptest::string::string_regex(&format!("[a-z0-9]{{{max}}}")).expect("regex"),
        1 => proptest::string::string_regex(&format!("[a-z]{{1,{}}}-[0-9]{{1}}", max - 2))
            .expect("regex"),
    ]
}

/// Two different region codes.
fn region_pair() -> impl Strategy<Value = (String, String)> {
    let n = AWS_REGIONS.len();
    (0..n, 1..n).prop_map(move |(a, d)| {
        (
            AWS_REGIONS[a].to_owned(),
            AWS_REGIONS[(a + d) % n].to_owned(),
        )
    })
}

/// An RFC 1918 block with a prefix of /16 to /24 and the host bits zero.
fn private_cidr() -> impl Strategy<Value = Cidr> {
    let space = prop_oneof![
        Just((Ipv4Addr::new(10, 0, 0, 0), 8u8)),
        Just((Ipv4Addr::new(172, 16, 0, 0), 12u8)),
        Just((Ipv4Addr::new(192, 168, 0, 0), 16u8)),
    ];
    (space, 16u8..=24, any::<u32>()).prop_map(|((base, base_prefix), prefix, bits)| {
        let base = u32::from(base);
        let inside = bits & (u32::MAX >> base_prefix);
        let mask = u32::MAX << (32 - u32::from(prefix));
        Cidr {
            addr: (base | inside) & mask,
            prefix,
        }
    })
}

fn cidr_text(c: Cidr) -> String {
    format!("{}/{}", Ipv4Addr::from(c.addr), c.prefix)
}

/// Two non-overlapping private blocks.
fn cidr_pair() -> impl Strategy<Value = (String, String)> {
    (private_cidr(), private_cidr())
        .prop_filter("VPC blocks must not overlap", |(a, b)| !a.overlaps(*b))
        .prop_map(|(a, b)| (cidr_text(a), cidr_text(b)))
}

/// The AZ ids of a region: 2 or 3 different `{prefix}-azN`, required where
/// the region has no defaults (optional elsewhere).
fn az_ids(region: String) -> impl Strategy<Value = Option<Vec<String>>> {
    let has_default = drgen::config::Network::az_ids(None, &region).is_some();
    let prefix = az_prefix(&region);
    let ids = prop::sample::subsequence((1u32..=12).collect::<Vec<_>>(), 2..=3)
        .prop_shuffle()
        .prop_map(move |ns| ns.iter().map(|n| format!("{prefix}-az{n}")).collect());
    if has_default {
        proptest::option::of(ids).boxed()
    } else {
        ids.prop_map(Some).boxed()
    }
}

/// `MAJOR.MINOR` with a supported major.
fn engine_version() -> impl Strategy<Value = String> {
    (13u32..=17, 0u32..=40).prop_map(|(a, b)| format!("{a}.{b}"))
}

/// `db.FAMILY.SIZE`, FAMILY memory-optimized.
fn instance_class() -> impl Strategy<Value = String> {
    let size = prop_oneof![
        4 => prop::sample::select(vec![
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
            "24xlarge", "32xlarge", "metal",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z0-9]{1,10}",
    ];
    (prop::sample::select(INSTANCE_FAMILIES.to_vec()), size)
        .prop_map(|(f, s)| format!("db.{f}.{s}"))
}

/// A PostgreSQL identifier as the validator accepts it.
fn pg_ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,62}"
}

/// A valid S3 bucket name (lowercase labels joined by dots, 3-63
/// characters, not an IP address).
fn bucket() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?";
    proptest::collection::vec(label, 1..=4)
        .prop_map(|labels| labels.join("."))
        .prop_filter("3-63 characters", |b| (3..=63).contains(&b.len()))
        .prop_filter("not an IP address", |b| {
            !(b.split('.').count() == 4
                && b.split('.').all(|p| p.chars().all(|c| c.is_ascii_digit())))
        })
}

/// A 12-digit account id that is not a placeholder.
fn account_id() -> impl Strategy<Value = String> {
    "[0-9]{12}".prop_filter("not a placeholder", |a| {
        !PLACEHOLDER_ACCOUNTS.contains(&a.as_str())
            && !a.chars().all(|c| c == a.as_bytes()[0] as char)
    })
}

/// A DNS label: lowercase letters, digits and inner hyphens.
fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
}

/// A lowercase domain name with at least two labels and a letters-only TLD.
fn zone_name() -> impl Strategy<Value = String> {
    (proptest::collection::vec(dns_label(), 1..=3), "[a-z]{2,10}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// An ACM certificate ARN in `region`.
fn certificate_arn(region: String) -> impl Strategy<Value = String> {
    (
        "[0-9]{12}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    )
        .prop_map(move |(acct, id)| format!("arn:aws:acm:{region}:{acct}:certificate/{id}"))
}

/// Optional DNS settings for the given region pair.
fn dns(primary: String, dr: String) -> impl Strategy<Value = Option<Dns>> {
    let custom = (
        proptest::collection::vec(dns_label(), 1..=2),
        proptest::option::of((certificate_arn(primary), certificate_arn(dr))),
    );
    proptest::option::of((zone_name(), any::<bool>(), proptest::option::of(custom))).prop_map(|d| {
        d.map(|(zone_name, create_zone, custom)| Dns {
            custom_domain: custom.map(|(labels, arns)| CustomDomain {
                name: format!("{}.{zone_name}", labels.join(".")),
                certificate_arns: arns.map(|(primary, dr)| CertificateArns { primary, dr }),
                truststore: None,
            }),
            zone_name,
            create_zone,
        })
    })
}

/// How the TOML text is written; all styles mean the same file.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// `[table]` headers, basic strings.
    Tables,
    /// Top-level dotted keys (`lambda.memory_mb = 512`).
    Dotted,
    /// Inline tables (`lambda = { memory_mb = 512, ... }`).
    Inline,
    /// `[table]` headers, literal strings, comments and blank lines.
    Literal,
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::Tables),
        Just(Style::Dotted),
        Just(Style::Inline),
        Just(Style::Literal),
    ]
}

/// Whether the defaulted keys are written out (or left to their defaults).
#[derive(Debug, Clone, Copy)]
struct Explicit {
    database_name: bool,
    app_user: bool,
    create_zone: bool,
    reserved_concurrency: bool,
}

/// A valid file, with how to write it.
#[derive(Debug, Clone)]
struct Case {
    file: EnvFile,
    env_name: String,
    style: Style,
    explicit: Explicit,
}

fn case() -> impl Strategy<Value = Case> {
    region_pair().prop_flat_map(|(primary, dr)| {
        let pieces = (
            suffix(),
            proptest::option::of(account_id()),
            (cidr_pair(), az_ids(primary.clone()), az_ids(dr.clone())),
            (engine_version(), instance_class(), pg_ident(), pg_ident()),
            (
                128u32..=10240,
                1u32..=MAX_LAMBDA_TIMEOUT_S,
                proptest::option::of(1u32..=MAX_RESERVED_CONCURRENCY),
            ),
            bucket(),
            dns(primary.clone(), dr.clone()),
        );
        let how = (
            "[a-z][a-z0-9]{0,7}",
            style(),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        );
        (Just((primary, dr)), pieces, how).prop_map(
            |(
                (primary, dr),
                (
                    environment_suffix,
                    account_id,
                    ((pc, dc), paz, daz),
                    (ev, ic, dbn, dbu),
                    (mem, to, conc),
                    bkt,
                    dns,
                ),
                (env_name, style, (e_db, e_user, e_zone)),
            )| {
                let explicit = Explicit {
                    database_name: e_db,
                    app_user: e_user,
                    // Written out whenever it is false: the default is true.
                    create_zone: e_zone || dns.as_ref().is_some_and(|d| !d.create_zone),
                    reserved_concurrency: conc.is_some(),
                };
                Case {
                    file: EnvFile {
                        environment_suffix,
                        account_id,
                        regions: Regions {
                            primary,
                            dr: dr.clone(),
                        },
                        network: Network {
                            primary_cidr: pc,
                            dr_cidr: dc,
                            primary_az_ids: paz,
                            dr_az_ids: daz,
                        },
                        database: Database {
                            engine_version: ev,
                            instance_class: ic,
                            database_name: if e_db { dbn } else { "payments".to_owned() },
                            app_user: if e_user {
                                dbu
                            } else {
                                "payment_app".to_owned()
                            },
                        },
                        lambda: Lambda {
                            memory_mb: mem,
                            timeout_s: to,
                            reserved_concurrency: conc
                                .unwrap_or(drgen::config::DEFAULT_RESERVED_CONCURRENCY),
                        },
                        state: State {
                            bucket: bkt,
                            region: dr,
                        },
                        api: Api {
                            allowed_principals: vec![
                                "210987654321".to_owned(),
                                "arn:aws:iam::210987654321:role/caller".to_owned(),
                            ],
                            rate_limit_per_5min: drgen::config::DEFAULT_RATE_LIMIT_PER_5MIN,
                        },
                        dns,
                    },
                    env_name,
                    style,
                    explicit,
                }
            },
        )
    })
}

// ---------------------------------------------------------------------------
// Writing the TOML text
// ---------------------------------------------------------------------------

/// One TOML table of the file: its key path and its `key = value` pairs
/// (values already written as TOML).
struct Table {
    path: &'static str,
    pairs: Vec<(&'static str, String)>,
}

fn toml_text(c: &Case) -> String {
    let f = &c.file;
    let q = |s: &str| match c.style {
        Style::Literal => format!("'{s}'"),
        _ => format!("\"{s}\""),
    };
    let mut top = vec![("environment_suffix", q(&f.environment_suffix))];
    if let Some(a) = &f.account_id {
        top.push(("account_id", q(a)));
    }
    let list = |ids: &[String]| {
        let items: Vec<String> = ids.iter().map(|i| q(i)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut net = vec![
        ("primary_cidr", q(&f.network.primary_cidr)),
        ("dr_cidr", q(&f.network.dr_cidr)),
    ];
    if let Some(ids) = &f.network.primary_az_ids {
        net.push(("primary_az_ids", list(ids)));
    }
    if let Some(ids) = &f.network.dr_az_ids {
        net.push(("dr_az_ids", list(ids)));
    }
    let mut tables = vec![
        Table {
            path: "regions",
            pairs: vec![("primary", q(&f.regions.primary)), ("dr", q(&f.regions.dr))],
        },
        Table {
            path: "network",
            pairs: net,
        },
    ];
    let mut db = vec![
        ("engine_version", q(&f.database.engine_version)),
        ("instance_class", q(&f.database.instance_class)),
    ];
    if c.explicit.database_name {
        db.push(("database_name", q(&f.database.database_name)));
    }
    if c.explicit.app_user {
        db.push(("app_user", q(&f.database.app_user)));
    }
    tables.push(Table {
        path: "database",
        pairs: db,
    });
    let mut lambda = vec![
        ("memory_mb", f.lambda.memory_mb.to_string()),
        ("timeout_s", f.lambda.timeout_s.to_string()),
    ];
    if c.explicit.reserved_concurrency {
        lambda.push((
            "reserved_concurrency",
            f.lambda.reserved_concurrency.to_string(),
        ));
    }
    tables.push(Table {
        path: "lambda",
        pairs: lambda,
    });
    tables.push(Table {
        path: "state",
        pairs: vec![
            ("bucket", q(&f.state.bucket)),
            ("region", q(&f.state.region)),
        ],
    });
    tables.push(Table {
        path: "api",
        pairs: vec![("allowed_principals", list(&f.api.allowed_principals))],
    });
    if let Some(d) = &f.dns {
        let mut pairs = vec![("zone_name", q(&d.zone_name))];
        if c.explicit.create_zone {
            pairs.push(("create_zone", d.create_zone.to_string()));
        }
        tables.push(Table { path: "dns", pairs });
        if let Some(cd) = &d.custom_domain {
            tables.push(Table {
                path: "dns.custom_domain",
                pairs: vec![("name", q(&cd.name))],
            });
            if let Some(a) = &cd.certificate_arns {
                tables.push(Table {
                    path: "dns.custom_domain.certificate_arns",
                    pairs: vec![("primary", q(&a.primary)), ("dr", q(&a.dr))],
                });
            }
        }
    }

    let mut out = String::new();
    if matches!(c.style, Style::Literal) {
        out.push_str("# generated by proptest_config\n\n");
    }
    for (k, v) in &top {
        let _ = writeln!(out, "{k} = {v}");
    }
    match c.style {
        Style::Tables | Style::Literal => {
            for t in &tables {
                let _ = writeln!(out, "\n[{}]", t.path);
                if matches!(c.style, Style::Literal) {
                    let _ = writeln!(out, "# {} settings", t.path);
                }
                for (k, v) in &t.pairs {
                    let _ = writeln!(out, "{k} = {v}");
                }
            }
        }
        Style::Dotted => {
            for t in &tables {
                for (k, v) in &t.pairs {
                    let _ = writeln!(out, "{}.{k} = {v}", t.path);
                }
            }
        }
        Style::Inline => {
            // Nested tables are inlined into their parent; `dns` is written
            // as one inline table holding the nested ones.
            let inline = |t: &Table, extra: &str| {
                let mut parts: Vec<String> =
                    t.pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                if !extra.is_empty() {
                    parts.push(extra.to_owned());
                }
                format!("{{ {} }}", parts.join(", "))
            };
            let find = |p: &str| tables.iter().find(|t| t.path == p);
            for t in tables.iter().filter(|t| !t.path.contains('.')) {
                let value = if t.path == "dns" {
                    let arns = find("dns.custom_domain.certificate_arns")
                        .map(|a| format!("certificate_arns = {}", inline(a, "")))
                        .unwrap_or_default();
                    let custom = find("dns.custom_domain")
                        .map(|cd| format!("custom_domain = {}", inline(cd, &arns)))
                        .unwrap_or_default();
                    inline(t, &custom)
                } else {
                    inline(t, "")
                };
                let _ = writeln!(out, "{} = {value}", t.path);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------

/// Parses and validates `text`, which must mean exactly `c.file`.
fn load(c: &Case, text: &str) -> Result<Env, TestCaseError> {
    let path = Path::new("envs").join(&c.env_name).join("env.toml");
    let file = config::parse(&path, text)
        .map_err(|e| TestCaseError::fail(format!("parse failed: {e}\n{text}")))?;
    prop_assert_eq!(
        &file,
        &c.file,
        "parsed file differs from the generated one\n{}",
        text
    );
    let errors = config::validate(&file);
    prop_assert!(
        errors.is_empty(),
        "validation errors: {:#?}\n{}",
        errors,
        text
    );
    Ok(Env {
        name: c.env_name.clone(),
        file,
    })
}

/// Builds, checks invariants, renders and checks the rendered tree.
fn pipeline(env: &Env, text: &str) -> Result<BTreeMap<String, String>, TestCaseError> {
    let project = drgen::project::build(std::slice::from_ref(env));
    let violations = drgen::project::violations(&project);
    prop_assert!(
        violations.is_empty(),
        "invariant violations:\n{}\n{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        text
    );
    let files = drgen::project::render(&project);
    prop_assert!(!files.is_empty(), "nothing rendered");
    prop_assert!(
        files
            .keys()
            .any(|p| p.starts_with(&format!("envs/{}/", env.name))),
        "no file of envs/{}: {:?}",
        env.name,
        files.keys().collect::<Vec<_>>()
    );
    // Every JSON file parses; the Terraform ones (`*.tf.json`) are the
    // tree the schema and reference checks read, as `drgen check` does.
    let mut tree = BTreeMap::new();
    for (rel, content) in &files {
        prop_assert!(!content.trim().is_empty(), "{} is empty\n{}", rel, text);
        if !rel.ends_with(".json") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(content)
            .map_err(|e| TestCaseError::fail(format!("{rel} is not JSON: {e}\n{text}")))?;
        if rel.ends_with(".tf.json") {
            tree.insert(rel.clone(), v);
        }
    }
    prop_assert!(
        tree.len() >= 10,
        "only {} .tf.json files: {:?}",
        tree.len(),
        files.keys().collect::<Vec<_>>()
    );
    let findings = drgen::ops::tree_findings(&tree);
    prop_assert!(
        findings.is_empty(),
        "tree findings:\n{}\n{}",
        findings
            .iter()
            .map(|f| format!("{}: {}: {}", f.file, f.address, f.message))
            .collect::<Vec<_>>()
            .join("\n"),
        text
    );
    Ok(files)
}

/// Runs `f`, turning a panic into a test failure that shows the input.
fn no_panic<T>(
    text: &str,
    f: impl FnOnce() -> Result<T, TestCaseError>,
) -> Result<T, TestCaseError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!("panicked: {msg}\n{text}")))
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Every valid file parses to what was generated, validates, builds
    /// without invariant violations and renders a tree that passes the
    /// schema and reference checks.
    #[test]
    fn valid_files_generate_clean_trees(c in case()) {
        let text = toml_text(&c);
        no_panic(&text, || {
            let env = load(&c, &text)?;
            pipeline(&env, &text)?;
            Ok(())
        })?;
    }
}

proptest! {
    // Half the cases: each one builds twice and renders three times.
    #![proptest_config(Config { cases: config().cases.div_ceil(2), ..config() })]

    /// The same input renders the same bytes, whether the model is built
    /// once and rendered twice, or built and rendered again.
    #[test]
    fn rendering_is_deterministic(c in case()) {
        let text = toml_text(&c);
        no_panic(&text, || {
            let env = load(&c, &text)?;
            let project = drgen::project::build(std::slice::from_ref(&env));
            let a = drgen::project::render(&project);
            let b = drgen::project::render(&project);
            prop_assert_eq!(&a, &b, "rendering one model twice differs\n{}", text);
            let again = load(&c, &text)?;
            let c2 = drgen::project::render(&drgen::project::build(&[again]));
            prop_assert_eq!(&a, &c2, "building and rendering again differs\n{}", text);
            Ok(())
        })?;
    }
}

/// The strategies themselves: a few fixed cases that must be valid, so a
/// broken strategy shows up as a plain test failure.
#[test]
fn sample_files_of_every_style_are_valid() {
    let base = EnvFile {
        environment_suffix: "a".repeat(drgen::policy::naming::max_suffix_len().0),
        account_id: Some("210987654321".to_owned()),
        regions: Regions {
            primary: "ap-southeast-2".to_owned(),
            dr: "ap-southeast-4".to_owned(),
        },
        network: Network {
            primary_cidr: "192.168.0.0/16".to_owned(),
            dr_cidr: "172.31.255.0/24".to_owned(),
            primary_az_ids: Some(vec!["apse2-az3".to_owned(), "apse2-az1".to_owned()]),
            dr_az_ids: Some(vec![
                "apse4-az1".to_owned(),
                "apse4-az2".to_owned(),
                "apse4-az12".to_owned(),
            ]),
        },
        database: Database {
            engine_version: "13.0".to_owned(),
            instance_class: "db.x2g.metal".to_owned(),
            database_name: "payments".to_owned(),
            app_user: "payment_app".to_owned(),
        },
        lambda: Lambda {
            memory_mb: 10240,
            timeout_s: 29,
            reserved_concurrency: MAX_RESERVED_CONCURRENCY,
        },
        state: State {
            bucket: "a.b-c.d".to_owned(),
            region: "ap-southeast-4".to_owned(),
        },
        api: Api {
            allowed_principals: vec!["arn:aws:iam::210987654321:user/path/to/caller".to_owned()],
            rate_limit_per_5min: drgen::config::DEFAULT_RATE_LIMIT_PER_5MIN,
        },
        dns: Some(Dns {
            zone_name: "x.io".to_owned(),
            create_zone: false,
            custom_domain: Some(CustomDomain {
                name: "api.x.io".to_owned(),
                certificate_arns: Some(CertificateArns {
                    primary: "arn:aws:acm:ap-southeast-2:111122223333:certificate/a".to_owned(),
                    dr: "arn:aws:acm:ap-southeast-4:111122223333:certificate/b".to_owned(),
                }),
                truststore: None,
            }),
        }),
    };
    for style in [Style::Tables, Style::Dotted, Style::Inline, Style::Literal] {
        let c = Case {
            file: base.clone(),
            env_name: "edge".to_owned(),
            style,
            explicit: Explicit {
                database_name: true,
                app_user: false,
                create_zone: true,
                reserved_concurrency: true,
            },
        };
        let text = toml_text(&c);
        let env = load(&c, &text).unwrap_or_else(|e| panic!("{style:?}: {e}"));
        pipeline(&env, &text).unwrap_or_else(|e| panic!("{style:?}: {e}"));
    }
}
