//! Module READMEs and plan automation (Atlantis, GitHub Actions) rendered
//! from the sample environments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use drgen::config::Env;
use drgen::docs::{escape_cell, module_readme, module_readmes};
use drgen::layers::{Project, LAYERS};
use drgen::model::expr::{bin, var, Op};
use drgen::model::{
    Condition, Expr, Module, ModuleKind, RequiredProvider, TerraformBlock, TypeExpr, Variable,
};
use drgen::workflow::{atlantis_yaml, github_workflow};
use serde_norway::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sample() -> (Vec<Env>, Project) {
    let envs = drgen::project::load(&repo(), &[]).expect("sample environments load");
    let project = drgen::project::build(&envs);
    (envs, project)
}

fn module_name(m: &Module) -> &str {
    m.dir.rsplit('/').next().unwrap()
}

/// Splits a Markdown table row into cells at unescaped `|`.
fn cells(row: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev = ' ';
    for c in row.chars() {
        if c == '|' && prev != '\\' {
            out.push(cur.trim().to_owned());
            cur.clear();
        } else {
            cur.push(c);
        }
        prev = c;
    }
    out.push(cur.trim().to_owned());
    // Leading and trailing pipes make empty first and last pieces.
    out[1..out.len() - 1].to_vec()
}

/// The table rows under a `## heading`, header and separator excluded.
fn table<'a>(readme: &'a str, heading: &str) -> Vec<&'a str> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    readme[start + 1..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

#[test]
fn readmes_cover_every_input_output_resource_and_requirement() {
    let (_, project) = sample();
    let readmes = module_readmes(&project).unwrap();
    assert_eq!(
        readmes.keys().collect::<Vec<_>>(),
        [
            "modules/dr/README.md",
            "modules/global/README.md",
            "modules/primary/README.md"
        ]
    );
    for m in &project.modules {
        let readme = &readmes[&format!("{}/README.md", m.dir)];
        assert!(readme.starts_with("<!--"), "{}", m.dir);
        assert!(readme.contains(&format!("\n# {}\n", m.dir)));
        assert!(readme.contains(&m.description), "{}: description", m.dir);

        let inputs = table(readme, "Inputs");
        assert_eq!(inputs.len(), m.variables.len(), "{}", m.dir);
        for (row, v) in inputs.iter().zip(m.variables.values()) {
            let c = cells(row);
            assert_eq!(c.len(), 6, "{row}");
            assert_eq!(c[0], format!("`{}`", v.name));
            assert_eq!(c[1], escape_cell(&v.description));
            assert_eq!(c[2], format!("`{}`", v.ty));
            match &v.default {
                None => assert_eq!((c[3].as_str(), c[4].as_str()), ("n/a", "yes")),
                Some(d) => assert_eq!(
                    (c[3].clone(), c[4].as_str()),
                    (format!("`{}`", d.to_hcl()), "no")
                ),
            }
            for cond in &v.validations {
                assert!(
                    c[5].contains(&escape_cell(&cond.error_message)),
                    "{}: var.{}: {:?}",
                    m.dir,
                    v.name,
                    cond.error_message
                );
                // The sample messages need no escaping: they appear verbatim.
                assert!(readme.contains(&cond.error_message));
            }
            if v.validations.is_empty() {
                assert_eq!(c[5], "n/a");
            }
        }

        let outputs = table(readme, "Outputs");
        assert_eq!(outputs.len(), m.outputs.len(), "{}", m.dir);
        for (row, o) in outputs.iter().zip(m.outputs.values()) {
            let c = cells(row);
            assert_eq!(c, [format!("`{}`", o.name), escape_cell(&o.description)]);
        }

        // Every resource, data source included, in address order, with its
        // count noted.
        let mut last = 0;
        for (a, r) in &m.resources {
            let item = format!("\n- `{a}`");
            let at = readme
                .find(&item)
                .unwrap_or_else(|| panic!("{}: {a} missing", m.dir));
            assert!(at > last, "{}: {a} out of order", m.dir);
            last = at;
            let line = readme[at + 1..].lines().next().unwrap();
            assert_eq!(r.count.is_some(), line.contains("(count = `"), "{line}");
        }

        let req = table(readme, "Requirements");
        assert_eq!(
            cells(req[0]),
            [
                "terraform".to_owned(),
                "n/a".to_owned(),
                format!("`{}`", m.terraform.required_version),
                "n/a".to_owned()
            ]
        );
        assert_eq!(req.len(), 1 + m.terraform.required_providers.len());
        for (row, (name, p)) in req[1..].iter().zip(&m.terraform.required_providers) {
            let c = cells(row);
            assert_eq!(c[0], *name);
            assert_eq!(c[1], format!("`{}`", p.source));
            assert_eq!(c[2], format!("`{}`", p.version));
            for a in &p.configuration_aliases {
                assert!(c[3].contains(&format!("`{a}`")), "{row}");
            }
        }
    }
}

