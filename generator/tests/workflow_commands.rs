//! The review steps of the generated team workflows, run exactly as
//! written (through `bash -c`), from the directory the workflow runs them
//! in, on a real plan JSON: `terraform show -json` of the dev primary layer,
//! planned by Terraform 1.11.4 with hashicorp/aws 5.100.0 against the local
//! emulator (`make e2e`), trimmed to a few resources.
//!
//! The name and region rules need the environment; these tests prove the
//! workflows give it, so they run where teams review plans.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

const PLAN: &str = "tests/fixtures/plans/real-dev-primary.json";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A git checkout holding the committed `envs/` and `modules/` (what
/// `drgen review --env` reads), like the clone a workflow runs in.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for top in ["envs", "modules"] {
        copy_tree(&repo().join(top), &dir.path().join(top));
    }
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .expect("git runs");
    assert!(git.success());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// `PATH` with the freshly built drgen first, as the workflows expect it.
fn path_with_drgen() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_drgen"));
    let dir = bin.parent().expect("bin dir").display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

fn run(cmd: &str, cwd: &Path, vars: &[(&str, &Path)]) -> (i32, String, String) {
    let mut c = Command::new("bash");
    c.args(["-c", cmd])
        .current_dir(cwd)
        .env("PATH", path_with_drgen());
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).expect("generated workflow");
    serde_norway::from_str(&text).expect("YAML")
}

#[test]
fn atlantis_review_step_runs_with_the_environment() {
    let doc = yaml("atlantis.yaml");
    let steps = doc["workflows"]["drgen"]["plan"]["steps"]
        .as_sequence()
        .expect("plan steps");
    let review = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains(" review "))
        .expect("a review step");
    let co = checkout();
    let project = co.path().join("envs/dev/primary");
    // Atlantis writes the JSON plan next to the plan file.
    let showfile = project.join("default.tfplan.json");
    std::fs::copy(repo().join("generator").join(PLAN), &showfile).expect("plan");
    let (code, stdout, stderr) = run(
        review,
        &project,
        &[
            ("SHOWFILE", &showfile),
            ("REPO_REL_DIR", Path::new("envs/dev/primary")),
        ],
    );
    assert_eq!(code, 0, "{review}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    // The environment was given: no rule was skipped for the want of it.
    assert!(!stdout.contains("not checked without --env"), "{stdout}");
}

#[test]
fn github_review_steps_run_with_the_environment() {
    let doc = yaml("examples/github-actions/drgen-plan.yml");
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    let mut seen = 0;
    for (_, job) in jobs {
        let Some(steps) = job["steps"].as_sequence() else {
            continue;
        };
        for s in steps {
            let (Some(run_cmd), Some(dir)) = (s["run"].as_str(), s["working-directory"].as_str())
            else {
                continue;
            };
            if dir != "envs/dev/primary" || !run_cmd.contains(" review ") {
                continue;
            }
            seen += 1;
            let co = checkout();
            let cwd = co.path().join(dir);
            std::fs::copy(repo().join("generator").join(PLAN), cwd.join("plan.json"))
                .expect("plan");
            let (code, stdout, stderr) = run(run_cmd, &cwd, &[("GITHUB_WORKSPACE", co.path())]);
            assert_eq!(code, 0, "{run_cmd}\nstdout:\n{stdout}\nstderr:\n{stderr}");
            assert!(!stdout.contains("not checked without --env"), "{stdout}");
        }
    }
    assert_eq!(seen, 1, "one review step for dev/primary");
}

#[test]
fn review_without_the_environment_skips_the_name_rules() {
    // What the workflows did before: the same plan, no --env.
    let co = checkout();
    let cwd = co.path().join("envs/dev/primary");
    std::fs::copy(repo().join("generator").join(PLAN), cwd.join("plan.json")).expect("plan");
    let (code, stdout, _) = run("drgen review plan.json", &cwd, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("not checked without --env: DR-NAME, DR-REGION"),
        "{stdout}"
    );
}
