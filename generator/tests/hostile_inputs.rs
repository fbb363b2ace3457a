//! Hostile and malformed `env.toml` inputs, run through the binary.
//!
//! Every test gets a fresh temporary repository: the sample
//! `envs/{dev,prod}/env.toml` are copied from the real repository and
//! `drgen generate` makes a baseline tree. The test then puts one bad
//! input where `envs/dev/env.toml` is and runs `drgen generate` again,
//! which must:
//!
//! - finish (within [`TIMEOUT`]) with exit status 2 and nothing on stdout;
//! - print an error that names the file (`envs/dev/env.toml`) and the field
//!   (or `(file)` with `line:column` for syntax errors), with a non-empty
//!   message and no panic;
//! - leave every file and directory of the repository (`modules/`,
//!   `envs/` and the rest of the generated tree) byte-identical, except the
//!   `env.toml` the test wrote, and no staging directory behind.
//!
//! until the bug is fixed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

/// No input may take longer than this (debug build, loaded machine).
const TIMEOUT: Duration = Duration::from_secs(60);

/// The file every test overwrites, relative to the repository.
const DEV: &str = "envs/dev/env.toml";

/// A valid dev environment; each bad input below is this with one change,
/// so line and column numbers do not depend on the samples.
const VALID_DEV: &str = r#"environment_suffix = "dev"

[regions]
primary = "us-east-1"
dr = "us-east-2"

[network]
primary_cidr = "10.10.0.0/16"
dr_cidr = "10.20.0.0/16"

[database]
engine_version = "16.6"
instance_class = "db.r6g.large"

[lambda]
memory_mb = 512
timeout_s = 10

[state]
bucket = "drgen-tfstate-dev-use2"
region = "us-east-2"

[dns]
zone_name = "dev.payments.example.com"
create_zone = true

[api]
allowed_principals = ["arn:aws:iam::210987654321:role/checkout-service-dev"]
"#;

/// `VALID_DEV` with the one occurrence of `from` replaced by `to`.
#[track_caller]
fn dev(from: &str, to: &str) -> String {
    assert_eq!(
        VALID_DEV.matches(from).count(),
        1,
        "{from:?} must occur once in VALID_DEV"
    );
    VALID_DEV.replacen(from, to, 1)
}

/// [`dev`] as bytes.
#[track_caller]
fn dev_bytes(from: &str, to: &[u8]) -> Vec<u8> {
    let at = VALID_DEV.find(from).expect("pattern in VALID_DEV");
    let mut out = VALID_DEV.as_bytes()[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&VALID_DEV.as_bytes()[at + from.len()..]);
    out
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The real repository (holds the sample `envs/*/env.toml`).
fn real_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One entry of a tree snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Symlink(PathBuf),
}

/// Every entry of the repository (`modules/`, `envs/` and whatever else
/// `generate` writes), by relative path. Symlinks are recorded, not
/// followed.
type Tree = BTreeMap<String, Entry>;

fn walk(root: &Path, rel: &str, out: &mut Tree) {
    let abs = root.join(rel);
    let meta = match std::fs::symlink_metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => panic!("{}: {e}", abs.display()),
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&abs).unwrap_or_else(|e| panic!("{rel}: {e}"));
        out.insert(rel.to_owned(), Entry::Symlink(target));
    } else if meta.is_dir() {
        out.insert(rel.to_owned(), Entry::Dir);
        let mut names: Vec<String> = std::fs::read_dir(&abs)
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .into_string()
                    .expect("UTF-8 file name")
            })
            .collect();
        names.sort();
        for n in names {
            walk(root, &format!("{rel}/{n}"), out);
        }
    } else {
        let bytes = std::fs::read(&abs).unwrap_or_else(|e| panic!("{rel}: {e}"));
        out.insert(rel.to_owned(), Entry::File(bytes));
    }
}

