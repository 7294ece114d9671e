//! Tidy: the workspace's shape (style of rust-analyzer's `xtask/src/tidy.rs`). Each test
//! enforces one `Architecture Invariant:` line of ARCHITECTURE.md and prints every
//! violation with its file.

use std::path::{Path, PathBuf};

/// Most lines of non-test code a source file may hold (conventions.md, habit 16: files a
/// reader can hold). Counted up to the file's first `#[cfg(test)]` line.
const MAX_CODE_LINES: usize = 900;

/// Files exempt from [`MAX_CODE_LINES`], with the reason.
const LONG_FILES: &[(&str, &str)] = &[(
    "crates/outdial-core/src/nanp/generated.rs",
    "generated table (tools/gen_nanp_data.py)",
)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .expect("under the root")
        .to_string_lossy()
        .replace('\\', "/")
}

/// Every `.rs` file under `dir`, test folders (`tests`, `benches`, `examples`) and files
/// named `tests.rs` left out.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "tests" | "benches" | "examples")
                && !name.starts_with('.')
            {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 12, "found only {} crates", dirs.len());
    dirs
}

/// A manifest's dependency names by table (`dependencies`, `dev-dependencies`,
/// `build-dependencies`).
fn deps(manifest: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest).expect("readable manifest");
    let doc: toml::Table = toml::from_str(&text).expect("valid manifest");
    let mut out = Vec::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(table).and_then(|v| v.as_table()) {
            for (name, spec) in t {
                let features = spec
                    .get("features")
                    .and_then(|f| f.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                out.push((table.to_string(), format!("{name}[{features}]")));
            }
        }
    }
    out
}

fn fail_on(errors: Vec<String>, what: &str) {
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

/// Architecture Invariant: no source file holds more than about 900 lines of non-test
/// code (generated tables aside).
#[test]
fn no_source_file_is_longer_than_a_reader_can_hold() {
    let mut files = Vec::new();
    sources(&root().join("crates"), &mut files);
    let mut errors = Vec::new();
    for file in &files {
        let rel = rel(file);
        if LONG_FILES.iter().any(|(p, _)| *p == rel) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        let code = text
            .lines()
            .take_while(|l| l.trim() != "#[cfg(test)]")
            .count();
        if code > MAX_CODE_LINES {
            errors.push(format!(
                "{rel}: {code} lines of non-test code (at most {MAX_CODE_LINES}): split it along the domain's seams"
            ));
        }
    }
    fail_on(errors, "source files too long");
}

/// Architecture Invariant: `outdial-core` does no I/O: no async runtime, SQL, HTTP or
/// random source among its dependencies, and no clock, environment, file or network call
/// in its code.
#[test]
fn the_core_does_no_io() {
    let core = root().join("crates/outdial-core");
    let mut errors = Vec::new();
    for (table, dep) in deps(&core.join("Cargo.toml")) {
        let name = dep.split('[').next().unwrap_or_default();
        if table == "dependencies"
            && [
                "tokio",
                "sqlx",
                "reqwest",
                "axum",
                "hyper",
                "rand",
                "async-trait",
            ]
            .contains(&name)
        {
            errors.push(format!("crates/outdial-core/Cargo.toml: depends on {name}"));
        }
    }
    const IO: &[&str] = &[
        "Utc::now",
        "Local::now",
        "SystemTime",
        "Instant::now",
        "std::env",
        "std::fs",
        "std::net",
        "std::process",
        "thread_rng",
    ];
    let mut files = Vec::new();
    sources(&core.join("src"), &mut files);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(call) = IO.iter().find(|c| line.contains(*c)) {
                errors.push(format!("{}:{}: {call}: {}", rel(file), i + 1, line.trim()));
            }
        }
    }
    fail_on(errors, "outdial-core reaches for I/O");
}

/// Architecture Invariant: only the store backends contain SQL: no other crate depends on
/// `sqlx` outside its tests (the test kit, a dev-dependency, makes test databases; the
/// benchmark harness, never shipped, runs the bare-SQL floors and fills stores in bulk).
#[test]
fn only_the_store_backends_depend_on_sqlx() {
    let allowed = [
        "outdial-store-sqlite",
        "outdial-store-postgres",
        "outdial-testkit",
        "outdial-bench",
    ];
    let mut errors = Vec::new();
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (table, dep) in deps(&dir.join("Cargo.toml")) {
            if dep.starts_with("sqlx[")
                && table != "dev-dependencies"
                && !allowed.contains(&name.as_str())
            {
                errors.push(format!("crates/{name}/Cargo.toml: sqlx in [{table}]"));
            }
        }
    }
    fail_on(errors, "SQL outside the store backends");
}

/// Architecture Invariant: test-only code stays out of the shipped binary: the test kit is
/// only ever a dev-dependency, and the simulator's `sabotage` feature (planted bugs that
/// prove the checks catch them) is turned on only by dev-dependencies.
#[test]
fn test_only_code_is_only_a_dev_dependency() {
    let mut errors = Vec::new();
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (table, dep) in deps(&dir.join("Cargo.toml")) {
            let test_only = dep.starts_with("outdial-testkit[")
                || (dep.starts_with("outdial-sim[") && dep.contains("sabotage"));
            if test_only && table != "dev-dependencies" {
                errors.push(format!("crates/{name}/Cargo.toml: {dep} in [{table}]"));
            }
        }
    }
    fail_on(errors, "test-only code in a shipped dependency");
}
