//! Every input the fuzzers found a bug with (`fuzz/regressions/TARGET/`), run through the same
//! harness as the fuzz target (`fuzz/harness.rs`), so that the bug stays fixed without a
//! nightly toolchain. Also the seeds of each target, as a smoke test of the harness.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Runs `harness` on every file of `fuzz/regressions/TARGET/` (the folder must exist: a target
/// renamed or a folder lost would otherwise replay nothing, silently; hidden files such as
/// `.gitkeep` are skipped), then on each seed (a path under the project, or the text itself).
fn replay(target: &str, harness: fn(&[u8]), seeds: &[Seed]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = root.join("fuzz/regressions").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    for file in files.iter().filter(|p| p.is_file()) {
        eprintln!("{}", file.display());
        harness(&std::fs::read(file).unwrap());
    }
    for seed in seeds {
        match seed {
            Seed::File(path) => harness(&std::fs::read(root.join(path)).unwrap()),
            Seed::Text(text) => harness(text.as_bytes()),
        }
    }
}

enum Seed {
    File(&'static str),
    Text(&'static str),
}

#[test]
fn loader_regressions() {
    replay(
        "load",
        harness::load,
        &[
            Seed::File("fixtures/reviews.yaml"),
            Seed::File("fixtures/kubectl-list.yaml"),
            Seed::File("fixtures/bad/alias-bomb.yaml"),
        ],
    );
}

#[test]
fn duration_regressions() {
    let seeds = [
        "1h2m3.5s",
        "-1.5us",
        "0",
        "9223372036854775807ns",
        ".5m",
        "900µs",
    ];
    replay("duration", harness::duration, &seeds.map(Seed::Text));
}

#[test]
fn client_settings_regressions() {
    replay(
        "client_settings",
        harness::client_settings,
        &[
            Seed::File("fixtures/clients/typos.yaml"),
            Seed::File("fixtures/clients/ST303.go.yaml"),
        ],
    );
}
