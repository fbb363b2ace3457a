//! `make bench`: times generate + check (in process, as the CLI does it)
//! for the sample environments and for 100 synthetic environments, then
//! one pass of each phase over the 100 environments. Each row runs in its
//! own process (this binary, re-run with `--row NAME`), so the peak memory
//! printed on a row (VmHWM) is that row's process: the row's work plus the
//! model it works on.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn run(repo: &Path, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = drgen::ops::generate(repo, &[], false, drgen::write::FaultPlan::default())
            .expect("generate");
        assert!(
            matches!(out, drgen::ops::GenerateOutcome::Written { .. }),
            "{out:?}"
        );
        let findings = drgen::ops::check(repo, &[]).expect("check");
        assert!(findings.is_empty(), "{findings:?}");
        times.push(t.elapsed());
    }
    median(times)
}

/// Median time of `f` over `runs` runs.
fn measure(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    median(times)
}

/// The phases of generate + check, in order.
const PHASES: &[&str] = &[
    "load + model build",
    "invariants",
    "JSON emit",
    "HCL view",
    "READMEs + workflows",
    "schema + reference check",
    "write (atomic, every file)",
];

/// Every `.tf.json` file of the project as text.
fn json_files(p: &drgen::layers::Project) -> BTreeMap<String, String> {
    p.all()
        .flat_map(|m| {
            drgen::emit::json::module(m)
                .into_iter()
                .map(move |(n, v)| (format!("{}/{n}", m.dir), drgen::emit::json::to_text(&v)))
        })
        .collect()
}

/// One phase of generate + check over the environments of `repo`, `runs`
/// times (the model it works on is built first, untimed): the median.
fn phase(repo: &Path, name: &str, runs: usize) -> Duration {
    use drgen::project;
    let envs = project::load(repo, &[]).expect("load");
    let p = project::build(&envs);
    match name {
        "load + model build" => measure(runs, || {
            let envs = project::load(repo, &[]).expect("load");
            std::hint::black_box(project::build(&envs));
        }),
        "invariants" => measure(runs, || {
            assert!(project::violations(&p).is_empty());
        }),
        "JSON emit" => measure(runs, || {
            std::hint::black_box(json_files(&p));
        }),
        "HCL view" => measure(runs, || {
            for m in p.all() {
                std::hint::black_box(drgen::emit::hcl::module(m));
            }
        }),
        "READMEs + workflows" => measure(runs, || {
            std::hint::black_box(drgen::docs::module_readmes(&p).expect("READMEs"));
            std::hint::black_box(drgen::workflow::atlantis_yaml(&p.envs).expect("atlantis"));
            std::hint::black_box(drgen::workflow::github_workflow(&p.envs).expect("workflow"));
        }),
        "schema + reference check" => {
            let texts = json_files(&p);
            measure(runs, || {
                let tree: BTreeMap<String, serde_json::Value> = texts
                    .iter()
                    .map(|(k, t)| (k.clone(), serde_json::from_str(t).expect("JSON")))
                    .collect();
                let findings = drgen::ops::tree_findings(&tree);
                assert!(findings.is_empty(), "{findings:?}");
            })
        }
        "write (atomic, every file)" => {
            let files = project::render_all(&p, true).expect("render");
            let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
            measure(runs, || {
                let units = project::owned_units(&files);
                let dirs = drgen::write::managed_dirs(repo, &units, &names, true).expect("dirs");
                drgen::write::write_atomic(repo, &files, &dirs, drgen::write::FaultPlan::default())
                    .expect("write");
            })
        }
        other => panic!("unknown phase {other:?}"),
    }
}

fn copy_samples(src: &Path, dst: &Path) {
    for env in ["dev", "prod"] {
        let d = dst.join("envs").join(env);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(
            src.join("envs").join(env).join("env.toml"),
            d.join("env.toml"),
        )
        .unwrap();
    }
}

fn synthetic(dst: &Path, n: usize) {
    for i in 0..n {
        let d = dst.join("envs").join(format!("e{i:03}"));
        std::fs::create_dir_all(&d).unwrap();
        let text = format!(
            "environment_suffix = \"e{i:03}\"\n\
             [regions]\nprimary = \"us-east-1\"\ndr = \"us-east-2\"\n\
             [network]\nprimary_cidr = \"10.{a}.0.0/16\"\ndr_cidr = \"172.{b}.0.0/16\"\n\
             [database]\nengine_version = \"16.6\"\ninstance_class = \"db.r6g.large\"\n\
             [lambda]\nmemory_mb = 512\ntimeout_s = 10\n\
             [state]\nbucket = \"drgen-bench-state-e{i:03}\"\nregion = \"us-east-2\"\n\
             [api]\nallowed_principals = [\"arn:aws:iam::210987654321:role/checkout-e{i:03}\"]\n",
            a = i % 250,
            b = 16 + (i % 16),
        );
        std::fs::write(d.join("env.toml"), text).unwrap();
    }
}

/// Runs one row in this process and prints it.
fn row(name: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let dir = tempfile::tempdir().unwrap();
    if name == "samples" {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        copy_samples(&repo, dir.path());
        let m = run(dir.path(), 31);
        println!(
            "samples (dev, prod): generate+check median {:.2} ms over 31 runs; peak memory {:.1} MiB",
            ms(m),
            peak_rss_mib()
        );
        return;
    }
    synthetic(dir.path(), 100);
    if name == "synthetic" {
        let m = run(dir.path(), 5);
        println!(
            "100 synthetic environments: generate+check median {:.1} ms over 5 runs; peak memory {:.1} MiB",
            ms(m),
            peak_rss_mib()
        );
        return;
    }
    if name.starts_with("write") {
        // The write phase replaces a tree in place, as a regenerate does.
        drgen::ops::generate(dir.path(), &[], false, drgen::write::FaultPlan::default())
            .expect("generate");
    }
    let d = phase(dir.path(), name, 5);
    println!(
        "  {name:<28} {:>8.2} ms   peak memory {:>5.1} MiB",
        ms(d),
        peak_rss_mib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--row") {
        row(&args[i + 1]);
        return;
    }
    // Each row in a fresh process, so its peak memory is its own.
    let me = std::env::current_exe().expect("bench executable");
    let mut rows = vec!["samples", "synthetic"];
    rows.extend(PHASES);
    for (i, name) in rows.iter().enumerate() {
        if i == 2 {
            println!(
                "phases, 100 synthetic environments (median of 5 runs each; \
                 peak memory includes building the model the phase works on):"
            );
        }
        let status = std::process::Command::new(&me)
            .args(["--row", name])
            .status()
            .expect("run a bench row");
        assert!(status.success(), "row {name} failed");
    }
}
