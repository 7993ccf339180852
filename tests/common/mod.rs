//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test crate uses its own part

use std::path::{Path, PathBuf};

use sidecar_tuner::istio::load::{LoadOptions, load_file};
use sidecar_tuner::istio::resolve::Destination;

/// Rule fixtures that load without errors, with every destination they define: each rule's
/// host (a wildcard made concrete) from its namespace, each subset, each port-level port.
pub fn destinations_of_every_fixture() -> Vec<(PathBuf, Destination)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("istio-corpus"), root.join("codes")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let loaded = load_file(&path, &LoadOptions::default()).unwrap();
        if loaded.ensure_valid().is_err() {
            continue;
        }
        for rule in &loaded.rules {
            let namespace = rule
                .namespace
                .as_ref()
                .map_or("default", |n| n.value.as_str());
            let base = Destination {
                namespace: namespace.to_owned(),
                ..Destination::new(rule.host.value.replace('*', "any"))
            };
            out.push((path.clone(), base.clone()));
            for subset in &rule.subsets {
                out.push((
                    path.clone(),
                    Destination {
                        subset: Some(subset.name.value.clone()),
                        ..base.clone()
                    },
                ));
            }
            let ports = rule
                .traffic_policy
                .iter()
                .flat_map(|p| &p.port_level_settings);
            for port in ports.filter_map(|p| p.port.as_ref()) {
                out.push((
                    path.clone(),
                    Destination {
                        port: Some(port.value),
                        ..base.clone()
                    },
                ));
            }
        }
    }
    out
}

/// The Envoy binary; without one, a skip notice (a failure under `CI=true`).
pub fn envoy_or_skip(test: &str) -> Option<PathBuf> {
    match sidecar_tuner::sidecar::envoy_binary() {
        Ok(path) => Some(path),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and {e}: `scripts/setup.sh` installs it")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}; run `scripts/setup.sh` or set ENVOY_BIN");
            None
        }
    }
}
