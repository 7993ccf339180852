//! Several processes behind one sidecar (issue 15, part 1): Envoy's circuit breakers count per
//! sidecar and cluster, for every worker thread and so every process of the pod, so each
//! process plans for `max(1, floor(h x limit / N))`. Expected values are that formula computed
//! by hand for fixtures/reviews.yaml (maxConnections 100, http1MaxPendingRequests 10,
//! http2MaxRequests 1000, headroom 0.95).

mod common;

use common::{REVIEWS, sidecar_tuner};
use serde_json::Value;
use sidecar_tuner::{ErrorKind, Tuner};

#[test]
fn each_process_plans_for_its_share() {
    let out = sidecar_tuner(
        &[
            &["plan"],
            &REVIEWS[..],
            &["--processes", "4", "--format", "json"],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{out:?}");
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["processes"], 4);
    // floor(0.95 x min(100 + 10, 1000) / 4) = floor(26.125); floor(0.95 x 100 / 4) = floor(23.75).
    assert_eq!(plan["client"]["max_in_flight"], 26);
    assert_eq!(plan["client"]["pool_max_idle_per_host"], 23);
    // What the sidecar enforces does not change with the processes behind it.
    assert_eq!(plan["sidecar"]["max_connections"], 100);

    let tuner = Tuner::from_path("fixtures/reviews.yaml")
        .unwrap()
        .host("reviews")
        .namespace("bookinfo")
        .port(9080);
    let alone = tuner.clone().plan().unwrap();
    assert_eq!(
        (alone.max_in_flight, alone.initial_in_flight),
        (Some(104), Some(9))
    );
    let shared = tuner.clone().processes(4).plan().unwrap();
    // The adaptive limit starts at floor(0.95 x 10 / 4) = 2 in each process.
    assert_eq!(
        (shared.max_in_flight, shared.initial_in_flight),
        (Some(26), Some(2))
    );
    // Never below one: 200 processes still get a request each.
    let many = tuner.clone().processes(200).plan().unwrap();
    assert_eq!(
        (
            many.max_in_flight,
            many.pool_max_idle_per_host,
            many.initial_in_flight
        ),
        (Some(1), Some(1), Some(1))
    );
    let err = tuner.processes(0).plan().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSetting);
    assert_eq!(
        err.to_string(),
        "processes 0 is outside its range (1 or more)"
    );
}

#[test]
fn the_text_plan_says_how_it_was_shared() {
    let out = sidecar_tuner(&[&["plan"], &REVIEWS[..], &["--processes", "4"]].concat());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "client (what to configure in each of the 4 processes that share the sidecar)"
        ),
        "{text}"
    );
    assert!(
        text.contains("26 = max(1, floor(0.95 x min(100 + 10, 1000) / 4))"),
        "{text}"
    );
}

fn codes(out: &std::process::Output) -> Vec<String> {
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .filter(|c| c.starts_with("ST3"))
        .collect()
}

#[test]
fn a_client_that_fits_only_alone_is_st309() {
    let check = |extra: &[&str]| {
        sidecar_tuner(
            &[
                &["check"],
                &REVIEWS[..],
                &[
                    "--client",
                    "fixtures/processes/worker.go.yaml",
                    "--format",
                    "json",
                ],
                extra,
            ]
            .concat(),
        )
    };
    let alone = check(&[]);
    assert_eq!(
        codes(&alone),
        Vec::<String>::new(),
        "sized for one process, it is aligned"
    );
    assert_eq!(alone.status.code(), Some(0));

    let shared = check(&["--processes", "4"]);
    assert_eq!(
        codes(&shared),
        ["ST309", "ST309"],
        "the idle pool and the in-flight bound"
    );
    assert_eq!(shared.status.code(), Some(1), "ST309 is an error");
    let findings: Value = serde_json::from_slice(&shared.stdout).unwrap();
    let messages: Vec<&str> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "ST309")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].contains("4 processes share its 100 connections, 23 each"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("shared by 4 processes, 26 each"),
        "{messages:?}"
    );
}

#[test]
fn a_client_above_the_whole_budget_stays_st303() {
    let dir = tempfile::tempdir().unwrap();
    let client = dir.path().join("client.yaml");
    let text = std::fs::read_to_string("fixtures/processes/worker.go.yaml")
        .unwrap()
        .replace("MaxConnsPerHost: 104", "MaxConnsPerHost: 200");
    std::fs::write(&client, text).unwrap();
    let out = sidecar_tuner(
        &[
            &["check"],
            &REVIEWS[..],
            &[
                "--client",
                client.to_str().unwrap(),
                "--format",
                "json",
                "--processes",
                "4",
            ],
        ]
        .concat(),
    );
    assert_eq!(codes(&out), ["ST309", "ST303"]);
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let st303 = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "ST303")
        .unwrap();
    assert!(
        st303["message"].as_str().unwrap().contains("above the plan's 26: the sidecar admits min(100 + 10, 1000) = 110, shared by 4 processes"),
        "{st303}"
    );
}

#[test]
fn zero_processes_is_a_usage_error() {
    for command in ["plan", "check", "bench"] {
        let mut args = vec![command];
        if command == "bench" {
            args.extend(["--dr", "fixtures/reviews.yaml", "--host", "reviews"]);
        } else {
            args.extend(["fixtures/reviews.yaml", "--host", "reviews"]);
        }
        args.extend(["--processes", "0"]);
        let out = sidecar_tuner(&args);
        assert_eq!(out.status.code(), Some(2), "{command}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--processes"), "{command}: {stderr}");
    }
}
