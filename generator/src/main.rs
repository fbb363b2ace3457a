//! The drgen command line: parse arguments, call the library, map the
//! result to an exit code (0 ok, 1 check failed or drift, 2 bad input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use drgen::ops::{self, GenerateOutcome};
use drgen::write::FaultPlan;

#[derive(Debug, Parser)]
#[command(
    name = "drgen",
    version,
    about = "Terraform JSON for an active-passive AWS DR payment stack"
)]
struct Cli {
    /// Repository root (holds envs/ and modules/).
    #[arg(long, global = true, default_value = ".")]
    repo: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate modules/ and envs/<env>/<layer> for all or the named environments.
    Generate {
        /// Only this environment (repeatable).
        #[arg(long = "env", value_name = "NAME")]
        envs: Vec<String>,
        /// Write nothing; exit 1 and list every file that differs.
        #[arg(long)]
        check: bool,
    },
    /// Expected RPO/RTO and state placement of an environment, from its generated files.
    Posture {
        #[arg(long = "env", value_name = "NAME")]
        env: String,
    },
    /// Diagram of an environment's layers, remote-state edges and main resources.
    Graph {
        #[arg(long = "env", value_name = "NAME")]
        env: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Check the generated tree: invariants, drift, provider schema, references.
    Check {
        /// Only this environment (repeatable).
        #[arg(long = "env", value_name = "NAME")]
        envs: Vec<String>,
    },
    /// Review a Terraform plan against the generator's policies (exit 0 clean, 1 violations, 2 bad input).
    Review {
        /// The output of `terraform show -json PLANFILE`.
        #[arg(value_name = "PLAN_JSON")]
        plan: PathBuf,
        #[arg(long, value_enum, default_value_t = ReviewFormat::Table)]
        format: ReviewFormat,
        /// Let deletes and replaces of stateful resources through.
        #[arg(long)]
        allow_destroy: bool,
        /// Environment whose suffix and regions the plan must match (names and regions are checked only with it).
        #[arg(long = "env", value_name = "NAME")]
        env: Option<String>,
    },
}

/// Diagram formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

/// Output format of `drgen review` (the library's [`drgen::review::Format`]).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReviewFormat {
    /// One row per finding, then a summary line.
    Table,
    /// The documented JSON report (`drgen-review` version 1).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

impl From<ReviewFormat> for drgen::review::Format {
    fn from(f: ReviewFormat) -> Self {
        match f {
            ReviewFormat::Table => Self::Table,
            ReviewFormat::Json => Self::Json,
            ReviewFormat::Sarif => Self::Sarif,
        }
    }
}

fn fault_plan() -> FaultPlan {
    // Test hook for atomicity: fail after N directory swaps.
    FaultPlan {
        fail_after_swaps: std::env::var("DRGEN_FAULT_AFTER_SWAPS")
            .ok()
            .and_then(|v| v.parse().ok()),
    }
}

fn run(cli: Cli) -> Result<ExitCode, drgen::project::Error> {
    match cli.command {
        Command::Generate { envs, check } => {
            match ops::generate(&cli.repo, &envs, check, fault_plan())? {
                GenerateOutcome::Written { files } => {
                    println!("generated {files} files");
                    Ok(ExitCode::SUCCESS)
                }
                GenerateOutcome::Checked { drift } if drift.is_empty() => {
                    println!("generated files are up to date");
                    Ok(ExitCode::SUCCESS)
                }
                GenerateOutcome::Checked { drift } => {
                    for d in &drift {
                        println!("{d}");
                    }
                    eprintln!(
                        "{} generated file(s) differ from the generator: run drgen generate",
                        drift.len()
                    );
                    Ok(ExitCode::from(1))
                }
                GenerateOutcome::Violations(v) => {
                    for x in &v {
                        println!("{x}");
                    }
                    eprintln!("{} invariant violation(s): nothing written", v.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Graph { env, format } => {
            let dot = matches!(format, GraphFormat::Dot);
            print!("{}", ops::graph(&cli.repo, &env, dot)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Posture { env } => {
            let p = ops::posture(&cli.repo, &env)?;
            print!("{}", p.render());
            Ok(if p.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Review {
            plan,
            format,
            allow_destroy,
            env,
        } => match ops::review(&cli.repo, &plan, env.as_deref(), allow_destroy) {
            Ok(report) => {
                print!("{}", report.render(format.into()));
                Ok(ExitCode::from(report.exit_code()))
            }
            Err(drgen::review::Error::Project(e)) => Err(e),
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Check { envs } => {
            let findings = ops::check(&cli.repo, &envs)?;
            if findings.is_empty() {
                println!("check passed: 0 violations");
                Ok(ExitCode::SUCCESS)
            } else {
                for f in &findings {
                    println!("{f}");
                }
                eprintln!("check failed: {} violation(s)", findings.len());
                Ok(ExitCode::from(1))
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(drgen::project::Error::Internal(m)) => {
            eprintln!("error: internal: {m}");
            ExitCode::from(2)
        }
        Err(drgen::project::Error::Config(errors)) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