/// Names every path whose entry differs.
#[track_caller]
fn assert_same_tree(expected: &Tree, actual: &Tree) {
    if expected == actual {
        return;
    }
    let describe = |e: &Entry| match e {
        Entry::File(b) => format!("file of {} bytes", b.len()),
        Entry::Dir => "directory".to_owned(),
        Entry::Symlink(t) => format!("symlink to {}", t.display()),
    };
    let mut problems = Vec::new();
    for (p, e) in expected {
        match actual.get(p) {
            None => problems.push(format!("removed: {p}")),
            Some(a) if a != e => {
                problems.push(format!("changed: {p} ({} -> {})", describe(e), describe(a)));
            }
            Some(_) => {}
        }
    }
    for p in actual.keys().filter(|p| !expected.contains_key(*p)) {
        problems.push(format!("added:   {p}"));
    }
    panic!("the tree changed:\n  {}", problems.join("\n  "));
}

/// A temporary repository with the samples generated once.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn generated() -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("drgen-hostile-")
            .tempdir()
            .expect("temporary directory");
        for env in ["dev", "prod"] {
            let from = real_repo().join("envs").join(env).join("env.toml");
            let to = dir.path().join("envs").join(env);
            std::fs::create_dir_all(&to).expect("create envs dir");
            std::fs::copy(&from, to.join("env.toml"))
                .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
        let repo = Repo { dir };
        let out = repo.generate();
        assert_eq!(
            out.status.code(),
            Some(0),
            "baseline generate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let files = repo
            .snapshot()
            .iter()
            .filter(|(p, e)| matches!(e, Entry::File(_)) && !p.ends_with("/env.toml"))
            .count();
        assert!(files >= 20, "baseline generated only {files} files");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn generate(&self) -> std::process::Output {
        let mut cmd = assert_cmd::Command::cargo_bin("drgen").expect("drgen binary");
        cmd.env_remove("DRGEN_FAULT_AFTER_SWAPS")
            .env("RUST_BACKTRACE", "0")
            .arg("--repo")
            .arg(self.path())
            .arg("generate")
            .timeout(TIMEOUT);
        cmd.output().expect("run drgen")
    }

    fn snapshot(&self) -> Tree {
        let mut tree = Tree::new();
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read repo")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .into_string()
                    .expect("UTF-8 file name")
            })
            .collect();
        names.sort();
        for n in names {
            walk(self.path(), &n, &mut tree);
        }
        assert!(tree.contains_key("modules") && tree.contains_key("envs"));
        tree
    }

    fn stage_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.path())
            .expect("read repo")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(".drgen-stage-"))
            .collect()
    }

    /// Replaces `envs/dev/env.toml` with `input`; returns the entry the
    /// snapshot should show for it.
    fn put(&self, input: &Input) -> Entry {
        let abs = self.path().join(DEV);
        std::fs::remove_file(&abs).expect("remove env.toml");
        match input {
            Input::Bytes(b) => {
                std::fs::write(&abs, b).expect("write env.toml");
                Entry::File(b.clone())
            }
            Input::Directory => {
                std::fs::create_dir(&abs).expect("create env.toml dir");
                Entry::Dir
            }
            Input::Symlink(target) => {
                std::os::unix::fs::symlink(target, &abs).expect("symlink env.toml");
                Entry::Symlink(target.clone())
            }
        }
    }
}

/// What goes where `envs/dev/env.toml` is.
#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    /// An empty directory.
    Directory,
    /// A symbolic link to this target.
    Symlink(PathBuf),
}

impl From<String> for Input {
    fn from(s: String) -> Input {
        Input::Bytes(s.into_bytes())
    }
}

