//! Keeps the promise "integration tests run every public method": every typed command method
//! (listed in `src/commands/*.rs`) is called on the client somewhere in these tests, and queued on
//! a pipeline in `pipeline.rs`'s `every_command_queues_on_a_pipeline`.

use std::path::Path;

fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_command_method_is_tested() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut methods = Vec::new();
    for (file, src) in read_dir(&root.join("src/commands")) {
        if file == "mod.rs" {
            continue;
        }
        let Some(start) = src.find("macro_rules!") else { continue };
        for line in src[start..].lines() {
            let line = line.trim_start();
            if let Some(rest) = line.strip_prefix("fn ") {
                let name: String =
                    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    methods.push(name);
                }
            }
        }
    }
    assert!(methods.len() > 100, "found only {} methods", methods.len());
    let tests = read_dir(&root.join("tests/it"));
    let all: String =
        tests.iter().filter(|(n, _)| n != "coverage.rs").map(|(_, s)| s.as_str()).collect();
    let pipeline = &tests.iter().find(|(n, _)| n == "pipeline.rs").unwrap().1;
    let mut missing = Vec::new();
    for m in &methods {
        let on_client = all.contains(&format!(".{m}(")) || all.contains(&format!(".{m}::<"));
        let on_pipeline =
            pipeline.contains(&format!("; {m}(")) || pipeline.contains(&format!("; {m}["));
        if !on_client || !on_pipeline {
            missing.push(format!("{m} (client: {on_client}, pipeline: {on_pipeline})"));
        }
    }
    assert!(missing.is_empty(), "untested command methods: {missing:#?}");
}

/// Every public type's documentation has an example (a doctest that at least compiles).
#[test]
fn every_public_type_has_a_doc_example() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let missing = larder_test_support::audit::types_without_doc_example(&src);
    assert!(missing.is_empty(), "public types without a doc example: {missing:#?}");
}

/// Architecture invariant: the SDKs under `lib/` never depend on the server's crates under
/// `crates/` (only `larder-test-support`, as a dev-dependency, to start a real larder in tests).
#[test]
fn depends_on_no_server_crate() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
        } else if line.starts_with("larder-") {
            assert_eq!(section, "[dev-dependencies]", "{line} in {section}");
            assert!(line.starts_with("larder-test-support"), "{line}");
        }
    }
}
