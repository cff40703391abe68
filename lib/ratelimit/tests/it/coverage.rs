//! Keeps the promise "integration tests run every public method": every `pub fn` in `src/` is
//! called, by name, somewhere in these tests. (A name-level check: a method name shared by several
//! types — `prefix`, `limit` — counts once; `public_api.rs` covers the per-type options.)

use std::path::Path;

use larder_test_support::audit::rust_sources;

/// Whether `name` is called (`name(`, `name::<`) or passed as a function value (`name)`, `name,`)
/// somewhere in `code`, as a whole word outside `use` lines.
fn called(code: &str, name: &str) -> bool {
    code.lines().filter(|l| !l.trim_start().starts_with("use ")).any(|line| {
        line.match_indices(name).any(|(i, _)| {
            let before = line[..i].chars().next_back();
            let after = &line[i + name.len()..];
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && ["(", "::<", ")", ","].iter().any(|p| after.starts_with(p))
        })
    })
}

#[test]
fn every_public_function_is_called_by_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = rust_sources(&root.join("src"));
    let mut names = Vec::new();
    for (_, text) in &src {
        for line in text.lines() {
            let line = line.trim_start();
            let rest = line.strip_prefix("pub fn ").or_else(|| line.strip_prefix("pub async fn "));
            if let Some(rest) = rest {
                let name: String =
                    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.push(name);
            }
        }
    }
    names.sort();
    names.dedup();
    assert!(names.len() > 60, "found only {} public functions", names.len());
    let tests = rust_sources(&root.join("tests/it"));
    let tests: String = tests
        .iter()
        .filter(|(p, _)| !p.ends_with("coverage.rs"))
        .map(|(_, t)| t.as_str())
        .collect();
    let missing: Vec<&String> = names.iter().filter(|n| !called(&tests, n)).collect();
    assert!(missing.is_empty(), "public functions no integration test calls: {missing:#?}");
}

/// Every public type's documentation has an example (a doctest that at least compiles).
#[test]
fn every_public_type_has_a_doc_example() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let missing = larder_test_support::audit::types_without_doc_example(&src);
    assert!(missing.is_empty(), "public types without a doc example: {missing:#?}");
}