impl From<&str> for Input {
    fn from(s: &str) -> Input {
        Input::Bytes(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Input {
    fn from(b: Vec<u8>) -> Input {
        Input::Bytes(b)
    }
}

/// What the error must say.
#[derive(Debug, Clone)]
enum Expect {
    /// A syntax or type error: `error: envs/dev/env.toml:LINE:COL: FIELD: `
    /// and a non-empty message.
    Parse {
        line: usize,
        column: usize,
        field: String,
    },
    /// Semantic errors: `error: envs/dev/env.toml: N invalid field(s):` and
    /// one line per error, for exactly these fields in this order.
    Invalid(&'static [&'static str]),
    /// Semantic errors, one or more, all of this field (the count depends
    /// on the naming table, e.g. one per resource type a bad suffix breaks).
    InvalidField(&'static str),
    /// Exactly this stderr.
    Exact(String),
    /// Some error about the file: `error: envs/dev/env.toml` and more.
    AboutFile,
}

fn parse(line: usize, column: usize, field: impl Into<String>) -> Expect {
    Expect::Parse {
        line,
        column,
        field: field.into(),
    }
}

/// A syntax error (the field is `(file)`).
fn syntax(line: usize, column: usize) -> Expect {
    parse(line, column, "(file)")
}

fn invalid(fields: &'static [&'static str]) -> Expect {
    Expect::Invalid(fields)
}

/// Puts `input` in place, runs `generate`, and checks the exit status,
/// the message and the tree.
#[track_caller]
fn reject(input: impl Into<Input>, expect: Expect) {
    let input = input.into();
    let repo = Repo::generated();
    let mut expected = repo.snapshot();
    let entry = repo.put(&input);
    expected.insert(DEV.to_owned(), entry);

    let out = repo.generate();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown: String = if stderr.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}... ({} bytes)", &stderr[..cut], stderr.len())
    } else {
        stderr.clone().into_owned()
    };
    assert!(!stderr.contains("panicked"), "drgen panicked:\n{shown}");
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status (None: killed, e.g. by the {TIMEOUT:?} timeout or a signal)\nstdout:\n{stdout}\nstderr:\n{shown}"
    );
    assert_eq!(stdout, "", "stdout");
    assert!(
        std::str::from_utf8(&out.stderr).is_ok(),
        "stderr is not UTF-8"
    );
    assert!(
        stderr.ends_with('\n'),
        "stderr does not end a line:\n{shown}"
    );
    match &expect {
        Expect::Parse {
            line,
            column,
            field,
        } => {
            let prefix = format!("error: {DEV}:{line}:{column}: {field}: ");
            assert!(
                stderr.starts_with(&prefix),
                "stderr:\n{shown}\ndoes not start with:\n{prefix}"
            );
            assert!(
                !stderr[prefix.len()..].trim().is_empty(),
                "no message after {prefix:?}"
            );
        }
        Expect::Invalid(fields) => {
            assert_eq!(
                &invalid_fields(&stderr, &shown),
                fields,
                "fields of:\n{shown}"
            );
        }
        Expect::InvalidField(field) => {
            let fields = invalid_fields(&stderr, &shown);
            assert!(
                !fields.is_empty() && fields.iter().all(|f| f == field),
                "expected only {field} errors:\n{shown}"
            );
        }
        Expect::Exact(s) => assert_eq!(stderr, s.as_str(), "stderr"),
        Expect::AboutFile => {
            let prefix = format!("error: {DEV}");
            assert!(
                stderr.starts_with(&prefix) && stderr.trim_end().len() > prefix.len() + 2,
                "stderr:\n{shown}\ndoes not start with:\n{prefix}"
            );
        }
    }
    assert_same_tree(&expected, &repo.snapshot());
    assert_eq!(
        repo.stage_dirs(),
        Vec::<String>::new(),
        "staging directory left"
    );
}

/// The fields of an `N invalid field(s):` message, checking N and that
/// every message is non-empty.
#[track_caller]
fn invalid_fields<'a>(stderr: &'a str, shown: &str) -> Vec<&'a str> {
    let prefix = format!("error: {DEV}: ");
    let rest = stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("stderr:\n{shown}\ndoes not start with:\n{prefix}"));
    let (count, rest) = rest
        .split_once(" invalid field(s):\n  ")
        .unwrap_or_else(|| panic!("no `N invalid field(s):` in:\n{shown}"));
    let lines: Vec<&str> = rest
        .strip_suffix('\n')
        .unwrap_or(rest)
        .split("\n  ")
        .collect();
    assert_eq!(count, lines.len().to_string(), "error count of:\n{shown}");
    lines
        .iter()
        .map(|l| {
            let (field, msg) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("no `field: message` in {l:?}"));
            assert!(!msg.trim().is_empty(), "empty message in:\n{shown}");
            field
        })
        .collect()
}

