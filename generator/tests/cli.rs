//! End-to-end tests of the `drgen` binary.
//!
//! Every test gets a fresh temporary repository: the two sample
//! `env.toml` files are copied from the real repository and `drgen
//! generate` is run once to make a baseline tree. A test then overwrites
//! one or more `env.toml` files, runs one command and asserts its exact
//! stdout, stderr and exit status. Unless told otherwise, the harness also
//! asserts that every file and directory under `modules/` and `envs/` is
//! byte-identical afterwards, except the `env.toml` files the test itself
//! wrote, and that no staging directory is left behind.
//!
//! The style follows casey/just's tests:
//!
//! ```ignore
//! Test::new()
//!     .env_toml("dev", &dev("memory_mb = 512", "memory_mb = 64"))
//!     .args(&["generate"])
//!     .stderr("error: ...\n")
//!     .status(2)
//!     .run();
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The environment variable of the binary's atomic-write test hook.
const FAULT_VAR: &str = "DRGEN_FAULT_AFTER_SWAPS";

/// The prefix of the directory `drgen generate` stages its output in.
const STAGE_PREFIX: &str = ".drgen-stage-";

/// The real repository (holds the sample `envs/*/env.toml`).
fn real_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One entry of a tree snapshot.
#[derive(Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Dir,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::File(b) => write!(f, "File({} bytes)", b.len()),
            Entry::Dir => write!(f, "Dir"),
        }
    }
}

/// Every file and directory under `modules/` and `envs/`, by
/// repository-relative path (with `/` separators).
type Tree = BTreeMap<String, Entry>;

fn walk(root: &Path, rel: &str, out: &mut Tree) {
    let abs = root.join(rel);
    let meta = match std::fs::symlink_metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => panic!("{}: {e}", abs.display()),
    };
    if meta.is_dir() {
        out.insert(rel.to_owned(), Entry::Dir);
        let mut names: Vec<String> = std::fs::read_dir(&abs)
            .unwrap_or_else(|e| panic!("{}: {e}", abs.display()))
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
        let bytes = std::fs::read(&abs).unwrap_or_else(|e| panic!("{}: {e}", abs.display()));
        out.insert(rel.to_owned(), Entry::File(bytes));
    }
}

/// Asserts two snapshots are equal, naming every path that differs.
#[track_caller]
fn assert_same_tree(expected: &Tree, actual: &Tree, what: &str) {
    if expected == actual {
        return;
    }
    let mut problems = Vec::new();
    for (p, e) in expected {
        match actual.get(p) {
            None => problems.push(format!("removed: {p}")),
            Some(a) if a != e => problems.push(format!("changed: {p} ({e:?} -> {a:?})")),
            Some(_) => {}
        }
    }
    for p in actual.keys() {
        if !expected.contains_key(p) {
            problems.push(format!("added:   {p}"));
        }
    }
    panic!("{what}: the tree changed:\n  {}", problems.join("\n  "));
}

/// Asserts two snapshots hold the same generated files, byte for byte,
/// naming every path that differs.
#[track_caller]
fn assert_same_generated_files(expected: &Tree, actual: &Tree, what: &str) {
    let only_files = |t: &Tree| -> Tree {
        generated_files(t)
            .into_iter()
            .map(|(p, b)| (p.to_owned(), Entry::File(b.to_vec())))
            .collect()
    };
    assert_same_tree(&only_files(expected), &only_files(actual), what);
}

/// The generated tree committed in the real repository.
fn committed_tree() -> Tree {
    snapshot_at(&real_repo())
}

/// Every file and directory of the generated tops of the repository at
/// `root`.
fn snapshot_at(root: &Path) -> Tree {
    let mut tree = Tree::new();
    for top in ["modules", "envs", "hcl", "examples", "atlantis.yaml"] {
        walk(root, top, &mut tree);
    }
    tree
}

/// Generated files of a snapshot (everything except `env.toml` and
/// directories).
fn generated_files(tree: &Tree) -> BTreeMap<&str, &[u8]> {
    tree.iter()
        .filter_map(|(p, e)| match e {
            Entry::File(b) if !p.ends_with("/env.toml") => Some((p.as_str(), b.as_slice())),
            _ => None,
        })
        .collect()
}

/// A temporary repository.
#[derive(Debug)]
struct Repo {
    dir: TempDir,
}

impl Repo {
    /// A repository with the sample `env.toml` files and nothing generated.
    fn bare() -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("drgen-cli-")
            .tempdir()
            .expect("temporary directory");
        for env in ["dev", "prod"] {
            let from = real_repo().join("envs").join(env).join("env.toml");
            let to = dir.path().join("envs").join(env);
            std::fs::create_dir_all(&to).expect("create envs dir");
            std::fs::copy(&from, to.join("env.toml"))
                .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
        Repo { dir }
    }

    /// A repository with the sample environments generated once.
    fn generated() -> Repo {
        let repo = Repo::bare();
        let out = repo.drgen(&["generate"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "baseline generate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let files = generated_files(&repo.snapshot()).len();
        assert!(files >= 20, "baseline generated only {files} files");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("generated {files} files\n")
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `drgen --repo <this repo> <args>`, from the repository's parent.
    fn drgen(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = drgen_cmd();
        cmd.arg("--repo").arg(self.path()).args(args);
        cmd.output().expect("run drgen")
    }

    fn snapshot(&self) -> Tree {
        snapshot_at(self.path())
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{rel}: {e}"));
        }
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }

    /// Staging directories left in the repository root.
    fn stage_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.path())
            .expect("read repo")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(STAGE_PREFIX))
            .collect()
    }

    /// A test of one command in this repository.
    fn test(self) -> Test {
        Test {
            repo: self,
            args: Vec::new(),
            vars: Vec::new(),
            current_dir: None,
            relative_repo: false,
            writes: Vec::new(),
            stdout: Expect::Exact(String::new()),
            stderr: Expect::Exact(String::new()),
            status: 0,
            tree_unchanged: true,
        }
    }
}

