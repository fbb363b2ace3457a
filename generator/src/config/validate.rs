//! Semantic validation of an environment file. Every problem is collected.

use std::fmt;
use std::net::Ipv4Addr;

use super::EnvFile;
use crate::policy::naming::{self, Charset, Limit};

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The key path, e.g. `network.dr_cidr`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The AWS commercial region codes.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Smallest VPC prefix length allowed (largest VPC AWS accepts).
pub const MIN_VPC_PREFIX: u8 = 16;
/// Largest VPC prefix length: 16 subnets of /28 (AWS's smallest) fit.
pub const MAX_VPC_PREFIX: u8 = 24;
/// Aurora PostgreSQL major versions that support global databases here.
pub const ENGINE_MAJORS: std::ops::RangeInclusive<u32> = 13..=17;
/// Instance class families a global database accepts (memory-optimized).
pub const INSTANCE_FAMILIES: &[&str] = &["r5", "r6g", "r6i", "r7g", "r7i", "r8g", "x2g"];
/// API Gateway REST integrations time out at 29 s.
pub const MAX_LAMBDA_TIMEOUT_S: u32 = 29;
/// Account ids that are examples, not accounts.
pub const PLACEHOLDER_ACCOUNTS: &[&str] = &["123456789012", "012345678901", "098765432109"];

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

/// Validates the file; returns every problem found.
pub fn validate(f: &EnvFile) -> Vec<FieldError> {
    let mut e = Errors(Vec::new());
    let (max, binding) = naming::max_suffix_len();
    let sfx = &f.environment_suffix;
    if sfx.is_empty() {
        e.add("environment_suffix", "must not be empty");
    } else if sfx.chars().count() > max {
        e.add(
            "environment_suffix",
            format!(
                "{sfx:?} is {} characters; at most {max} fit the longest derived name, the {} {:?} ({} characters at most, with a region code of up to {} characters and a 12-digit account id)",
                sfx.chars().count(),
                binding.limit.what,
                naming::Name::of(binding.kind).pattern(),
                binding.limit.max,
                naming::MAX_REGION_LEN
            ),
        );
    } else {
        for p in naming::check_suffix(sfx) {
            e.add("environment_suffix", format!("{sfx:?} {p}"));
        }
    }
    regions(f, &mut e);
    network(f, &mut e);
    az_ids(f, &mut e);
    database(f, &mut e);
    lambda(f, &mut e);
    state(f, &mut e);
    if let Some(a) = &f.account_id {
        account(a, &mut e);
    }
    api(f, &mut e);
    dns(f, &mut e);
    e.0
}

fn region_ok(field: &str, r: &str, e: &mut Errors) -> bool {
    if AWS_REGIONS.contains(&r) {
        true
    } else {
        e.add(
            field,
            format!("{r:?} is not an AWS region code (e.g. us-east-1, us-east-2, eu-west-1)"),
        );
        false
    }
}

fn regions(f: &EnvFile, e: &mut Errors) {
    let a = region_ok("regions.primary", &f.regions.primary, e);
    let b = region_ok("regions.dr", &f.regions.dr, e);
    if a && b && f.regions.primary == f.regions.dr {
        e.add(
            "regions.dr",
            format!(
                "{:?} equals regions.primary; the DR region must differ",
                f.regions.dr
            ),
        );
    }
}

/// An IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: u32,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` with the host bits zero.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR block (a.b.c.d/n)"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR block (a.b.c.d/n)"))?;
        let prefix: u8 = Some(prefix)
            .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse().ok())
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{s:?} has an invalid prefix length (0-32)"))?;
        let addr = u32::from(ip);
        let mask = Self::mask(prefix);
        if addr & !mask != 0 {
            let net = Ipv4Addr::from(addr & mask);
            return Err(format!(
                "{s:?} has host bits set; did you mean {net}/{prefix}?"
            ));
        }
        Ok(Cidr { addr, prefix })
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    /// Whether `self` lies inside `other`.
    pub fn within(self, other: Cidr) -> bool {
        self.prefix >= other.prefix && (self.addr & Self::mask(other.prefix)) == other.addr
    }

    /// Whether the blocks share any address.
    pub fn overlaps(self, other: Cidr) -> bool {
        self.within(other) || other.within(self)
    }

    /// Whether the block is private address space (RFC 1918).
    pub fn is_rfc1918(self) -> bool {
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
            .iter()
            .filter_map(|p| Cidr::parse(p).ok())
            .any(|p| self.within(p))
    }
}