/// Defines one `#[test]` per input.
macro_rules! hostile {
    ($( $(#[$meta:meta])* $name:ident: $input:expr => $expect:expr; )+) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                reject($input, $expect);
            }
        )+
    };
}

// ---------------------------------------------------------------------------
// Syntax errors: the first one, as `(file)` with line and column
// ---------------------------------------------------------------------------

hostile! {
    syntax_unclosed_table_header: dev("[lambda]", "[lambda") => syntax(15, 8);
    syntax_bad_string_escape: dev("\"dev\"", "\"d\\qv\"") => syntax(1, 26);
    syntax_bad_unicode_escape: dev("\"dev\"", "\"\\uD800\"") => syntax(1, 25);
    syntax_unterminated_string: dev("\"dev\"", "\"dev") => syntax(1, 26);
    syntax_missing_equals: dev("memory_mb = 512", "memory_mb 512") => syntax(16, 11);
    syntax_duplicate_table:
        format!("{VALID_DEV}\n[lambda]\nmemory_mb = 1024\n") => syntax(30, 1);
    syntax_duplicate_key: dev("timeout_s = 10", "timeout_s = 10\ntimeout_s = 11") => syntax(18, 1);
    syntax_bare_word: dev("[lambda]", "lambda") => syntax(15, 7);
    syntax_lone_carriage_return: dev("[lambda]\n", "[lambda]\r") => syntax(15, 9);
    syntax_control_character_in_string: dev("\"dev\"", "\"d\u{7}v\"") => syntax(1, 24);
}

// ---------------------------------------------------------------------------
// Wrong types and unknown keys: the key path
// ---------------------------------------------------------------------------

hostile! {
    type_string_for_integer:
        dev("memory_mb = 512", "memory_mb = \"big\"") => parse(16, 13, "lambda.memory_mb");
    type_float_for_integer:
        dev("memory_mb = 512", "memory_mb = 512.0") => parse(16, 13, "lambda.memory_mb");
    type_nan_for_integer:
        dev("memory_mb = 512", "memory_mb = nan") => parse(16, 13, "lambda.memory_mb");
    type_integer_for_string: dev("\"dev\"", "42") => parse(1, 22, "environment_suffix");
    type_array_for_string: dev("\"dev\"", "[\"d\", \"e\", \"v\"]") => parse(1, 22, "environment_suffix");
    type_datetime_for_string: dev("\"dev\"", "1979-05-27T07:32:00Z") => parse(1, 22, "environment_suffix");
    type_string_for_table:
        dev("[regions]\nprimary = \"us-east-1\"\ndr = \"us-east-2\"", "regions = \"us-east-1\"")
        => parse(3, 11, "regions");
    type_string_for_bool:
        dev("create_zone = true", "create_zone = \"yes\"") => parse(25, 15, "dns.create_zone");
    type_array_of_tables_for_table: dev("[dns]", "[[dns]]") => parse(23, 1, "dns[0]");
    type_integer_account_id:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\naccount_id = 210987654321")
        => parse(2, 14, "account_id");
    unknown_top_level_key:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\ncolour = \"blue\"")
        => parse(2, 1, "colour");
    unknown_nested_key:
        dev("timeout_s = 10", "timeout_s = 10\nruntime = \"python3.12\"") => parse(18, 1, "lambda.runtime");
    missing_required_key: dev("timeout_s = 10\n", "") => parse(15, 1, "lambda");
}

// ---------------------------------------------------------------------------
// The suffix: length and character limits
// ---------------------------------------------------------------------------

