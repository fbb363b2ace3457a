//! The flow between the top-level modules of `generator/src` runs one way:
//! every `crate::` path (in `use` lines and inline) is an edge from the
//! module of the file to the first segment of the path, and the graph of
//! those edges has no cycle.
//!
//! Test code (`#[cfg(test)]` items and the files they load) is left out:
//! like the integration tests under `tests/`, a unit test may build a whole
//! project to check one module, and it is not part of the library.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate roots).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The text without `//` comments (doc comments may name paths that are
/// no dependency) and without string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                }
                prev = if prev == '\\' && c == '\\' { '\0' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
                prev = '\0';
                continue;
            }
            out.push(c);
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// `code` without the `#[cfg(test)]` items (an inline `mod tests { .. }`,
/// a `mod tests;` declaration, a test-only function or `use`).
fn without_test_items(code: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(ATTR) {
        out.push_str(&rest[..at]);
        let after = &rest[at + ATTR.len()..];
        let end_semi = after.find(';');
        let end_open = after.find('{');
        let skip = match (end_semi, end_open) {
            (Some(s), Some(o)) if s < o => s + 1,
            (None, None) => after.len(),
            (Some(s), None) => s + 1,
            (_, Some(o)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
        };
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// The files only `#[cfg(test)] mod x;` declarations load.
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = fs::read_to_string(f).expect("read source");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, l) in lines.iter().enumerate() {
            if *l != "#[cfg(test)]" {
                continue;
            }
            let mut path_attr = None;
            for next in &lines[i + 1..] {
                if let Some(p) = next
                    .strip_prefix("#[path = \"")
                    .and_then(|p| p.strip_suffix("\"]"))
                {
                    path_attr = Some(p.to_string());
                } else if next.starts_with("#[") {
                } else {
                    if let Some(name) = next
                        .strip_prefix("mod ")
                        .or_else(|| next.strip_prefix("pub mod "))
                        .and_then(|n| n.strip_suffix(';'))
                    {
                        let dir = f.parent().expect("file has a dir");
                        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                        let own_dir = if ["mod", "lib", "main"].contains(&stem) {
                            dir.to_path_buf()
                        } else {
                            dir.join(stem)
                        };
                        match &path_attr {
                            Some(p) => {
                                out.insert(dir.join(p));
                            }
                            None => {
                                out.insert(own_dir.join(format!("{name}.rs")));
                                out.insert(own_dir.join(name).join("mod.rs"));
                            }
                        }
                    }
                    break;
                }
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first segments of every `crate::` path in `code`, including the
/// members of `use crate::{a::x, b::{y, z}}`.
fn crate_targets(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes: Vec<char> = code.chars().collect();
    let needle: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        let preceded_by_ident = i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == '$');
        if bytes[i..i + needle.len()] == needle[..] && !preceded_by_ident {
            let mut j = i + needle.len();
            while j < bytes.len() && bytes[j].is_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == '{' {
                // A group: take the first segment of each top-level member.
                let mut depth = 0;
                let mut member_start = true;
                while j < bytes.len() {
                    let c = bytes[j];
                    match c {
                        '{' => {
                            depth += 1;
                            if depth == 1 {
                                member_start = true;
                            }
                        }
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => member_start = true,
                        c if member_start && depth == 1 && is_ident(c) => {
                            let s: String =
                                bytes[j..].iter().take_while(|c| is_ident(**c)).collect();
                            j += s.len() - 1;
                            out.insert(s);
                            member_start = false;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            } else {
                let s: String = bytes[j..].iter().take_while(|c| is_ident(**c)).collect();
                if !s.is_empty() {
                    out.insert(s);
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The graph of top-level modules, from every file under `src`.
fn module_graph() -> Graph {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    for f in &files {
        if let Some(m) = top_module(&src, f) {
            modules.insert(m);
        }
    }
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    let tests = test_only_files(&files);
    for f in &files {
        let Some(from) = top_module(&src, f) else {
            continue;
        };
        if tests.contains(f) {
            continue;
        }
        let text = fs::read_to_string(f).expect("read source");
        for to in crate_targets(&without_test_items(&code_only(&text))) {
            if to != from && modules.contains(&to) {
                graph.get_mut(&from).expect("module").insert(to);
            }
        }
    }
    graph
}

/// One cycle of `graph`, as the path `a -> b -> ... -> a`, if any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_string(), Mark::Open);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match marks.get(m).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = stack.iter().position(|s| s == m).expect("on stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(m, graph, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn top_level_modules_have_no_cycle() {
    let graph = module_graph();
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(k, v)| {
                format!(
                    "  {k} -> {}",
                    v.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "cycle between top-level modules: {}\nedges:\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn the_model_depends_on_nothing_above_it() {
    let graph = module_graph();
    let deps = &graph["model"];
    assert!(deps.is_empty(), "model imports {deps:?}");
}

#[test]
fn the_reader_sees_grouped_and_inline_paths() {
    let code = code_only(
        "use crate::{a::x, b::{y, z}};\nfn f() { crate::c::g(); } // crate::d\nlet s = \"crate::e\";\n",
    );
    let got: Vec<String> = crate_targets(&code).into_iter().collect();
    assert_eq!(got, ["a", "b", "c"]);
}

#[test]
fn test_items_are_left_out() {
    let code = "use crate::a::x;\n#[cfg(test)]\nuse crate::b::y;\nfn f() {}\n#[cfg(test)]\nmod tests {\n    fn g() { crate::c::h(); }\n}\nfn k() { crate::d::e(); }\n";
    let got: Vec<String> = crate_targets(&without_test_items(code))
        .into_iter()
        .collect();
    assert_eq!(got, ["a", "d"]);
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tests = test_only_files(&files);
    assert!(
        tests.contains(&src.join("policy/invariants_tests.rs")),
        "{tests:?}"
    );
    assert!(tests.contains(&src.join("tfcheck/tests.rs")), "{tests:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    let c = find_cycle(&g).expect("cycle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
    g.get_mut("c").expect("c").clear();
    assert_eq!(find_cycle(&g), None);
}