fn az_ids(f: &EnvFile, e: &mut Errors) {
    for (field, configured, region) in [
        (
            "network.primary_az_ids",
            f.network.primary_az_ids.as_ref(),
            &f.regions.primary,
        ),
        (
            "network.dr_az_ids",
            f.network.dr_az_ids.as_ref(),
            &f.regions.dr,
        ),
    ] {
        if !AWS_REGIONS.contains(&region.as_str()) {
            continue;
        }
        match super::Network::az_ids(configured, region) {
            None => e.add(
                field,
                format!(
                    "is required for {region} (no default): 2 or 3 AZ ids such as \"{}-az1\"",
                    az_prefix(region)
                ),
            ),
            Some(ids) => {
                let prefix = az_prefix(region);
                let mut seen = Vec::new();
                for id in &ids {
                    let ok = id.strip_prefix(&format!("{prefix}-az")).is_some_and(|n| {
                        !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
                    });
                    if !ok {
                        e.add(
                            field,
                            format!("{id:?} is not an AZ id of {region} (e.g. \"{prefix}-az1\")"),
                        );
                    } else if seen.contains(&id) {
                        e.add(field, format!("{id:?} is listed twice"));
                    }
                    seen.push(id);
                }
                if !(2..=3).contains(&ids.len()) {
                    e.add(field, format!("has {} AZ ids; use 2 or 3", ids.len()));
                }
            }
        }
    }
}

/// The AZ id prefix of a region: `us-east-1` -> `use1`, `ap-southeast-2` -> `apse2`.
pub fn az_prefix(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let [area, dir, num] = parts.as_slice() else {
        return region.to_owned();
    };
    let d = match *dir {
        "east" => "e",
        "west" => "w",
        "north" => "n",
        "south" => "s",
        "central" => "c",
        "northeast" => "ne",
        "northwest" => "nw",
        "southeast" => "se",
        "southwest" => "sw",
        other => other,
    };
    format!("{area}{d}{num}")
}

fn network(f: &EnvFile, e: &mut Errors) {
    let mut parsed = Vec::new();
    for (field, v) in [
        ("network.primary_cidr", &f.network.primary_cidr),
        ("network.dr_cidr", &f.network.dr_cidr),
    ] {
        match Cidr::parse(v) {
            Err(m) => e.add(field, m),
            Ok(c) => {
                let mut ok = true;
                if !c.is_rfc1918() {
                    ok = false;
                    e.add(
                        field,
                        format!("{v:?} is not private (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"),
                    );
                }
                if c.prefix < MIN_VPC_PREFIX || c.prefix > MAX_VPC_PREFIX {
                    ok = false;
                    e.add(
                        field,
                        format!(
                            "{v:?}: prefix /{} is outside /{MIN_VPC_PREFIX}-/{MAX_VPC_PREFIX} (AWS allows /16 at most; the 3 private subnets are /prefix+4 and need at least /28)",
                            c.prefix
                        ),
                    );
                }
                if ok {
                    parsed.push((field, c));
                }
            }
        }
    }
    if let [(_, a), (fb, b)] = parsed.as_slice() {
        if a.overlaps(*b) {
            e.add(
                fb,
                format!(
                    "{:?} overlaps network.primary_cidr {:?}; the regions' VPCs must not overlap",
                    f.network.dr_cidr, f.network.primary_cidr
                ),
            );
        }
    }
}