/// The suffix, quoted, replacing `"dev"`.
fn suffix(s: &str) -> String {
    dev("\"dev\"", &format!("\"{s}\""))
}

#[test]
fn suffix_of_the_maximum_length_is_accepted_by_validation() {
    // The boundary the next test is one past.
    let (max, _) = drgen::policy::naming::max_suffix_len();
    let f = drgen::config::parse(Path::new(DEV), &suffix(&"a".repeat(max))).expect("parses");
    assert_eq!(drgen::config::validate(&f), Vec::new());
}

#[test]
fn suffix_one_past_the_s3_bucket_limit() {
    // The S3 bucket name `payments-{region}-{account}-{suffix}` is the
    // longest derived name; one more character breaks only it.
    let (max, spec) = drgen::policy::naming::max_suffix_len();
    assert_eq!(spec.resource_type, "aws_s3_bucket");
    let s = "a".repeat(max + 1);
    let f = drgen::config::parse(Path::new(DEV), &suffix(&s)).expect("parses");
    let errors = drgen::config::validate(&f);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("S3 bucket name"), "{errors:?}");
    reject(suffix(&s), invalid(&["environment_suffix"]));
}

hostile! {
    suffix_empty: suffix("") => Expect::InvalidField("environment_suffix");
    suffix_64_characters: suffix(&"a".repeat(64)) => Expect::InvalidField("environment_suffix");
    suffix_uppercase: suffix("Dev") => Expect::InvalidField("environment_suffix");
    suffix_underscore: suffix("dev_1") => Expect::InvalidField("environment_suffix");
    suffix_dot: suffix("d.v") => Expect::InvalidField("environment_suffix");
    suffix_space: suffix("d v") => Expect::InvalidField("environment_suffix");
    suffix_leading_hyphen: suffix("-dev") => Expect::InvalidField("environment_suffix");
    suffix_trailing_hyphen: suffix("dev-") => Expect::InvalidField("environment_suffix");
    suffix_double_hyphen: suffix("dev--1") => Expect::InvalidField("environment_suffix");
    suffix_non_ascii: suffix("d\u{e9}v") => Expect::InvalidField("environment_suffix");
    suffix_slash: suffix("d/v") => Expect::InvalidField("environment_suffix");
}

// ---------------------------------------------------------------------------
// Network, regions, account, other fields
// ---------------------------------------------------------------------------

