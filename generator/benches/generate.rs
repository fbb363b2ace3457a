//! `make bench`: times generate + check (in process, as the CLI does it)
//! for the sample environments and for 100 synthetic environments, and
//! reports the median and the peak memory (VmHWM) of the process.

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
             [state]\nbucket = \"drgen-bench-state-e{i:03}\"\nregion = \"us-east-2\"\n",
            a = i % 250,
            b = 16 + (i % 16),
        );
        std::fs::write(d.join("env.toml"), text).unwrap();
    }
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let samples = tempfile::tempdir().unwrap();
    copy_samples(&repo, samples.path());
    let m = run(samples.path(), 31);
    println!(
        "samples (dev, prod): generate+check median {:.2} ms over 31 runs",
        m.as_secs_f64() * 1e3
    );

    let synth = tempfile::tempdir().unwrap();
    synthetic(synth.path(), 100);
    let m = run(synth.path(), 5);
    println!(
        "100 synthetic environments: generate+check median {:.1} ms over 5 runs",
        m.as_secs_f64() * 1e3
    );
    println!("peak memory (VmHWM): {:.1} MiB", peak_rss_mib());
}