#[test]
fn usage_example_is_the_prod_roots_call() {
    let (envs, project) = sample();
    let readmes = module_readmes(&project).unwrap();
    let prod = envs.iter().find(|e| e.name == "prod").unwrap();
    for m in &project.modules {
        let name = module_name(m);
        let readme = &readmes[&format!("{}/README.md", m.dir)];
        let usage = section(readme, "Usage");
        assert!(usage.contains(&format!("`envs/prod/{name}`")), "{usage}");
        assert!(usage.contains(&format!("module \"{name}\" {{")), "{usage}");
        assert!(usage.contains(&format!("source = \"../../../{}\"", m.dir)));
        let root = project
            .roots
            .iter()
            .find(|r| r.dir == format!("envs/prod/{name}"))
            .unwrap();
        let call = &root.calls[name];
        for k in call.args.keys() {
            assert!(
                usage
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{k} "))),
                "{name}: argument {k} missing"
            );
        }
        for (k, v) in &call.providers {
            assert!(usage.lines().any(|l| l.trim_start().starts_with(k.as_str())
                && l.trim_end().ends_with(&format!("= {v}"))));
        }
    }
    let primary = &readmes["modules/primary/README.md"];
    let cidr = format!("\"{}\"", prod.file.network.primary_cidr);
    assert!(primary
        .lines()
        .any(|l| l.trim_start().starts_with("vpc_cidr ") && l.ends_with(&cidr)));
    assert!(readmes["modules/dr/README.md"].contains(&format!("\"{}\"", prod.file.network.dr_cidr)));
}

#[test]
fn usage_without_a_calling_root_uses_placeholders() {
    let (_, project) = sample();
    let global = project
        .modules
        .iter()
        .find(|m| m.dir == "modules/global")
        .unwrap();
    let primary_root = project
        .roots
        .iter()
        .find(|r| r.dir == "envs/dev/primary")
        .unwrap();
    let without = module_readme(global, None).unwrap();
    // A root that does not call the module is no example.
    assert_eq!(module_readme(global, Some(primary_root)).unwrap(), without);
    let usage = section(&without, "Usage");
    assert!(usage.contains("module \"global\" {"));
    for v in global.variables.values() {
        let line = usage
            .lines()
            .find(|l| {
                l.trim_start()
                    .trim_start_matches("# ")
                    .starts_with(&format!("{} ", v.name))
            })
            .unwrap_or_else(|| panic!("{} missing from {usage}", v.name));
        // Optional inputs are commented out with their defaults.
        assert_eq!(
            v.default.is_some(),
            line.trim_start().starts_with('#'),
            "{line}"
        );
    }
    assert!(
        usage.contains("create_zone        = false # bool"),
        "{usage}"
    );
    assert!(usage.contains("aws.dr = aws.dr"));
}

fn synthetic() -> Module {
    let mut rp = BTreeMap::new();
    rp.insert(
        "aws".to_owned(),
        RequiredProvider {
            source: "hashicorp/aws".into(),
            version: ">= 6.0 | weird".into(),
            configuration_aliases: vec![],
        },
    );
    let mut m = Module::new(
        "modules/odd",
        ModuleKind::Reusable,
        "A module with awkward text.",
        TerraformBlock {
            required_version: ">= 1.11.0".into(),
            required_providers: rp,
            backend: None,
        },
    );
    m.variable(Variable {
        name: "mode".into(),
        ty: TypeExpr::String,
        description: "Either a | b,\nor <c> on a new line.".into(),
        default: Some(Expr::from("a|b")),
        sensitive: false,
        validations: vec![
            Condition {
                condition: bin(Op::Ne, var("mode"), Expr::from("")),
                error_message: "mode must be a | b\r\nor c.".into(),
            },
            Condition {
                condition: bin(Op::Ne, var("mode"), Expr::from("x")),
                error_message: "mode must not be x.".into(),
            },
        ],
    });
    m.variable(Variable {
        name: "flag".into(),
        ty: TypeExpr::Bool,
        description: "A plain flag.".into(),
        default: None,
        sensitive: false,
        validations: vec![Condition {
            condition: bin(Op::Or, var("flag"), Expr::Bool(true)),
            error_message: "flag ok".into(),
        }],
    });
    m.output("odd", "Pipes | and\nnewlines.", var("mode"));
    m
}