fn database(f: &EnvFile, e: &mut Errors) {
    let d = &f.database;
    let major = d
        .engine_version
        .split_once('.')
        .filter(|(maj, min)| {
            !maj.is_empty()
                && !min.is_empty()
                && maj.chars().all(|c| c.is_ascii_digit())
                && min.chars().all(|c| c.is_ascii_digit())
        })
        .and_then(|(maj, _)| maj.parse::<u32>().ok());
    match major {
        None => e.add(
            "database.engine_version",
            format!("{:?} is not MAJOR.MINOR (e.g. \"16.6\")", d.engine_version),
        ),
        Some(m) if !ENGINE_MAJORS.contains(&m) => e.add(
            "database.engine_version",
            format!(
                "{:?}: Aurora PostgreSQL global databases here need major {}-{}",
                d.engine_version,
                ENGINE_MAJORS.start(),
                ENGINE_MAJORS.end()
            ),
        ),
        Some(_) => {}
    }
    let class = &d.instance_class;
    let family = class
        .strip_prefix("db.")
        .and_then(|r| r.split_once('.'))
        .map(|(fam, _)| fam);
    match family {
        Some(fam) if fam.starts_with('t') => e.add(
            "database.instance_class",
            format!(
                "{class:?} is burstable; global databases reject db.t* classes (use one of: {})",
                families()
            ),
        ),
        Some(fam) if INSTANCE_FAMILIES.contains(&fam) => {
            let size = class.splitn(3, '.').nth(2).unwrap_or("");
            if size.is_empty() || !size.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                e.add(
                    "database.instance_class",
                    format!("{class:?} has no size (e.g. db.r6g.large)"),
                );
            }
        }
        _ => e.add(
            "database.instance_class",
            format!(
                "{class:?} is not a memory-optimized class a global database accepts (db.FAMILY.SIZE, FAMILY one of: {})",
                families()
            ),
        ),
    }
    let pg_ident = Limit {
        what: "PostgreSQL identifier",
        min: 1,
        max: 63,
        charset: Charset::AlnumHyphenUnderscore,
        starts_with_letter: true,
        no_double_hyphen: false,
    };
    for (field, v) in [
        ("database.database_name", &d.database_name),
        ("database.app_user", &d.app_user),
    ] {
        let ok = v.len() <= pg_ident.max
            && v.starts_with(|c: char| c.is_ascii_lowercase())
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            e.add(
                field,
                format!("{v:?} must be 1-63 lowercase letters, digits or underscores, starting with a letter"),
            );
        }
    }
}

fn families() -> String {
    INSTANCE_FAMILIES
        .iter()
        .map(|f| format!("db.{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reserved concurrency bounds: AWS keeps 100 of the default 1,000 unreserved.
pub const MAX_RESERVED_CONCURRENCY: u32 = 900;

fn lambda(f: &EnvFile, e: &mut Errors) {
    let l = &f.lambda;
    if !(1..=MAX_RESERVED_CONCURRENCY).contains(&l.reserved_concurrency) {
        e.add(
            "lambda.reserved_concurrency",
            format!(
                "{} is outside 1-{MAX_RESERVED_CONCURRENCY} (AWS keeps 100 of the default 1,000 unreserved)",
                l.reserved_concurrency
            ),
        );
    }
    if !(128..=10240).contains(&l.memory_mb) {
        e.add(
            "lambda.memory_mb",
            format!("{} is outside 128-10240 MB", l.memory_mb),
        );
    }
    if !(1..=MAX_LAMBDA_TIMEOUT_S).contains(&l.timeout_s) {
        e.add(
            "lambda.timeout_s",
            format!(
                "{} is outside 1-{MAX_LAMBDA_TIMEOUT_S} s (API Gateway REST integrations time out at 29 s)",
                l.timeout_s
            ),
        );
    }
}

/// S3 bucket naming rules (for a bucket drgen does not name itself).
fn bucket_name_problem(b: &str) -> Option<String> {
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len()) {
        Some(format!("{} characters, limit 3-63", b.len()))
    } else if let Some(c) = b
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        Some(format!(
            "character {c:?} not allowed; use lowercase letters, digits, hyphens and dots"
        ))
    } else if !ends_ok(b.chars().next()) || !ends_ok(b.chars().last()) {
        Some("must start and end with a lowercase letter or digit".into())
    } else if b.split('.').count() == 4
        && b.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        Some("must not be formatted as an IP address".into())
    } else if b.contains("..") || b.contains(".-") || b.contains("-.") {
        Some("must not contain \"..\", \".-\" or \"-.\"".into())
    } else {
        None
    }
}