hostile! {
    cidr_overlapping:
        dev("\"10.20.0.0/16\"", "\"10.10.128.0/17\"") => invalid(&["network.dr_cidr"]);
    cidr_identical:
        dev("\"10.20.0.0/16\"", "\"10.10.0.0/16\"") => invalid(&["network.dr_cidr"]);
    cidr_public:
        dev("\"10.10.0.0/16\"", "\"8.8.0.0/16\"") => invalid(&["network.primary_cidr"]);
    cidr_just_outside_172_16_12:
        dev("\"10.10.0.0/16\"", "\"172.32.0.0/16\"") => invalid(&["network.primary_cidr"]);
    cidr_prefix_too_short:
        dev("\"10.10.0.0/16\"", "\"10.0.0.0/8\"") => invalid(&["network.primary_cidr"]);
    cidr_prefix_33: dev("\"10.10.0.0/16\"", "\"10.10.0.0/33\"") => invalid(&["network.primary_cidr"]);
    cidr_prefix_huge:
        dev("\"10.10.0.0/16\"", "\"10.10.0.0/99999999999999999999\"") => invalid(&["network.primary_cidr"]);
    cidr_ipv6: dev("\"10.10.0.0/16\"", "\"fd00::/16\"") => invalid(&["network.primary_cidr"]);
    regions_equal:
        dev("primary = \"us-east-1\"", "primary = \"us-east-2\"") => invalid(&["regions.dr"]);
    region_invalid_code:
        dev("primary = \"us-east-1\"", "primary = \"us-middle-9\"") => invalid(&["regions.primary"]);
    region_uppercase:
        dev("primary = \"us-east-1\"", "primary = \"US-EAST-1\"") => invalid(&["regions.primary"]);
    region_empty: dev("primary = \"us-east-1\"", "primary = \"\"") => invalid(&["regions.primary"]);
    regions_both_invalid:
        dev("primary = \"us-east-1\"\ndr = \"us-east-2\"", "primary = \"mars-1\"\ndr = \"mars-1\"")
        => invalid(&["regions.primary", "regions.dr"]);
    account_id_placeholder:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\naccount_id = \"123456789012\"")
        => invalid(&["account_id"]);
    account_id_other_placeholder:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\naccount_id = \"012345678901\"")
        => invalid(&["account_id"]);
    account_id_one_repeated_digit:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\naccount_id = \"000000000000\"")
        => invalid(&["account_id"]);
    account_id_13_digits:
        dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\naccount_id = \"2109876543210\"")
        => invalid(&["account_id"]);
    engine_version_huge_major:
        dev("\"16.6\"", "\"99999999999999999999.1\"") => invalid(&["database.engine_version"]);
    instance_class_without_size:
        dev("\"db.r6g.large\"", "\"db.r6g.\"") => invalid(&["database.instance_class"]);
    lambda_timeout_zero: dev("timeout_s = 10", "timeout_s = 0") => invalid(&["lambda.timeout_s"]);
    lambda_reserved_concurrency_zero:
        dev("timeout_s = 10", "timeout_s = 10\nreserved_concurrency = 0")
        => invalid(&["lambda.reserved_concurrency"]);
    az_ids_of_the_other_region:
        dev("dr_cidr = \"10.20.0.0/16\"", "dr_cidr = \"10.20.0.0/16\"\nprimary_az_ids = [\"use2-az1\", \"use2-az2\"]")
        => invalid(&["network.primary_az_ids", "network.primary_az_ids"]);
    az_ids_missing_for_a_region_without_defaults:
        dev("primary = \"us-east-1\"", "primary = \"eu-west-1\"") => invalid(&["network.primary_az_ids"]);
    az_ids_not_an_array:
        dev("dr_cidr = \"10.20.0.0/16\"", "dr_cidr = \"10.20.0.0/16\"\ndr_az_ids = \"use2-az1\"")
        => parse(10, 13, "network.dr_az_ids");
    custom_domain_equal_to_zone:
        dev("create_zone = true", "create_zone = true\n[dns.custom_domain]\nname = \"dev.payments.example.com\"")
        => invalid(&["dns.custom_domain.name"]);
}

// ---------------------------------------------------------------------------
// Huge values
// ---------------------------------------------------------------------------

hostile! {
    huge_memory_over_u32: dev("memory_mb = 512", "memory_mb = 99999999999") => parse(16, 13, "lambda.memory_mb");
    huge_memory_over_i64:
        dev("memory_mb = 512", "memory_mb = 99999999999999999999999") => syntax(16, 13);
    huge_memory_u32_max:
        dev("memory_mb = 512", "memory_mb = 4294967295") => invalid(&["lambda.memory_mb"]);
    huge_timeout_u32_max:
        dev("timeout_s = 10", "timeout_s = 4294967295") => invalid(&["lambda.timeout_s"]);
    huge_suffix_one_megabyte: suffix(&"a".repeat(1 << 20)) => Expect::InvalidField("environment_suffix");
    huge_unknown_key_one_megabyte:
        format!("{}{VALID_DEV}", format!("{} = 1\n", "k".repeat(1 << 20))) => parse(1, 1, "k".repeat(1 << 20));
    huge_zone_name: dev("\"dev.payments.example.com\"", &format!("\"{}.com\"", vec!["a".repeat(63); 5].join(".")))
        => invalid(&["dns.zone_name"]);
    deep_arrays_10000_open: dev("\"dev\"", &"[".repeat(10_000)) => syntax(1, 101);
    deep_arrays_10000_balanced:
        dev("\"dev\"", &format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))) => syntax(1, 101);
    deep_arrays_one_megabyte: dev("\"dev\"", &"[".repeat(1 << 20)) => syntax(1, 101);
    deep_inline_tables_10000:
        dev("\"dev\"", &format!("{}1{}", "{a=".repeat(10_000), "}".repeat(10_000))) => syntax(1, 259);
    deep_dotted_key_10000:
        dev("[lambda]", &format!("{} = 1\n[lambda]", vec!["a"; 10_000].join("."))) => syntax(15, 1);
    deep_table_header_10000: format!("[{}]\n", vec!["a"; 10_000].join(".")) => syntax(1, 2);
}