#[test]
fn table_cells_escape_pipes_and_newlines() {
    let readme = module_readme(&synthetic(), None).unwrap();
    let inputs = table(&readme, "Inputs");
    assert_eq!(inputs.len(), 2);
    for row in &inputs {
        assert_eq!(cells(row).len(), 6, "{row}");
    }
    let mode = cells(inputs[1]);
    assert_eq!(mode[1], "Either a \\| b,<br>or &lt;c> on a new line.");
    assert_eq!(mode[3], "`\"a\\|b\"`");
    assert_eq!(
        mode[5],
        "mode must be a \\| b<br>or c.<br>mode must not be x."
    );
    let outputs = table(&readme, "Outputs");
    assert_eq!(cells(outputs[0]), ["`odd`", "Pipes \\| and<br>newlines."]);
    let req = table(&readme, "Requirements");
    assert_eq!(cells(req[1])[2], "`>= 6.0 \\| weird`");
    assert!(readme.contains("No resources."));
    // The usage block is code: it keeps the text as HCL.
    assert!(readme.contains("# mode = \"a|b\""), "{readme}");
    assert!(readme.contains("flag = false # bool"));
}

#[test]
fn readmes_are_deterministic() {
    let (envs, project) = sample();
    // Against the committed READMEs, written by another process.
    for (rel, text) in module_readmes(&project).unwrap() {
        let disk =
            std::fs::read_to_string(repo().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(disk == text, "{rel} differs from the committed file");
    }
    let again = drgen::project::build(&envs);
    assert_eq!(
        module_readmes(&project).unwrap(),
        module_readmes(&again).unwrap()
    );
    for text in module_readmes(&project).unwrap().values() {
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
        assert!(!text.contains("\n\n\n"));
        assert!(text.lines().all(|l| l == l.trim_end()));
    }
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn atlantis_has_one_project_per_env_and_layer_in_apply_order() {
    let (envs, _) = sample();
    let text = atlantis_yaml(&envs).unwrap();
    assert_eq!(text, atlantis_yaml(&envs).unwrap());
    let doc = yaml(&text);
    assert_eq!(doc["version"].as_u64(), Some(3));
    assert_eq!(doc["parallel_plan"].as_bool(), Some(false));
    assert_eq!(doc["parallel_apply"].as_bool(), Some(false));
    let projects = doc["projects"].as_sequence().unwrap();
    assert_eq!(projects.len(), envs.len() * LAYERS.len());
    let mut i = 0;
    for env in &envs {
        for (n, layer) in LAYERS.iter().enumerate() {
            let p = &projects[i];
            i += 1;
            assert_eq!(
                p["name"].as_str(),
                Some(format!("{}-{layer}", env.name).as_str())
            );
            assert_eq!(
                p["dir"].as_str(),
                Some(format!("envs/{}/{layer}", env.name).as_str())
            );
            assert_eq!(p["workspace"].as_str(), Some("default"));
            assert_eq!(p["workflow"].as_str(), Some("drgen"));
            assert_eq!(p["execution_order_group"].as_u64(), Some(n as u64 + 1));
            let deps = strs(&p["depends_on"]);
            match n {
                0 => assert!(deps.is_empty()),
                _ => assert_eq!(deps, [format!("{}-{}", env.name, LAYERS[n - 1])]),
            }
            assert_eq!(p["autoplan"]["enabled"].as_bool(), Some(true));
            let when = strs(&p["autoplan"]["when_modified"]);
            for w in [
                "*.tf.json".to_owned(),
                format!("../../../modules/{layer}/*.tf.json"),
                "../env.toml".to_owned(),
            ] {
                assert!(when.contains(&w.as_str()), "{when:?}");
            }
        }
    }
    let steps = doc["workflows"]["drgen"]["plan"]["steps"]
        .as_sequence()
        .unwrap();
    let kinds: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Value::String(b) => b.clone(),
            other => format!("run: {}", other["run"].as_str().unwrap()),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            r#"run: drgen --repo "$(git rev-parse --show-toplevel)" generate --check"#,
            "init",
            "plan",
            r#"run: terraform show -json "$PLANFILE" > "$SHOWFILE""#,
            r#"run: drgen --repo "$(git rev-parse --show-toplevel)" review --env "$(basename "$(dirname "$REPO_REL_DIR")")" "$SHOWFILE""#,
        ]
    );
    assert_eq!(
        strs(&doc["workflows"]["drgen"]["apply"]["steps"]),
        ["apply"]
    );
}