fn state(f: &EnvFile, e: &mut Errors) {
    if let Some(p) = bucket_name_problem(&f.state.bucket) {
        e.add("state.bucket", format!("{:?}: {p}", f.state.bucket));
    }
    let pair_ok = AWS_REGIONS.contains(&f.regions.primary.as_str())
        && AWS_REGIONS.contains(&f.regions.dr.as_str())
        && f.regions.primary != f.regions.dr;
    if region_ok("state.region", &f.state.region, e) && pair_ok && f.state.region != f.regions.dr {
        e.add(
            "state.region",
            format!(
                "{:?} must be the DR region {:?}, so state stays readable when {} is down",
                f.state.region, f.regions.dr, f.regions.primary
            ),
        );
    }
}

/// WAF rate-based rules: 10 to 2,000,000,000 requests per window (AWS
/// lowered the minimum from 100 to 10 in 2024; provider >= 5.67 accepts it).
pub const WAF_RATE_LIMIT: std::ops::RangeInclusive<u32> = 10..=2_000_000_000;

/// Whether an account id is an example rather than an account.
pub fn is_placeholder_account(a: &str) -> bool {
    PLACEHOLDER_ACCOUNTS.contains(&a) || a.chars().all(|c| c == a.as_bytes()[0] as char)
}

fn is_account_id(a: &str) -> bool {
    a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())
}

/// An IAM role or user path and name: `[\w+=,.@-]` with `/` in the path.
fn iam_path_name_ok(s: &str) -> bool {
    let name = s.rsplit('/').next().unwrap_or("");
    !name.is_empty()
        && s.len() <= 512
        && !s.contains("//")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// Why an allowed principal is not one, if it is not.
pub fn principal_problem(p: &str) -> Option<String> {
    const WANT: &str =
        "a 12-digit account id or arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME";
    let account = if is_account_id(p) {
        p
    } else if let Some(rest) = p.strip_prefix("arn:aws:iam::") {
        let Some((acct, res)) = rest.split_once(':') else {
            return Some(format!("{p:?} is not {WANT}"));
        };
        let kind_ok = ["role/", "user/"]
            .iter()
            .any(|k| res.strip_prefix(k).is_some_and(iam_path_name_ok));
        if !is_account_id(acct) || !kind_ok {
            return Some(format!("{p:?} is not {WANT}"));
        }
        acct
    } else if p.starts_with("arn:") {
        return Some(format!(
            "{p:?} is not an IAM role or user ARN in the aws partition ({WANT})"
        ));
    } else {
        return Some(format!("{p:?} is not {WANT}"));
    };
    is_placeholder_account(account)
        .then(|| format!("{p:?} uses the placeholder account {account:?}; list the real callers"))
}

fn api(f: &EnvFile, e: &mut Errors) {
    let a = &f.api;
    if a.allowed_principals.is_empty() {
        e.add(
            "api.allowed_principals",
            format!("is empty; an API nobody may call is a mistake: list at least one caller ({})", "12-digit account ids or arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME"),
        );
    }
    let mut seen = Vec::new();
    for p in &a.allowed_principals {
        if let Some(m) = principal_problem(p) {
            e.add("api.allowed_principals", m);
        } else if seen.contains(&p) {
            e.add("api.allowed_principals", format!("{p:?} is listed twice"));
        }
        seen.push(p);
    }
    if !WAF_RATE_LIMIT.contains(&a.rate_limit_per_5min) {
        e.add(
            "api.rate_limit_per_5min",
            format!(
                "{} is outside {}-{} (AWS WAF rate-based rule limits, per source IP per 5 minutes)",
                a.rate_limit_per_5min,
                WAF_RATE_LIMIT.start(),
                WAF_RATE_LIMIT.end()
            ),
        );
    }
}

fn account(a: &str, e: &mut Errors) {
    if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
        e.add(
            "account_id",
            format!("{a:?} is not a 12-digit AWS account id"),
        );
    } else if is_placeholder_account(a) {
        e.add(
            "account_id",
            format!("{a:?} is a placeholder; set the real account id or remove the key"),
        );
    }
}

