//! A migration that is on main has run on databases that will never run it again:
//! editing it changes nothing there and breaks `sqlx migrate` (checksum mismatch) on
//! the rest. CI fails when one is edited: every migration on main must be, byte for
//! byte, what main first received, except the edits listed below. New changes go in
//! new migration files.

use std::path::Path;
use std::process::Command;

/// Edits made before this check existed, each allowed by the commit that made it.
/// 45b2af3 (the reviewers' desk benchmark work) added the `title` column, two indexes
/// of the case list and the dashboard's index to the case-search migration after
/// 7ba7955 had put it on main. (20261129200000_rulebook_activation.sql was also edited
/// once, in ddfa02c, but on the issue-8 branch before it reached main.)
const ALLOWED_EDITS: &[(&str, &str)] = &[(
    "migrations/20261128000003_case_search.sql",
    "45b2af33fabe52b6f1a82667cb98e334661a3e66",
)];

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The main line to compare with: the local `main`, else `origin/main`, else HEAD (CI
/// runs on a clone of main itself).
fn main_line() -> String {
    ["main", "origin/main", "HEAD"]
        .into_iter()
        .find(|r| git(&["rev-parse", "--verify", "--quiet", r]).is_some())
        .expect("a git repository with a main branch or a HEAD")
        .to_owned()
}

/// Whether a file of main was there when this branch left main.
fn reached_this_branch(base: &str, file: &str) -> bool {
    git(&["merge-base", "HEAD", base])
        .map(|fork| git(&["cat-file", "-e", &format!("{}:{file}", fork.trim())]).is_some())
        .unwrap_or(true)
}

#[test]
fn no_migration_already_on_main_was_edited() {
    assert_eq!(
        git(&["rev-parse", "--is-shallow-repository"])
            .as_deref()
            .map(str::trim),
        Some("false"),
        "this check reads the history of main: clone with full history"
    );
    let base = main_line();
    let files = git(&["ls-tree", "--name-only", &base, "migrations/"]).expect("ls-tree");
    let mut problems = Vec::new();
    for file in files.lines().filter(|f| f.ends_with(".sql")) {
        // The commits of main's own line that touched it, oldest first: the first added it.
        let commits = git(&[
            "log",
            "--first-parent",
            "--reverse",
            "--format=%H",
            &base,
            "--",
            file,
        ])
        .expect("log");
        for commit in commits.lines().skip(1) {
            if !ALLOWED_EDITS.contains(&(file, commit)) {
                problems.push(format!("{file} was edited on main by {commit}"));
            }
        }
        let on_main = Command::new("git")
            .args(["show", &format!("{base}:{file}")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("git show")
            .stdout;
        match std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)) {
            Ok(here) if here == on_main => {}
            Ok(_) => problems.push(format!(
                "{file} differs from main: add a new migration instead of editing it"
            )),
            // On main but not here: removed here, or added to main after this branch
            // left it (it arrives with the merge).
            Err(_) if reached_this_branch(&base, file) => {
                problems.push(format!("{file} is on main but was removed"))
            }
            Err(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
