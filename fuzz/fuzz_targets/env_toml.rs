//! Arbitrary bytes as `env.toml`: parsing, validation and (for valid
//! files) building and rendering must never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `config::load` rejects non-UTF-8 files before parsing; do the same.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("envs/fuzz/env.toml");
    let Ok(file) = drgen::config::parse(path, text) else {
        return;
    };
    if !drgen::config::validate(&file).is_empty() {
        return;
    }
    let env = drgen::config::Env {
        name: "fuzz".to_owned(),
        file,
    };
    let project = drgen::project::build(std::slice::from_ref(&env));
    let _ = drgen::project::violations(&project);
    let files = drgen::project::render(&project);
    assert!(!files.is_empty(), "a valid file rendered nothing");
});