fn step_named<'a>(steps: &'a [Value], name: &str) -> (usize, &'a Value) {
    steps
        .iter()
        .enumerate()
        .find(|(_, s)| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step {name}"))
}

#[test]
fn github_workflow_reviews_every_layer_in_order() {
    let (envs, _) = sample();
    let text = github_workflow(&envs).unwrap();
    assert_eq!(text, github_workflow(&envs).unwrap());
    let doc = yaml(&text);
    assert!(doc["on"]["pull_request"].is_null() && doc["on"].get("pull_request").is_some());
    assert_eq!(doc["permissions"]["id-token"].as_str(), Some("write"));
    let jobs = doc["jobs"].as_mapping().unwrap();
    let check = strs_of_runs(jobs["check"]["steps"].as_sequence().unwrap());
    assert_eq!(check, ["make check"]);
    assert_eq!(jobs.len(), 1 + envs.len());
    for env in &envs {
        let job = &jobs[format!("plan-{}", env.name).as_str()];
        assert_eq!(job["needs"].as_str(), Some("check"));
        let steps = job["steps"].as_sequence().unwrap();
        let uses = |prefix: &str| {
            steps
                .iter()
                .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
                .unwrap_or_else(|| panic!("no {prefix} step"))
        };
        assert_eq!(
            uses("hashicorp/setup-terraform@")["with"]["terraform_version"].as_str(),
            Some("1.11.x")
        );
        let aws = &uses("aws-actions/configure-aws-credentials@")["with"];
        assert!(aws["role-to-assume"]
            .as_str()
            .unwrap()
            .contains("vars.DRGEN_PLAN_ROLE_ARN"));
        assert_eq!(
            aws["aws-region"].as_str(),
            Some(env.file.state.region.as_str())
        );
        let mut last = 0;
        for layer in LAYERS {
            let label = format!("{}/{layer}", env.name);
            let dir = format!("envs/{}/{layer}", env.name);
            let mut at = Vec::new();
            for (suffix, run) in [
                ("terraform init", "terraform init -input=false"),
                ("terraform plan", "terraform plan -input=false -out=tfplan"),
                ("terraform show", "terraform show -json tfplan > plan.json"),
                ("drgen review", "drgen review plan.json"),
            ] {
                let (i, s) = step_named(steps, &format!("{label}: {suffix}"));
                let run = if suffix == "drgen review" {
                    drgen::workflow::github_review(&env.name)
                } else {
                    run.to_owned()
                };
                assert_eq!(s["run"].as_str(), Some(run.as_str()));
                assert_eq!(s["working-directory"].as_str(), Some(dir.as_str()));
                at.push(i);
            }
            let (i, up) = step_named(steps, &format!("{label}: upload plan.json"));
            assert!(up["uses"]
                .as_str()
                .unwrap()
                .starts_with("actions/upload-artifact@"));
            assert_eq!(
                up["with"]["path"].as_str(),
                Some(format!("{dir}/plan.json").as_str())
            );
            at.push(i);
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{label}: {at:?}");
            assert!(at[0] > last, "{label} out of order");
            last = at[4];
        }
    }
}

fn strs_of_runs(steps: &[Value]) -> Vec<&str> {
    steps.iter().filter_map(|s| s["run"].as_str()).collect()
}

#[test]
fn odd_environment_names_stay_valid_yaml() {
    let (envs, _) = sample();
    let mut odd = envs[0].clone();
    odd.name = "it's: #odd".into();
    let envs = vec![odd];
    let doc = yaml(&atlantis_yaml(&envs).unwrap());
    assert_eq!(
        doc["projects"][0]["name"].as_str(),
        Some("it's: #odd-primary")
    );
    assert_eq!(
        doc["projects"][2]["depends_on"][0].as_str(),
        Some("it's: #odd-dr")
    );
    let doc = yaml(&github_workflow(&envs).unwrap());
    let job = &doc["jobs"]["plan-it_s___odd"];
    let (_, s) = step_named(
        job["steps"].as_sequence().unwrap(),
        "it's: #odd/global: drgen review",
    );
    assert_eq!(
        s["working-directory"].as_str(),
        Some("envs/it's: #odd/global")
    );
}