// ---------------------------------------------------------------------------
// Encoding and odd bytes
// ---------------------------------------------------------------------------

hostile! {
    not_utf8:
        dev_bytes("\"dev\"", b"\"d\xffv\"")
        => Expect::Exact(format!("error: {DEV}: not valid UTF-8 (first invalid byte at offset 23)\n"));
    utf16_with_bom:
        VALID_DEV.encode_utf16().flat_map(u16::to_le_bytes).fold(vec![0xff, 0xfe], |mut v, b| { v.push(b); v })
        => Expect::Exact(format!("error: {DEV}: not valid UTF-8 (first invalid byte at offset 0)\n"));
    bom_then_syntax_error:
        [b"\xef\xbb\xbf".as_slice(), dev("[lambda]", "[lambda").as_bytes()].concat() => syntax(15, 8);
    bom_twice: [b"\xef\xbb\xbf\xef\xbb\xbf".as_slice(), VALID_DEV.as_bytes()].concat() => syntax(1, 2);
    nul_in_string: dev_bytes("\"dev\"", b"\"d\0v\"") => syntax(1, 24);
    nul_in_key: dev_bytes("memory_mb", b"memory\0mb") => syntax(16, 7);
    nul_only: vec![0u8; 64] => syntax(1, 1);
    nul_in_comment: [b"# a\0b\n".as_slice(), VALID_DEV.as_bytes()].concat() => syntax(1, 4);
    empty_file: "" => parse(1, 1, "(file)");
    only_comments: "# nothing here\n# but comments\n\n   # and blanks\n" => parse(1, 1, "(file)");
    only_whitespace: " \n\t\n\r\n" => parse(1, 1, "(file)");
}

/// A UTF-8 byte order mark before a valid file is accepted (the TOML parser
/// skips it), and the output is the same as without it: not an error, so
/// this is the one input here that exits 0.
#[test]
fn bom_before_a_valid_file_is_accepted() {
    let repo = Repo::generated();
    let mut expected = repo.snapshot();
    let original = std::fs::read(repo.path().join(DEV)).expect("read dev");
    let bytes = [b"\xef\xbb\xbf".as_slice(), &original].concat();
    expected.insert(DEV.to_owned(), repo.put(&Input::Bytes(bytes)));
    let out = repo.generate();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_tree(&expected, &repo.snapshot());
}

/// Control characters in a value are echoed back in the error message;
/// an escape sequence must not reach the terminal raw.
#[test]
fn escape_sequences_are_not_echoed_raw() {
    let repo = Repo::generated();
    repo.put(&Input::from(suffix("d\\u001b[2Jv")));
    let out = repo.generate();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in stderr: {stderr:?}"
    );
}

// ---------------------------------------------------------------------------
// Not a regular file
// ---------------------------------------------------------------------------

hostile! {
    directory_instead_of_file: Input::Directory
        => Expect::Exact(format!("error: {DEV}: is a directory, expected a TOML file\n"));
    symlink_to_dev_null: Input::Symlink("/dev/null".into()) => parse(1, 1, "(file)");
    symlink_to_a_directory: Input::Symlink("/".into())
        => Expect::Exact(format!("error: {DEV}: is a directory, expected a TOML file\n"));
    symlink_to_a_missing_file: Input::Symlink("/nonexistent/drgen/env.toml".into())
        => Expect::AboutFile;
    symlink_loop: Input::Symlink("env.toml".into()) => Expect::AboutFile;
}
