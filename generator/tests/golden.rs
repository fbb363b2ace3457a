//! Golden files: every generated file is committed, and this test renders
//! the sample environments and compares each file with the committed one.
//! `EXPECTORATE=overwrite cargo test -p drgen --test golden` accepts new
//! output; the git diff is the review.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_generated_file_matches_its_golden() {
    let repo = repo();
    let envs = drgen::project::load(&repo, &[]).expect("sample environments load");
    let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod"]);
    let project = drgen::project::build(&envs);
    assert!(drgen::project::violations(&project).is_empty());
    let files = drgen::project::render(&project);
    assert!(files.len() >= 20, "{} files", files.len());
    for (rel, content) in &files {
        expectorate::assert_contents(repo.join(rel), content);
    }
}

#[test]
fn no_stale_generated_files() {
    let repo = repo();
    let envs = drgen::project::load(&repo, &[]).expect("sample environments load");
    let project = drgen::project::build(&envs);
    let files = drgen::project::render(&project);
    let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
    let dirs =
        drgen::write::managed_dirs(&repo, &drgen::project::owned_dirs(&project), &names, true)
            .unwrap();
    let drift = drgen::write::drift(&repo, &files, &dirs).unwrap();
    assert!(drift.is_empty(), "{drift:?}");
}

#[test]
fn committed_tree_passes_schema_and_reference_checks() {
    let repo = repo();
    let findings = drgen::ops::check(&repo, &[]).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn readme_naming_table_is_current() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table = drgen::policy::naming::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md naming table is stale; paste:\n{table}"
    );
}

#[test]
fn readme_posture_output_is_current() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for env in ["dev", "prod"] {
        let p = drgen::ops::posture(&repo(), env).unwrap();
        assert!(
            readme.contains(&p.render()),
            "README.md posture of {env} is stale:\n{}",
            p.render()
        );
    }
}

#[test]
fn readme_graph_is_current() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let g = drgen::ops::graph(&repo(), "prod", false).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{g}```")),
        "README.md graph is stale:\n{g}"
    );
}