/// The binary, with the fault hook cleared unless a test sets it.
fn drgen_cmd() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("drgen").expect("drgen binary");
    cmd.env_remove(FAULT_VAR);
    cmd
}

/// What a test writes over an environment's `env.toml`.
#[derive(Debug, Clone)]
enum Input {
    Bytes(Vec<u8>),
    /// A directory where the file should be.
    Directory,
}

/// An expectation on an output stream.
#[derive(Debug, Clone)]
enum Expect {
    Exact(String),
    StartsWith(String),
    /// Starts with the first and ends with the second.
    Around(String, String),
}

impl Expect {
    #[track_caller]
    fn check(&self, stream: &str, actual: &str, context: &str) {
        match self {
            Expect::Exact(e) => assert_eq!(actual, e, "{stream} of {context}"),
            Expect::StartsWith(e) => assert!(
                actual.starts_with(e.as_str()),
                "{stream} of {context}:\n{actual}\ndoes not start with:\n{e}"
            ),
            Expect::Around(start, end) => assert!(
                actual.len() >= start.len() + end.len() && actual.starts_with(start.as_str()) && actual.ends_with(end.as_str()),
                "{stream} of {context}:\n{actual}\ndoes not start with:\n{start}\nand end with:\n{end}"
            ),
        }
    }
}

/// One command run against a repository, with its expected results.
#[derive(Debug)]
struct Test {
    repo: Repo,
    args: Vec<OsString>,
    vars: Vec<(String, String)>,
    current_dir: Option<PathBuf>,
    relative_repo: bool,
    writes: Vec<(String, Input)>,
    stdout: Expect,
    stderr: Expect,
    status: i32,
    tree_unchanged: bool,
}

impl Test {
    /// A fresh repository with the sample environments generated.
    fn new() -> Test {
        Repo::generated().test()
    }

    /// Overwrites `envs/<env>/env.toml` with `text` before the run.
    fn env_toml(self, env: &str, text: &str) -> Test {
        self.env_bytes(env, text.as_bytes())
    }

    /// Overwrites `envs/<env>/env.toml` with raw bytes before the run.
    fn env_bytes(mut self, env: &str, bytes: &[u8]) -> Test {
        self.writes
            .push((env.to_owned(), Input::Bytes(bytes.to_vec())));
        self
    }

    /// Replaces `envs/<env>/env.toml` with an empty directory.
    fn env_dir(mut self, env: &str) -> Test {
        self.writes.push((env.to_owned(), Input::Directory));
        self
    }

    fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Sets an environment variable of the child process.
    fn env_var(mut self, key: &str, value: &str) -> Test {
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the binary from `dir`.
    fn current_dir(mut self, dir: &Path) -> Test {
        self.current_dir = Some(dir.to_owned());
        self
    }

    /// Passes `--repo` relative to the current directory (which must be
    /// an ancestor of the repository).
    fn relative_repo(mut self) -> Test {
        self.relative_repo = true;
        self
    }

    fn stdout(mut self, s: &str) -> Test {
        self.stdout = Expect::Exact(s.to_owned());
        self
    }

    fn stdout_starts_with(mut self, s: &str) -> Test {
        self.stdout = Expect::StartsWith(s.to_owned());
        self
    }

    fn stderr(mut self, s: &str) -> Test {
        self.stderr = Expect::Exact(s.to_owned());
        self
    }

    fn stderr_starts_with(mut self, s: &str) -> Test {
        self.stderr = Expect::StartsWith(s.to_owned());
        self
    }

    fn stderr_around(mut self, start: &str, end: &str) -> Test {
        self.stderr = Expect::Around(start.to_owned(), end.to_owned());
        self
    }

    fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// The command is expected to write generated files.
    fn tree_may_change(mut self) -> Test {
        self.tree_unchanged = false;
        self
    }

    /// Writes the inputs, runs the command and checks everything. Returns
    /// the repository for further steps.
    #[track_caller]
    fn run(self) -> Repo {
        let repo = self.repo;
        let mut expected = repo.snapshot();
        for (env, input) in &self.writes {
            let rel = format!("envs/{env}/env.toml");
            let abs = repo.path().join(&rel);
            if abs.is_dir() {
                std::fs::remove_dir_all(&abs).expect("remove env.toml dir");
            } else if abs.exists() {
                std::fs::remove_file(&abs).expect("remove env.toml");
            }
            match input {
                Input::Bytes(b) => {
                    repo.write(&rel, b);
                    expected.insert(rel, Entry::File(b.clone()));
                }
                Input::Directory => {
                    std::fs::create_dir_all(&abs).expect("create env.toml dir");
                    expected.insert(rel, Entry::Dir);
                }
            }
        }

        let mut cmd = drgen_cmd();
        let repo_arg: PathBuf = if self.relative_repo {
            let cwd = self
                .current_dir
                .as_deref()
                .expect("relative_repo needs current_dir");
            repo.path()
                .strip_prefix(cwd)
                .expect("current_dir is an ancestor of the repository")
                .to_owned()
        } else {
            repo.path().to_owned()
        };
        cmd.arg("--repo").arg(&repo_arg).args(&self.args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        if let Some(d) = &self.current_dir {
            cmd.current_dir(d);
        }
        let out = cmd.output().expect("run drgen");
        let context = format!("drgen --repo {} {:?}", repo_arg.display(), self.args);
        let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
        let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
        self.stderr.check("stderr", &stderr, &context);
        self.stdout.check("stdout", &stdout, &context);
        assert_eq!(
            out.status.code(),
            Some(self.status),
            "exit status of {context}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        if self.tree_unchanged {
            assert_same_tree(&expected, &repo.snapshot(), &context);
        }
        assert_eq!(
            repo.stage_dirs(),
            Vec::<String>::new(),
            "staging directory left by {context}"
        );
        repo
    }
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// A valid dev environment; every bad input below is this with one change
/// (so the line numbers of parse errors do not depend on the samples).
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
    edit(VALID_DEV, &[(from, to)])
}

/// `text` with each `from` (which must occur exactly once) replaced.
#[track_caller]
fn edit(text: &str, changes: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in changes {
        assert_eq!(
            out.matches(from).count(),
            1,
            "{from:?} must occur once in:\n{out}"
        );
        out = out.replacen(from, to, 1);
    }
    out
}

/// The stderr of a file with semantic errors.
fn invalid(path: &str, errors: &[&str]) -> String {
    let mut s = format!("error: {path}: {} invalid field(s):", errors.len());
    for e in errors {
        s.push_str("\n  ");
        s.push_str(e);
    }
    s.push('\n');
    s
}

/// Runs `generate` over a bad dev `env.toml`: exit 2, exactly `stderr`,
/// nothing written.
#[track_caller]
fn bad_dev(text: &str, stderr: &str) {
    Test::new()
        .env_toml("dev", text)
        .args(&["generate"])
        .stderr(stderr)
        .status(2)
        .run();
}

/// Like [`bad_dev`], for one semantic error.
#[track_caller]
fn bad_dev_field(text: &str, error: &str) {
    bad_dev(text, &invalid("envs/dev/env.toml", &[error]));
}

// ---------------------------------------------------------------------------
// The base input is valid
// ---------------------------------------------------------------------------

#[test]
fn valid_dev_input_generates() {
    let repo = Test::new()
        .env_toml("dev", VALID_DEV)
        .args(&["generate", "--env", "dev"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
    // `VALID_DEV` is the sample dev environment without its comments: the
    // files written are the committed ones, byte for byte.
    assert_same_generated_files(&committed_tree(), &repo.snapshot(), "generate --env dev");
}

// ---------------------------------------------------------------------------
// Syntax and type errors: the first one, with line and column
// ---------------------------------------------------------------------------

#[test]
fn malformed_toml() {
    bad_dev(
        &dev("[lambda]", "[lambda"),
        "error: envs/dev/env.toml:15:8: (file): invalid table header\nexpected `.`, `]`\n",
    );
}

#[test]
fn duplicate_key() {
    bad_dev(
        &dev("timeout_s = 10", "timeout_s = 10\ntimeout_s = 11"),
        "error: envs/dev/env.toml:18:1: (file): duplicate key `timeout_s` in table `lambda`\n",
    );
}

#[test]
fn wrong_type() {
    bad_dev(
        &dev("memory_mb = 512", "memory_mb = \"big\""),
        "error: envs/dev/env.toml:16:13: lambda.memory_mb: invalid type: string \"big\", expected u32\n",
    );
}

#[test]
fn negative_number() {
    bad_dev(
        &dev("memory_mb = 512", "memory_mb = -1"),
        "error: envs/dev/env.toml:16:13: lambda.memory_mb: invalid value: integer `-1`, expected u32\n",
    );
}

#[test]
fn unknown_top_level_key() {
    bad_dev(
        &dev("environment_suffix = \"dev\"", "environment_suffix = \"dev\"\ncolour = \"blue\""),
        "error: envs/dev/env.toml:2:1: colour: unknown field `colour`, expected one of \
         `environment_suffix`, `account_id`, `regions`, `network`, `database`, `lambda`, `state`, `api`, `dns`\n",
    );
}

#[test]
fn empty_allowed_principals() {
    bad_dev(
        &dev(
            "allowed_principals = [\"arn:aws:iam::210987654321:role/checkout-service-dev\"]",
            "allowed_principals = []",
        ),
        "error: envs/dev/env.toml: 1 invalid field(s):\n  api.allowed_principals: is empty; an API nobody may call is a mistake: list at least one caller (12-digit account ids or arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME)\n",
    );
}

#[test]
fn missing_api_table() {
    bad_dev(
        &dev(
            "\n[api]\nallowed_principals = [\"arn:aws:iam::210987654321:role/checkout-service-dev\"]\n",
            "\n",
        ),
        "error: envs/dev/env.toml:1:1: (file): missing field `api`\n",
    );
}

#[test]
fn unknown_nested_key() {
    bad_dev(
        &dev("timeout_s = 10", "timeout_s = 10\nruntime = \"python3.12\""),
        "error: envs/dev/env.toml:18:1: lambda.runtime: unknown field `runtime`, expected one of `memory_mb`, `timeout_s`, `reserved_concurrency`\n",
    );
}

#[test]
fn unknown_key_in_optional_table() {
    bad_dev(
        &dev("create_zone = true", "create_zone = true\nttl = 60"),
        "error: envs/dev/env.toml:26:1: dns.ttl: unknown field `ttl`, expected one of `zone_name`, `create_zone`, `custom_domain`\n",
    );
}

#[test]
fn missing_required_key() {
    bad_dev(
        &dev("timeout_s = 10\n", ""),
        "error: envs/dev/env.toml:15:1: lambda: missing field `timeout_s`\n",
    );
}

#[test]
fn missing_required_table() {
    bad_dev(
        &dev("[lambda]\nmemory_mb = 512\ntimeout_s = 10\n", ""),
        "error: envs/dev/env.toml:1:1: (file): missing field `lambda`\n",
    );
}

#[test]
fn empty_file() {
    bad_dev(
        "",
        "error: envs/dev/env.toml:1:1: (file): missing field `environment_suffix`\n",
    );
}

#[test]
fn not_utf8() {
    let mut bytes = VALID_DEV.as_bytes().to_vec();
    // `environment_suffix = "d?v"`: the byte at offset 23 is the `e`.
    assert_eq!(bytes[23], b'e');
    bytes[23] = 0xff;
    Test::new()
        .env_bytes("dev", &bytes)
        .args(&["generate"])
        .stderr("error: envs/dev/env.toml: not valid UTF-8 (first invalid byte at offset 23)\n")
        .status(2)
        .run();
}

#[test]
fn env_toml_is_a_directory() {
    Test::new()
        .env_dir("dev")
        .args(&["generate"])
        .stderr("error: envs/dev/env.toml: is a directory, expected a TOML file\n")
        .status(2)
        .run();
}

// ---------------------------------------------------------------------------
// Semantic errors: every one of a file, with field and allowed values
// ---------------------------------------------------------------------------

#[test]
fn suffix_uppercase() {
    let rule = "invalid: character 'D' not allowed; use lowercase letters, digits and hyphens";
    bad_dev(
        &dev("\"dev\"", "\"Dev\""),
        &invalid(
            "envs/dev/env.toml",
            &[
                &format!("environment_suffix: \"Dev\" makes DB subnet group name (aws_db_subnet_group) \"db-subnets-Dev\" {rule}"),
                &format!("environment_suffix: \"Dev\" makes RDS identifier (aws_rds_global_cluster) \"aurora-global-Dev\" {rule}"),
                &format!(
                    "environment_suffix: \"Dev\" makes S3 bucket name (aws_s3_bucket) \"payments-{{region}}-{{account}}-Dev\" {rule}"
                ),
            ],
        ),
    );
}

#[test]
fn suffix_underscore() {
    let rule = "invalid: character '_' not allowed; use lowercase letters, digits and hyphens";
    bad_dev(
        &dev("\"dev\"", "\"dev_1\""),
        &invalid(
            "envs/dev/env.toml",
            &[
                &format!("environment_suffix: \"dev_1\" makes DB subnet group name (aws_db_subnet_group) \"db-subnets-dev_1\" {rule}"),
                &format!("environment_suffix: \"dev_1\" makes RDS identifier (aws_rds_global_cluster) \"aurora-global-dev_1\" {rule}"),
                &format!(
                    "environment_suffix: \"dev_1\" makes S3 bucket name (aws_s3_bucket) \"payments-{{region}}-{{account}}-dev_1\" {rule}"
                ),
            ],
        ),
    );
}

#[test]
fn suffix_double_hyphen() {
    bad_dev_field(
        &dev("\"dev\"", "\"dev--1\""),
        "environment_suffix: \"dev--1\" makes RDS identifier (aws_rds_global_cluster) \"aurora-global-dev--1\" invalid: \
         must not contain two consecutive hyphens or end with a hyphen",
    );
}

#[test]
fn suffix_trailing_hyphen() {
    bad_dev_field(
        &dev("\"dev\"", "\"dev-\""),
        "environment_suffix: \"dev-\" makes RDS identifier (aws_rds_global_cluster) \"aurora-global-dev-\" invalid: \
         must not contain two consecutive hyphens or end with a hyphen",
    );
}

#[test]
fn suffix_one_character_too_long() {
    let (max, spec) = drgen::policy::naming::max_suffix_len();
    // The S3 bucket name is the longest derived name, so it sets the bound.
    assert_eq!(spec.resource_type, "aws_s3_bucket");
    assert_eq!(spec.limit.max, 63);
    let suffix = "a".repeat(max + 1);
    bad_dev_field(
        &dev("\"dev\"", &format!("\"{suffix}\"")),
        &format!(
            "environment_suffix: \"{suffix}\" is {} characters; at most {max} fit the longest derived name, \
             the S3 bucket name \"payments-{{region}}-{{account}}-{{suffix}}\" ({} characters at most, \
             with a region code of up to 14 characters and a 12-digit account id)",
            max + 1,
            spec.limit.max
        ),
    );
}

#[test]
fn suffix_of_the_maximum_length_is_accepted() {
    let (max, _) = drgen::policy::naming::max_suffix_len();
    Test::new()
        .env_toml("dev", &dev("\"dev\"", &format!("\"{}\"", "a".repeat(max))))
        .args(&["generate", "--env", "dev"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
}

#[test]
fn equal_regions() {
    // Both in the state region, so only the region pair is wrong.
    bad_dev_field(
        &dev("primary = \"us-east-1\"", "primary = \"us-east-2\""),
        "regions.dr: \"us-east-2\" equals regions.primary; the DR region must differ",
    );
}

#[test]
fn invalid_region_code() {
    bad_dev_field(
        &dev("primary = \"us-east-1\"", "primary = \"us-middle-9\""),
        "regions.primary: \"us-middle-9\" is not an AWS region code (e.g. us-east-1, us-east-2, eu-west-1)",
    );
}

#[test]
fn invalid_cidr() {
    bad_dev_field(
        &dev("\"10.20.0.0/16\"", "\"10.20.0/16\""),
        "network.dr_cidr: \"10.20.0/16\" is not a CIDR block (a.b.c.d/n)",
    );
}

#[test]
fn cidr_with_host_bits() {
    bad_dev_field(
        &dev("\"10.20.0.0/16\"", "\"10.20.0.1/16\""),
        "network.dr_cidr: \"10.20.0.1/16\" has host bits set; did you mean 10.20.0.0/16?",
    );
}

#[test]
fn public_cidr() {
    bad_dev_field(
        &dev("\"10.10.0.0/16\"", "\"172.32.0.0/16\""),
        "network.primary_cidr: \"172.32.0.0/16\" is not private (RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
    );
}

#[test]
fn overlapping_cidrs() {
    bad_dev_field(
        &dev("\"10.20.0.0/16\"", "\"10.10.128.0/17\""),
        "network.dr_cidr: \"10.10.128.0/17\" overlaps network.primary_cidr \"10.10.0.0/16\"; \
         the regions' VPCs must not overlap",
    );
}

#[test]
fn cidr_too_small() {
    bad_dev_field(
        &dev("\"10.20.0.0/16\"", "\"10.20.0.0/26\""),
        "network.dr_cidr: \"10.20.0.0/26\": prefix /26 is outside /16-/24 (AWS allows /16 at most; \
         the 3 private subnets are /prefix+4 and need at least /28)",
    );
}

#[test]
fn burstable_instance_class() {
    bad_dev_field(
        &dev("\"db.r6g.large\"", "\"db.t4g.medium\""),
        "database.instance_class: \"db.t4g.medium\" is burstable; global databases reject db.t* classes \
         (use one of: db.r5, db.r6g, db.r6i, db.r7g, db.r7i, db.r8g, db.x2g)",
    );
}

#[test]
fn unknown_instance_family() {
    bad_dev_field(
        &dev("\"db.r6g.large\"", "\"db.m6g.large\""),
        "database.instance_class: \"db.m6g.large\" is not a memory-optimized class a global database accepts \
         (db.FAMILY.SIZE, FAMILY one of: db.r5, db.r6g, db.r6i, db.r7g, db.r7i, db.r8g, db.x2g)",
    );
}

#[test]
fn engine_version_not_major_minor() {
    bad_dev_field(
        &dev("\"16.6\"", "\"16\""),
        "database.engine_version: \"16\" is not MAJOR.MINOR (e.g. \"16.6\")",
    );
}

#[test]
fn engine_version_unsupported_major() {
    bad_dev_field(
        &dev("\"16.6\"", "\"11.9\""),
        "database.engine_version: \"11.9\": Aurora PostgreSQL global databases here need major 13-17",
    );
}

#[test]
fn lambda_timeout_above_api_gateway_limit() {
    bad_dev_field(
        &dev("timeout_s = 10", "timeout_s = 30"),
        "lambda.timeout_s: 30 is outside 1-29 s (API Gateway REST integrations time out at 29 s)",
    );
}

#[test]
fn lambda_memory_too_small() {
    bad_dev_field(
        &dev("memory_mb = 512", "memory_mb = 64"),
        "lambda.memory_mb: 64 is outside 128-10240 MB",
    );
}

#[test]
fn placeholder_account_id() {
    bad_dev_field(
        &dev(
            "environment_suffix = \"dev\"",
            "environment_suffix = \"dev\"\naccount_id = \"123456789012\"",
        ),
        "account_id: \"123456789012\" is a placeholder; set the real account id or remove the key",
    );
}

#[test]
fn account_id_not_12_digits() {
    bad_dev_field(
        &dev(
            "environment_suffix = \"dev\"",
            "environment_suffix = \"dev\"\naccount_id = \"12345\"",
        ),
        "account_id: \"12345\" is not a 12-digit AWS account id",
    );
}

#[test]
fn state_region_not_the_dr_region() {
    bad_dev_field(
        &dev("region = \"us-east-2\"", "region = \"us-west-2\""),
        "state.region: \"us-west-2\" must be the DR region \"us-east-2\", so state stays readable when us-east-1 is down",
    );
}

#[test]
fn state_bucket_with_dots_is_accepted_and_edges_are_checked() {
    Test::new()
        .env_toml(
            "dev",
            &dev("\"drgen-tfstate-dev-use2\"", "\"drgen.tfstate.dev\""),
        )
        .args(&["generate"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .status(0)
        .run();
    bad_dev_field(
        &dev("\"drgen-tfstate-dev-use2\"", "\"-drgen-state-\""),
        "state.bucket: \"-drgen-state-\": must start and end with a lowercase letter or digit",
    );
}

#[test]
fn generate_check_reports_a_nested_stale_file() {
    let repo = Repo::generated();
    repo.write("modules/primary/sub/x.json", "x\n");
    repo.test()
        .args(&["generate", "--check"])
        .stdout("stale:   modules/primary/sub/x.json\n")
        .stderr(&format!("1 {DRIFT}"))
        .status(1)
        .run();
}

#[test]
fn invalid_state_bucket() {
    bad_dev_field(
        &dev("\"drgen-tfstate-dev-use2\"", "\"Drgen_State\""),
        "state.bucket: \"Drgen_State\": character 'D' not allowed; use lowercase letters, digits, hyphens and dots",
    );
}

#[test]
fn state_bucket_too_short() {
    bad_dev_field(
        &dev("\"drgen-tfstate-dev-use2\"", "\"ab\""),
        "state.bucket: \"ab\": 2 characters, limit 3-63",
    );
}

#[test]
fn custom_domain_outside_the_zone() {
    bad_dev_field(
        &dev("create_zone = true", "create_zone = true\n\n[dns.custom_domain]\nname = \"api.example.org\""),
        "dns.custom_domain.name: \"api.example.org\" must be a subdomain of the zone \"dev.payments.example.com\" (e.g. api.dev.payments.example.com)",
    );
}

/// dev's input with a custom domain that requires client certificates.
fn mtls_dev(uri: &str) -> String {
    dev(
        "create_zone = true",
        &format!(
            "create_zone = true\n\n[dns.custom_domain]\nname = \"api.dev.payments.example.com\"\n\
             truststore = {{ uri = \"{uri}\", version = \"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY\" }}"
        ),
    )
}

#[test]
fn truststore_generates_mutual_tls() {
    Test::new()
        .env_toml(
            "dev",
            &mtls_dev("s3://payments-us-east-1-345678901234-dev/mtls/truststore.pem"),
        )
        .args(&["generate", "--env", "dev"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
}

#[test]
fn truststore_outside_the_primary_bucket() {
    bad_dev_field(
        &mtls_dev("s3://payments-us-east-2-345678901234-dev/mtls/truststore.pem"),
        "dns.custom_domain.truststore.uri: \"s3://payments-us-east-2-345678901234-dev/mtls/truststore.pem\": \
         bucket \"payments-us-east-2-345678901234-dev\" is not the primary payments bucket; \
         use s3://payments-us-east-1-ACCOUNT-dev/KEY (an object of the primary payments bucket; replication copies it to the DR region)",
    );
}

#[test]
fn certificate_arns_in_the_wrong_regions() {
    let text = dev(
        "create_zone = true",
        "create_zone = true\n\n[dns.custom_domain]\nname = \"api.dev.payments.example.com\"\n\n\
         [dns.custom_domain.certificate_arns]\n\
         primary = \"arn:aws:acm:us-east-2:111122223333:certificate/abc\"\n\
         dr = \"arn:aws:acm:us-east-1:111122223333:certificate/def\"",
    );
    let why = "API Gateway regional domains need a certificate from their own region";
    bad_dev(
        &text,
        &invalid(
            "envs/dev/env.toml",
            &[
                &format!(
                    "dns.custom_domain.certificate_arns.primary: \"arn:aws:acm:us-east-2:111122223333:certificate/abc\" \
                     must be an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:ACCOUNT:certificate/ID); {why}"
                ),
                &format!(
                    "dns.custom_domain.certificate_arns.dr: \"arn:aws:acm:us-east-1:111122223333:certificate/def\" \
                     must be an ACM certificate ARN in us-east-2 (arn:aws:acm:us-east-2:ACCOUNT:certificate/ID); {why}"
                ),
            ],
        ),
    );
}

#[test]
fn invalid_zone_name() {
    bad_dev_field(
        &dev("\"dev.payments.example.com\"", "\"Dev.Example\""),
        "dns.zone_name: \"Dev.Example\" is not a lowercase domain name (e.g. payments.example.com)",
    );
}

#[test]
fn several_errors_in_one_file_are_reported_in_order() {
    let text = edit(
        VALID_DEV,
        &[
            ("\"dev\"", "\"dev--x\""),
            ("primary = \"us-east-1\"", "primary = \"us-east-2\""),
            ("\"10.20.0.0/16\"", "\"10.10.0.0/16\""),
            ("\"db.r6g.large\"", "\"db.t4g.medium\""),
            ("memory_mb = 512", "memory_mb = 64"),
            ("timeout_s = 10", "timeout_s = 30"),
            ("\"drgen-tfstate-dev-use2\"", "\"ab\""),
            ("\"dev.payments.example.com\"", "\"Dev.Example\""),
        ],
    );
    bad_dev(
        &text,
        &invalid(
            "envs/dev/env.toml",
            &[
                "environment_suffix: \"dev--x\" makes RDS identifier (aws_rds_global_cluster) \"aurora-global-dev--x\" \
                 invalid: must not contain two consecutive hyphens or end with a hyphen",
                "regions.dr: \"us-east-2\" equals regions.primary; the DR region must differ",
                "network.dr_cidr: \"10.10.0.0/16\" overlaps network.primary_cidr \"10.10.0.0/16\"; \
                 the regions' VPCs must not overlap",
                "database.instance_class: \"db.t4g.medium\" is burstable; global databases reject db.t* classes \
                 (use one of: db.r5, db.r6g, db.r6i, db.r7g, db.r7i, db.r8g, db.x2g)",
                "lambda.memory_mb: 64 is outside 128-10240 MB",
                "lambda.timeout_s: 30 is outside 1-29 s (API Gateway REST integrations time out at 29 s)",
                "state.bucket: \"ab\": 2 characters, limit 3-63",
                "dns.zone_name: \"Dev.Example\" is not a lowercase domain name (e.g. payments.example.com)",
            ],
        ),
    );
}

#[test]
fn errors_of_every_environment_are_reported_in_one_run() {
    let prod =
        std::fs::read_to_string(real_repo().join("envs/prod/env.toml")).expect("prod sample");
    let prod = prod.replacen("[lambda]", "[lambda", 1);
    let line = prod
        .lines()
        .position(|l| l == "[lambda")
        .expect("[lambda line")
        + 1;
    // Both files' errors, dev's first. (Only the first line carries the
    // `error: ` prefix; see the report, so that part is not pinned here.)
    Test::new()
        .env_toml("dev", &dev("memory_mb = 512", "memory_mb = 64"))
        .env_toml("prod", &prod)
        .args(&["generate"])
        .stderr_around(
            &invalid(
                "envs/dev/env.toml",
                &["lambda.memory_mb: 64 is outside 128-10240 MB"],
            ),
            &format!(
                "envs/prod/env.toml:{line}:8: (file): invalid table header\nexpected `.`, `]`\n"
            ),
        )
        .status(2)
        .run();
}

#[test]
fn check_rejects_bad_input_too() {
    Test::new()
        .env_toml("dev", &dev("timeout_s = 10", "timeout_s = 30"))
        .args(&["check"])
        .stderr(&invalid(
            "envs/dev/env.toml",
            &["lambda.timeout_s: 30 is outside 1-29 s (API Gateway REST integrations time out at 29 s)"],
        ))
        .status(2)
        .run();
}

#[test]
fn generate_check_rejects_bad_input_too() {
    Test::new()
        .env_toml("dev", &dev("timeout_s = 10", "timeout_s = 30"))
        .args(&["generate", "--check"])
        .stderr(&invalid(
            "envs/dev/env.toml",
            &["lambda.timeout_s: 30 is outside 1-29 s (API Gateway REST integrations time out at 29 s)"],
        ))
        .status(2)
        .run();
}

// ---------------------------------------------------------------------------
// Usage errors
// ---------------------------------------------------------------------------

#[test]
fn unknown_environment() {
    Test::new()
        .args(&["generate", "--env", "nosuch"])
        .stderr("error: unknown environment \"nosuch\"; available: dev, prod\n")
        .status(2)
        .run();
}

#[test]
fn unknown_environment_among_known_ones() {
    Test::new()
        .args(&["check", "--env", "dev", "--env", "nosuch"])
        .stderr("error: unknown environment \"nosuch\"; available: dev, prod\n")
        .status(2)
        .run();
}

#[test]
fn unknown_subcommand() {
    Test::new()
        .args(&["frobnicate"])
        .stderr(
            "error: unrecognized subcommand 'frobnicate'\n\n\
             Usage: drgen [OPTIONS] <COMMAND>\n\n\
             For more information, try '--help'.\n",
        )
        .status(2)
        .run();
}

#[test]
fn unknown_flag() {
    Test::new()
        .args(&["generate", "--bogus"])
        .stderr(
            "error: unexpected argument '--bogus' found\n\n\
             Usage: drgen generate [OPTIONS]\n\n\
             For more information, try '--help'.\n",
        )
        .status(2)
        .run();
}

// ---------------------------------------------------------------------------
// generate --check: drift
// ---------------------------------------------------------------------------

const DRIFT: &str = "generated file(s) differ from the generator: run drgen generate\n";

#[test]
fn generate_check_on_a_fresh_tree_passes() {
    Test::new()
        .args(&["generate", "--check"])
        .stdout("generated files are up to date\n")
        .run();
}

#[test]
fn generate_check_reports_an_edited_file() {
    let repo = Repo::generated();
    let mut bytes = repo.read("modules/primary/main.tf.json");
    bytes.extend_from_slice(b"\n");
    repo.write("modules/primary/main.tf.json", &bytes);
    repo.test()
        .args(&["generate", "--check"])
        .stdout("differs: modules/primary/main.tf.json\n")
        .stderr(&format!("1 {DRIFT}"))
        .status(1)
        .run();
}

#[test]
fn generate_check_reports_a_missing_file() {
    let repo = Repo::generated();
    repo.remove("envs/prod/dr/outputs.tf.json");
    repo.test()
        .args(&["generate", "--check"])
        .stdout("missing: envs/prod/dr/outputs.tf.json\n")
        .stderr(&format!("1 {DRIFT}"))
        .status(1)
        .run();
}

#[test]
fn generate_check_reports_a_stale_file() {
    let repo = Repo::generated();
    repo.write("modules/primary/stray.tf.json", "{}\n");
    repo.test()
        .args(&["generate", "--check"])
        .stdout("stale:   modules/primary/stray.tf.json\n")
        .stderr(&format!("1 {DRIFT}"))
        .status(1)
        .run();
}

#[test]
fn generate_restores_the_tree() {
    let repo = Repo::generated();
    let baseline = repo.snapshot();
    let mut bytes = repo.read("modules/primary/main.tf.json");
    bytes.extend_from_slice(b" ");
    repo.write("modules/primary/main.tf.json", &bytes);
    repo.remove("envs/prod/dr/outputs.tf.json");
    repo.write("modules/primary/stray.tf.json", "{}\n");
    repo.write("modules/obsolete/main.tf.json", "{}\n");
    let repo = repo
        .test()
        .args(&["generate", "--check"])
        .stdout(
            "missing: envs/prod/dr/outputs.tf.json\n\
             differs: modules/primary/main.tf.json\n\
             stale:   modules/obsolete/main.tf.json\n\
             stale:   modules/primary/stray.tf.json\n",
        )
        .stderr(&format!("4 {DRIFT}"))
        .status(1)
        .run();
    // `check` reports the same drift first (then what the missing outputs
    // break in other roots).
    let repo = repo
        .test()
        .args(&["check"])
        .stdout_starts_with(
            "missing: envs/prod/dr/outputs.tf.json (run drgen generate)\n\
             differs: modules/primary/main.tf.json (run drgen generate)\n\
             stale:   modules/obsolete/main.tf.json (run drgen generate)\n\
             stale:   modules/primary/stray.tf.json (run drgen generate)\n",
        )
        .stderr_starts_with("check failed: ")
        .status(1)
        .run();
    let repo = repo
        .test()
        .args(&["generate"])
        .stdout(&format!(
            "generated {} files\n",
            generated_files(&baseline).len()
        ))
        .tree_may_change()
        .run();
    assert_same_tree(&baseline, &repo.snapshot(), "generate after hand edits");
    repo.test()
        .args(&["generate", "--check"])
        .stdout("generated files are up to date\n")
        .run();
}

// ---------------------------------------------------------------------------
// check: invariants, drift, provider schema
// ---------------------------------------------------------------------------

#[test]
fn check_on_a_fresh_tree_passes() {
    Test::new()
        .args(&["check"])
        .stdout("check passed: 0 violations\n")
        .run();
}

#[test]
fn check_reports_an_unknown_attribute() {
    let repo = Repo::generated();
    let rel = "modules/primary/main.tf.json";
    let mut json: serde_json::Value =
        serde_json::from_slice(&repo.read(rel)).expect("generated JSON");
    let topic = json
        .pointer_mut("/resource/aws_sns_topic/alerts")
        .and_then(serde_json::Value::as_object_mut)
        .expect("aws_sns_topic.alerts in modules/primary");
    topic.insert("drgen_bogus".to_owned(), serde_json::Value::from("x"));
    repo.write(rel, serde_json::to_string_pretty(&json).expect("serialize"));
    repo.test()
        .args(&["check"])
        .stdout_starts_with(
            "differs: modules/primary/main.tf.json (run drgen generate)\n\
             modules/primary/main.tf.json: aws_sns_topic.alerts: `drgen_bogus`: unsupported argument `drgen_bogus` \
             (not in the schema; expected one of: ",
        )
        // Once per provider version: each lists its own arguments.
        .stderr("check failed: 3 violation(s)\n")
        .status(1)
        .run();
}

#[test]
fn check_names_the_provider_version_an_attribute_breaks() {
    // `region` on a resource exists only in provider 6.x: 5.100 rejects it.
    let repo = Repo::generated();
    let rel = "modules/global/main.tf.json";
    let mut json: serde_json::Value =
        serde_json::from_slice(&repo.read(rel)).expect("generated JSON");
    let table = json
        .pointer_mut("/resource/aws_dynamodb_table/sessions")
        .and_then(serde_json::Value::as_object_mut)
        .expect("aws_dynamodb_table.sessions in modules/global");
    table.insert("region".to_owned(), serde_json::Value::from("us-east-1"));
    repo.write(rel, serde_json::to_string_pretty(&json).expect("serialize"));
    let out = drgen_cmd()
        .arg("--repo")
        .arg(repo.path())
        .arg("check")
        .output()
        .expect("run drgen");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("aws_dynamodb_table.sessions"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("unsupported argument `region`") && l.ends_with("[aws 5.100.0]")),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

#[test]
fn output_does_not_depend_on_the_repository_path_or_working_directory() {
    let a = Repo::bare();
    let b = Repo::bare();
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let a_parent = a.path().parent().expect("parent").to_owned();

    // A: relative --repo, run from the repository's parent.
    let a = a
        .test()
        .current_dir(&a_parent)
        .relative_repo()
        .args(&["generate"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
    // B: absolute --repo, run from an unrelated directory.
    let b = b
        .test()
        .current_dir(elsewhere.path())
        .args(&["generate"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();

    let (ta, tb) = (a.snapshot(), b.snapshot());
    let (fa, fb) = (generated_files(&ta), generated_files(&tb));
    assert!(fa.len() >= 20, "{} files", fa.len());
    assert_same_tree(&ta, &tb, "the second repository");
    assert_eq!(fa, fb);
    // Both processes wrote exactly the committed tree.
    assert_same_generated_files(&committed_tree(), &ta, "the committed tree");
    let needles = [
        a.path().to_string_lossy().into_owned(),
        b.path().to_string_lossy().into_owned(),
        elsewhere.path().to_string_lossy().into_owned(),
        a_parent.to_string_lossy().into_owned(),
        "/tmp".to_owned(),
        std::env::temp_dir().to_string_lossy().into_owned(),
    ];
    for (path, bytes) in &fa {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("{path} is not UTF-8"));
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{path} contains {n:?}");
        }
    }

    // And a second run over the same inputs is a no-op.
    let a = a
        .test()
        .args(&["generate"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
    assert_same_tree(&ta, &a.snapshot(), "a second generate");
}

// ---------------------------------------------------------------------------
// --env: only the named environments
// ---------------------------------------------------------------------------

#[test]
fn generate_env_dev_leaves_prod_alone() {
    let repo = Repo::generated();
    let before = repo.snapshot();
    // A stale file in a prod root: not dev's business.
    repo.write("envs/prod/primary/stray.tf.json", "{}\n");
    let dev_text = dev("memory_mb = 512", "memory_mb = 2048");
    let prod_text = "environment_suffix = \"prod\"\n# invalid: every other key is missing\n";
    let dev_files = generated_files(&before)
        .keys()
        .filter(|p| {
            ["envs/dev/", "hcl/envs/dev/"]
                .iter()
                .any(|pre| p.starts_with(pre))
        })
        .count();
    let repo = repo
        .test()
        .env_toml("dev", &dev_text)
        .env_toml("prod", prod_text)
        .args(&["generate", "--env", "dev"])
        .stdout(&format!("generated {dev_files} files\n"))
        .tree_may_change()
        .run();
    let after = repo.snapshot();

    let mut changed = Vec::new();
    for (p, e) in &before {
        if after.get(p) != Some(e) {
            changed.push(p.clone());
        }
    }
    for p in after.keys() {
        if !before.contains_key(p) {
            changed.push(p.clone());
        }
    }
    changed.sort();
    changed.dedup();
    // Only the inputs, dev's roots (the memory size is a root input) and
    // the stray file changed; modules/ and prod's roots are untouched.
    assert!(
        changed.contains(&"envs/dev/env.toml".to_owned()),
        "{changed:#?}"
    );
    assert!(
        changed.contains(&"envs/prod/env.toml".to_owned()),
        "{changed:#?}"
    );
    assert!(
        changed.contains(&"envs/prod/primary/stray.tf.json".to_owned()),
        "{changed:#?}"
    );
    let roots: Vec<&String> = changed
        .iter()
        .filter(|p| !p.ends_with("/env.toml") && !p.ends_with("stray.tf.json"))
        .collect();
    assert!(!roots.is_empty(), "dev's roots did not change");
    for p in &roots {
        assert!(
            p.starts_with("envs/dev/") || p.starts_with("hcl/envs/dev/"),
            "generate --env dev changed {p}: {changed:#?}"
        );
    }
    assert_eq!(
        after.get("envs/prod/primary/stray.tf.json"),
        Some(&Entry::File(b"{}\n".to_vec())),
        "a prod root was rewritten"
    );

    // The invalid prod file still fails a full run.
    repo.test()
        .args(&["generate"])
        .stderr_starts_with("error: envs/prod/env.toml:")
        .status(2)
        .run();
}

// ---------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------

/// The directories `generate` swaps, in order: every directory under
/// `modules/` and under each environment's folder.
fn swapped_dirs(tree: &Tree) -> Vec<String> {
    let mut dirs: Vec<String> = tree
        .iter()
        .filter(|(p, e)| {
            let depth = p.matches('/').count();
            (**e == Entry::Dir
                && ((p.starts_with("modules/") && depth == 1)
                    || (p.starts_with("envs/") && depth == 2)
                    || (p.starts_with("examples/") && depth == 1)
                    || (p.starts_with("hcl/modules/") && depth == 2)
                    || (p.starts_with("hcl/envs/") && depth == 3)))
                || p.as_str() == "atlantis.yaml"
        })
        .map(|(p, _)| p.clone())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn a_failed_write_changes_nothing() {
    let changed = dev("memory_mb = 512", "memory_mb = 1024");
    let repo = Repo::generated();
    let dirs = swapped_dirs(&repo.snapshot());
    assert!(dirs.len() > 2, "{dirs:?}");
    // atlantis.yaml and dev's dr root are swapped in, then the third fails
    // and both are swapped back.
    assert_eq!(dirs[0], "atlantis.yaml", "{dirs:?}");
    assert!(dirs[1].starts_with("envs/dev/"), "{dirs:?}");
    repo.test()
        .env_toml("dev", &changed)
        .env_var(FAULT_VAR, "2")
        .args(&["generate"])
        .stderr(&format!(
            "error: internal: injected failure before swapping {}\n",
            dirs[2]
        ))
        .status(2)
        .run();
}

#[test]
fn a_failure_at_any_swap_changes_nothing() {
    let changed = dev("memory_mb = 512", "memory_mb = 1024");
    let mut repo = Repo::generated();
    let dirs = swapped_dirs(&repo.snapshot());
    for (n, d) in dirs.iter().enumerate() {
        repo = repo
            .test()
            .env_toml("dev", &changed)
            .env_var(FAULT_VAR, &n.to_string())
            .args(&["generate"])
            .stderr(&format!(
                "error: internal: injected failure before swapping {d}\n"
            ))
            .status(2)
            .run();
    }
    // Without the fault the same change is written, so the runs above
    // had something to roll back.
    let before = repo.snapshot();
    let repo = repo
        .test()
        .args(&["generate"])
        .stdout_starts_with("generated ")
        .tree_may_change()
        .run();
    let after = repo.snapshot();
    assert_ne!(
        before.get("envs/dev/primary/main.tf.json"),
        after.get("envs/dev/primary/main.tf.json"),
        "the memory change did not reach envs/dev/primary"
    );
}
