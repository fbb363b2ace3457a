//! Lambda `bootstrap` for the payment handler (runtime `provided.al2023`).
//!
//! * no arguments: serve invocations through the Lambda Runtime API;
//! * `bootstrap migrate`: apply database migrations and ensure the
//!   application role with the function's environment, as the master user
//!   whose credentials are read from `DB_MASTER_SECRET`, and exit
//!   (operators; see README.md).

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use payment_handler::{handle_event, Config, State};
use serde_json::Value;

fn init_tracing() {
    // JSON lines to stdout (CloudWatch). Level from AWS_LAMBDA_LOG_LEVEL
    // (Lambda advanced logging controls) or RUST_LOG, default INFO.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.trim().to_ascii_lowercase().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .flatten_event(true)
        .init();
}

fn main() -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "configuration error");
            return ExitCode::FAILURE;
        }
    };
    let state = match State::new(config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "initialisation failed");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => runtime.block_on(serve(state)),
        Some("migrate") => runtime.block_on(async {
            match state.migrate().await {
                Ok(report) => {
                    println!("{}", serde_json::to_string(&report).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = %e, "migration failed");
                    ExitCode::FAILURE
                }
            }
        }),
        Some(other) => {
            eprintln!("usage: bootstrap [migrate]  (unknown argument {other:?})");
            ExitCode::from(2)
        }
    }
}

async fn serve(state: Arc<State>) -> ExitCode {
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let state = Arc::clone(&state);
        async move {
            handle_event(&state, event.payload, &event.context.request_id)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "runtime loop failed");
            ExitCode::FAILURE
        }
    }
}
