//! The inputs the fuzzers found, replayed by the ordinary test run.

use std::path::{Path, PathBuf};

/// The sorted files of a directory (none if it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The text of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
        .unwrap_or("(a panic without a message)")
}

/// A fuzz target's entry point: the function its cargo-fuzz target calls on each input.
pub type FuzzEntry = fn(&[u8]);

/// Replays `crate_dir/fuzz/regressions/TARGET/*` through each target's entry point, fuzzer-free.
pub fn replay_fuzz_regressions(crate_dir: &Path, targets: &[(&str, FuzzEntry)]) {
    // `targets` must name every target of fuzz/fuzz_targets/ and each must have inputs, so the
    // replay cannot drift from the fuzzers; every failing input is named before the test fails.
    let fuzz = crate_dir.join("fuzz");
    let mut on_disk: Vec<String> = files(&fuzz.join("fuzz_targets"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut given: Vec<String> = targets.iter().map(|(n, _)| n.to_string()).collect();
    given.sort();
    assert_eq!(
        given,
        on_disk,
        "the replayed targets (left) must be the fuzz targets of {} (right)",
        fuzz.join("fuzz_targets").display()
    );
    let mut failures = Vec::new();
    for (name, entry) in targets {
        let dir = fuzz.join("regressions").join(name);
        let inputs = files(&dir);
        assert!(
            !inputs.is_empty(),
            "{} holds no inputs: keep the fuzzer's interesting inputs there",
            dir.display()
        );
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            if let Err(p) = std::panic::catch_unwind(|| entry(&data)) {
                failures.push(format!("{}: {}", input.display(), panic_text(&*p)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fuzz regression input(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Declares the test replaying the crate's fuzz regressions: `fuzz_regressions_test!(read_newc);`.
///
/// The functions of that name come from a module `entry` in scope: the fuzz targets' own
/// `fuzz/entry.rs`, included with `#[path]`.
#[macro_export]
macro_rules! fuzz_regressions_test {
    ($($target:ident),+ $(,)?) => {
        #[test]
        fn fuzz_regressions_replay_cleanly() {
            $crate::replay_fuzz_regressions(
                ::std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
                &[$((stringify!($target), entry::$target as $crate::FuzzEntry)),+],
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never_panics(_: &[u8]) {}

    fn refuses_x(data: &[u8]) {
        assert!(!data.contains(&b'x'), "an x");
    }

    #[test]
    fn every_input_is_replayed_and_targets_must_match() {
        let d = tempfile::tempdir().unwrap();
        let fuzz = d.path().join("fuzz");
        for dir in ["fuzz_targets", "regressions/a", "regressions/b"] {
            std::fs::create_dir_all(fuzz.join(dir)).unwrap();
        }
        std::fs::write(fuzz.join("fuzz_targets/a.rs"), "").unwrap();
        std::fs::write(fuzz.join("fuzz_targets/b.rs"), "").unwrap();
        std::fs::write(fuzz.join("regressions/a/1"), "abc").unwrap();
        std::fs::write(fuzz.join("regressions/b/1"), "ok").unwrap();
        std::fs::write(fuzz.join("regressions/b/2"), "x").unwrap();
        replay_fuzz_regressions(d.path(), &[("a", never_panics), ("b", never_panics)]);

        let failing = std::panic::catch_unwind(|| {
            replay_fuzz_regressions(d.path(), &[("a", refuses_x), ("b", refuses_x)])
        })
        .unwrap_err();
        let msg = panic_text(&*failing);
        assert!(msg.contains("1 fuzz regression input(s) fail"), "{msg}");
        assert!(msg.contains("regressions/b/2: an x"), "{msg}");

        let missing =
            std::panic::catch_unwind(|| replay_fuzz_regressions(d.path(), &[("a", never_panics)]))
                .unwrap_err();
        assert!(panic_text(&*missing).contains("must be the fuzz targets"));

        std::fs::remove_file(fuzz.join("regressions/a/1")).unwrap();
        let empty = std::panic::catch_unwind(|| {
            replay_fuzz_regressions(d.path(), &[("a", never_panics), ("b", never_panics)])
        })
        .unwrap_err();
        assert!(panic_text(&*empty).contains("holds no inputs"));
    }
}