fn domain_ok(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.last().is_some_and(|t| {
            (2..=63).contains(&t.len()) && t.chars().all(|c| c.is_ascii_lowercase())
        })
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn dns(f: &EnvFile, e: &mut Errors) {
    let Some(d) = &f.dns else { return };
    if !domain_ok(&d.zone_name) {
        e.add(
            "dns.zone_name",
            format!(
                "{:?} is not a lowercase domain name (e.g. payments.example.com)",
                d.zone_name
            ),
        );
    }
    let Some(c) = &d.custom_domain else { return };
    if !domain_ok(&c.name) || !c.name.ends_with(&format!(".{}", d.zone_name)) {
        e.add(
            "dns.custom_domain.name",
            format!(
                "{:?} must be a subdomain of the zone {:?} (e.g. api.{})",
                c.name, d.zone_name, d.zone_name
            ),
        );
    }
    if let Some(arns) = &c.certificate_arns {
        for (field, arn, region) in [
            (
                "dns.custom_domain.certificate_arns.primary",
                &arns.primary,
                &f.regions.primary,
            ),
            (
                "dns.custom_domain.certificate_arns.dr",
                &arns.dr,
                &f.regions.dr,
            ),
        ] {
            if !AWS_REGIONS.contains(&region.as_str()) {
                continue;
            }
            let prefix = format!("arn:aws:acm:{region}:");
            let rest = arn.strip_prefix(&prefix);
            let ok = rest.is_some_and(|r| {
                r.split_once(":certificate/").is_some_and(|(acct, id)| {
                    acct.len() == 12 && acct.chars().all(|c| c.is_ascii_digit()) && !id.is_empty()
                })
            });
            if !ok {
                e.add(
                    field,
                    format!("{arn:?} must be an ACM certificate ARN in {region} (arn:aws:acm:{region}:ACCOUNT:certificate/ID); API Gateway regional domains need a certificate from their own region"),
                );
            }
        }
    }
    if let Some(t) = &c.truststore {
        truststore(f, t, e);
    }
}

/// The truststore must be an object of the primary payments bucket, so
/// replication gives the DR region's domain a copy it can read.
fn truststore(f: &EnvFile, t: &super::Truststore, e: &mut Errors) {
    let field = "dns.custom_domain.truststore.uri";
    let want = format!(
        "s3://payments-{}-ACCOUNT-{}/KEY (an object of the primary payments bucket; replication copies it to the DR region)",
        f.regions.primary, f.environment_suffix
    );
    match t.bucket_key() {
        None => e.add(field, format!("{:?} is not an S3 URI: use {want}", t.uri)),
        Some((bucket, key)) => {
            let acct = bucket
                .strip_prefix(&format!("payments-{}-", f.regions.primary))
                .and_then(|r| r.strip_suffix(&format!("-{}", f.environment_suffix)));
            let acct_ok = acct.is_some_and(|a| {
                is_account_id(a) && f.account_id.as_deref().is_none_or(|want| want == a)
            });
            if !acct_ok {
                e.add(
                    field,
                    format!(
                        "{:?}: bucket {bucket:?} is not the primary payments bucket; use {want}",
                        t.uri
                    ),
                );
            } else if acct.is_some_and(is_placeholder_account) {
                e.add(field, format!("{:?} uses a placeholder account id", t.uri));
            }
            if key.len() > 1024
                || key.chars().any(|c| c.is_control() || c == '\\')
                || key.contains("${")
                || key.contains("%{")
            {
                e.add(
                    field,
                    format!(
                        "{:?}: the object key must be 1-1024 printable characters",
                        t.uri
                    ),
                );
            }
        }
    }
    let v = &t.version;
    if v.is_empty() || v.len() > 1024 || !v.chars().all(|c| c.is_ascii_graphic()) {
        e.add(
            "dns.custom_domain.truststore.version",
            format!("{v:?} is not an S3 version id (aws s3api list-object-versions shows it)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_and_overlap() {
        let a = Cidr::parse("10.10.0.0/16").unwrap();
        let b = Cidr::parse("10.10.128.0/17").unwrap();
        let c = Cidr::parse("10.20.0.0/16").unwrap();
        assert!(a.overlaps(b) && b.overlaps(a));
        assert!(!a.overlaps(c));
        assert!(a.is_rfc1918());
        assert!(!Cidr::parse("8.8.0.0/16").unwrap().is_rfc1918());
        assert!(!Cidr::parse("172.32.0.0/16").unwrap().is_rfc1918());
        assert!(Cidr::parse("172.31.0.0/16").unwrap().is_rfc1918());
        assert!(Cidr::parse("10.0.0.1/16")
            .unwrap_err()
            .contains("host bits"));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0/16").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().prefix, 0);
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod more_tests;
