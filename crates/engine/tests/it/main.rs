//! Engine integration tests: every `tests/transcripts/*.txt` runs against a fresh engine on a manual clock.
//! `UPDATE_TRANSCRIPTS=1 cargo test -p larder-engine` rewrites the files with the actual replies.

use std::sync::Arc;

use larder_engine::transcript::{Step, parse, render};
use larder_engine::{Engine, ManualClock, ServerInfo};

/// Runs one transcript; returns the rewritten text and the mismatches.
fn run(text: &str) -> (String, Vec<String>) {
    let clock = ManualClock::new(1_700_000_000_000);
    let mut engine = Engine::new(Arc::new(clock.clone()), ServerInfo::default());
    let mut client = engine.new_client("test".into());
    let steps = parse(text).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut actuals = Vec::new();
    for step in &steps {
        match step {
            Step::Advance(ms) => clock.advance(*ms),
            Step::Command { line, argv, expected } => {
                let got = render(&engine.execute(&mut client, argv));
                if &got != expected {
                    failures.push(format!(
                        "line {line}: {:?}\n  expected: {expected}\n  got:      {got}",
                        argv
                    ));
                }
                actuals.push((*line, got));
            }
        }
    }
    // Rebuild the file: keep command and comment lines, replace expectations with actual replies.
    let mut out = String::new();
    let mut actual = actuals.into_iter().peekable();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("> ") || l.starts_with('#') || l.trim().is_empty() {
            if l.trim().is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            } else if !l.trim().is_empty() {
                out.push_str(l);
                out.push('\n');
            }
            if actual.peek().is_some_and(|(line, _)| *line == i + 1) {
                let (_, got) = actual.next().expect("peeked");
                out.push_str(&got);
                out.push('\n');
            }
        }
    }
    (out, failures)
}

#[test]
fn transcripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty());
    let update = std::env::var_os("UPDATE_TRANSCRIPTS").is_some();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let (rewritten, failures) = run(&text);
        if update {
            std::fs::write(&f, rewritten).unwrap();
        } else {
            all.extend(
                failures
                    .into_iter()
                    .map(|m| format!("{}: {m}", f.file_name().unwrap().to_string_lossy())),
            );
        }
    }
    assert!(all.is_empty(), "{} transcript mismatches:\n{}", all.len(), all.join("\n"));
}
