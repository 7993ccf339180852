//! The command line over the fixtures: golden text and JSON, exit codes, bad input.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("sidecar-tuner").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .timeout(Duration::from_secs(60));
    cmd
}

fn run(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn run_stdin(args: &[&str], stdin: Vec<u8>) -> Output {
    command(args).write_stdin(stdin).output().unwrap()
}

/// One snapshot of a run: the command, the exit code, stdout and stderr.
fn transcript(args: &[&str], out: &Output) -> String {
    format!(
        "$ sidecar-tuner {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn snapshot(name: &str, args: &[&str]) -> Output {
    let out = run(args);
    insta::assert_snapshot!(name, transcript(args, &out));
    out
}

fn codes_in(out: &Output) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_code_fixture_yields_its_code() {
    let mut fixtures: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codes"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 20, "one fixture per code");
    for path in fixtures {
        let code = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let rel = format!("fixtures/codes/{code}.yaml");
        let args = [
            "check",
            rel.as_str(),
            "--host",
            "reviews",
            "-n",
            "prod",
            "--format",
            "json",
        ];
        let out = run(&args);
        assert!(
            codes_in(&out).contains(&code),
            "{rel} should yield {code}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text_args = ["check", rel.as_str(), "--host", "reviews", "-n", "prod"];
        snapshot(&format!("code_{code}"), &text_args);
    }
}

#[test]
fn golden_check_of_the_bundled_example() {
    let out = snapshot(
        "check_reviews_text",
        &[
            "check",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    snapshot(
        "check_reviews_json",
        &[
            "check",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
            "--format",
            "json",
        ],
    );
}

#[test]
fn golden_plans() {
    snapshot(
        "plan_reviews_text",
        &[
            "plan",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
        ],
    );
    let out = snapshot(
        "plan_reviews_v2_json",
        &[
            "plan",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
            "--subset",
            "v2",
            "--format",
            "json",
        ],
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["client"]["max_in_flight"], 28,
        "floor(0.95 x min(40 + 4, 30))"
    );
}

#[test]
fn plan_numbers_for_port_and_subset() {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let base = [
        "plan",
        "fixtures/reviews.yaml",
        "--host",
        "reviews.bookinfo.svc.cluster.local",
        "--format",
        "json",
    ];
    let top = json(&base);
    assert_eq!(top["client"]["pool_max_idle_per_host"], 95);
    assert_eq!(top["client"]["max_in_flight"], 104);
    assert_eq!(top["client"]["pool_idle_timeout_ms"], 27_000);
    assert_eq!(top["client"]["connect_timeout_ms"], 2_000);
    assert_eq!(top["client"]["tcp_keepalive_ms"], 300_000);
    assert_eq!(top["sidecar"]["max_requests"], 1000);
    assert_eq!(top["rule"]["line"], 3);
    let port = json(&[&base[..], &["--port", "9443"]].concat());
    assert_eq!(
        port["client"]["max_in_flight"], 23,
        "floor(0.95 x (20 + 5))"
    );
    assert_eq!(
        port["sidecar"]["connect_timeout_ms"], 10_000,
        "the port-level pool has no connectTimeout"
    );
    assert_eq!(port["client"]["tcp_keepalive_ms"], serde_json::Value::Null);
    // `--protocol` says what no Service in the input says: TLS is proxied as TCP (the
    // sidecar's 20 connections, floor(0.95 x 20) = 19); gRPC is HTTP/2 upstream, where
    // min(20 x unlimited + 5, unlimited) leaves requests in flight unbounded.
    let tls = json(&[&base[..], &["--port", "9443", "--protocol", "TLS"]].concat());
    assert_eq!(tls["client"]["max_in_flight"], 19);
    let grpc = json(&[&base[..], &["--port", "9443", "--protocol", "grpc"]].concat());
    assert_eq!(grpc["client"]["max_in_flight"], serde_json::Value::Null);
    let unknown = run(&[&base[..], &["--port", "9443", "--protocol", "h2c"]].concat());
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("`h2c` is no protocol Istio knows"),
        "{stderr}"
    );
    let v2 = json(&[&base[..], &["--subset", "v2"]].concat());
    assert_eq!(
        v2["client"]["max_in_flight"], 28,
        "floor(0.95 x min(40 + 4, 30))"
    );
    assert_eq!(v2["client"]["pool_max_idle_per_host"], 38);
    let task = json(&[
        "plan",
        "fixtures/circuit-breaker.yaml",
        "--host",
        "httpbin",
        "--format",
        "json",
    ]);
    assert_eq!(task["client"]["max_in_flight"], 1);
    assert_eq!(task["sidecar"]["max_requests_per_connection"], 1);
    assert_eq!(task["sidecar"]["max_requests"], 4_294_967_295u64);
    let tight = json(&[
        "plan",
        "fixtures/circuit-breaker.yaml",
        "--host",
        "httpbin",
        "--headroom",
        "1.0",
        "--format",
        "json",
    ]);
    assert_eq!(tight["client"]["max_in_flight"], 2);
}

#[test]
fn kubectl_list_on_stdin_resolves_the_most_specific_rule() {
    let yaml =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubectl-list.yaml"))
            .unwrap();
    let args = [
        "check", "-", "--host", "ratings", "-n", "bookinfo", "--format", "json",
    ];
    let out = run_stdin(&args, yaml.clone());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["rules"], 3);
    let resolution = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "ST208")
        .unwrap();
    assert!(
        resolution["message"]
            .as_str()
            .unwrap()
            .contains("resolves to DestinationRule bookinfo/ratings (-:3), found in the client's namespace `bookinfo`")
    );
    let related: Vec<&str> = resolution["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(related.len(), 2, "{related:?}");
    // Istio's lookup (push_context.go `destinationRule`) looks in the client's namespace, the
    // service's and the root namespace only: a rule in `other` is never a candidate.
    assert!(
        related[0].starts_with("bookinfo/catch-all passed over: its host"),
        "{related:?}"
    );
    assert!(
        related[1].starts_with(
            "other/ratings-private passed over: a rule in namespace `other` is never used"
        ),
        "{related:?}"
    );
    let plan = run_stdin(
        &[
            "plan", "-", "--host", "ratings", "-n", "bookinfo", "--format", "json",
        ],
        yaml,
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["client"]["max_in_flight"], 23);
    let passed: Vec<&str> = plan["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(passed, ["catch-all", "ratings-private"], "in input order");
}

#[test]
fn the_istio_corpus_loads_without_input_errors() {
    let corpus = ["fixtures/istio-corpus", "../shared/corpus"];
    for dir in corpus
        .iter()
        .filter(|d| Path::new(env!("CARGO_MANIFEST_DIR")).join(d).is_dir())
    {
        let out = run(&["check", dir, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let input_errors: Vec<_> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("ST1") && f["severity"] == "error")
            .collect();
        assert!(input_errors.is_empty(), "{dir}: {input_errors:#?}");
        assert!(json["summary"]["rules"].as_u64().unwrap() >= 10, "{dir}");
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(
        run(&["check", "fixtures/codes/ST201.yaml"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "fixtures/codes/ST201.yaml", "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["check", "fixtures/codes/ST111.yaml", "--fail-on", "warning"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "fixtures/codes/ST111.yaml", "--fail-on", "note"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["check", "fixtures/codes/ST101.yaml"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["check", "fixtures/codes/ST100.yaml"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["check"]).status.code(), Some(2), "usage");
    assert_eq!(
        run(&["plan", "fixtures/reviews.yaml", "--host", "nope"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "plan",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
            "--headroom",
            "1.3"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn bad_input_gets_one_clear_error_and_exit_2() {
    snapshot(
        "bad_inputs",
        &[
            "check",
            "fixtures/bad/malformed.yaml",
            "fixtures/bad/binary.yaml",
            "fixtures/bad/empty.yaml",
            "fixtures/bad/alias-bomb.yaml",
        ],
    );
    let missing = snapshot("missing_path", &["check", "fixtures/does-not-exist.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    let folder = snapshot("folder_without_yaml", &["check", "fixtures/bad/no-yaml"]);
    assert_eq!(folder.status.code(), Some(2));
    let plan = snapshot(
        "plan_of_invalid_input",
        &[
            "plan",
            "fixtures/codes/ST101.yaml",
            "--host",
            "reviews",
            "-n",
            "prod",
        ],
    );
    assert_eq!(plan.status.code(), Some(2));
}

/// `bench` values that would make a run pointless (nothing sent, no time to send it) are usage
/// errors, said before any Envoy starts.
#[test]
fn bench_bounds_are_usage_errors() {
    let base = [
        "bench",
        "--dr",
        "fixtures/circuit-breaker.yaml",
        "--host",
        "httpbin",
    ];
    for (bad, said) in [
        (&["--requests", "0"][..], "0 is not in 1..=10000000"),
        (&["--concurrency", "8,0"], "0 is not in 1..=10000"),
        (&["--time-limit", "0s"], "`0s` must be above zero"),
        (&["--time-limit=-1s"], "`-1s` is negative"),
        (&["--upstream-latency", "5 ms"], "--upstream-latency"),
        // Not one request could be answered in a run (it used to run every client to the
        // time limit, 60 s by default, and count each request an error).
        (
            &["--upstream-latency", "90s"],
            "upstream latency 1m30s is outside its range (below the time limit of a run, 1m0s)",
        ),
        (
            &["--upstream-latency", "2s", "--time-limit", "2s"],
            "upstream latency 2s is outside its range (below the time limit of a run, 2s)",
        ),
    ] {
        let args: Vec<&str> = base.iter().chain(bad).copied().collect();
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
}

/// A `--host`, `--namespace` or `--labels` that names nothing a client could call is a usage
/// error that says which and why, in every command that takes one, before anything is resolved or run;
/// it used to be reported as "no DestinationRule applies to host `.default.svc.cluster.local`".
#[test]
fn a_destination_that_is_no_host_name_is_a_usage_error() {
    for (command, input) in [
        ("plan", "fixtures/reviews.yaml"),
        ("check", "fixtures/reviews.yaml"),
        ("bench", "--dr=fixtures/reviews.yaml"),
    ] {
        for (bad, said) in [
            (
                &["--host", ""][..],
                "the destination's host `` is not valid: empty domain name",
            ),
            (
                &["--host", "reviews:9080", "-n", "bookinfo"],
                "the destination's host `reviews:9080` is not valid",
            ),
            (
                &["--host", "reviews", "-n", ""],
                "the destination's namespace `` is not valid",
            ),
            (
                &["--host", "reviews", "--labels", "app=a=b"],
                "the destination's label `app=a=b` is not valid",
            ),
        ] {
            let args: Vec<&str> = [command, input].iter().chain(bad).copied().collect();
            let out = run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.starts_with(&format!("error: {said}"))
                    && stderr.contains("= help: name the"),
                "{args:?}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: nothing planned or run");
            if bad[1].contains(':') {
                assert!(
                    stderr.contains("the port goes in `--port`"),
                    "{args:?}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn explain_every_code() {
    let list = run(&["explain", "--list"]);
    let listed = String::from_utf8_lossy(&list.stdout).lines().count();
    assert_eq!(listed, sidecar_tuner::Code::ALL.len());
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let code = line.split_whitespace().next().unwrap();
        let out = run(&["explain", code]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            text.starts_with(code) && text.contains("Why is this bad:"),
            "{text}"
        );
    }
    snapshot("explain_ST205", &["explain", "ST205"]);
    snapshot("explain_ST303", &["explain", "ST303"]);
    assert_eq!(run(&["explain", "ST999"]).status.code(), Some(2));
}

/// Completions and the man pages come from the same clap definition as the parser (as
/// ripgrep's do): every subcommand and flag the parser knows is in them.
#[test]
fn completions_and_man_page_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for word in [
            "sidecar-tuner",
            "render-envoy",
            "labels",
            "mesh",
            "emit",
            "completions",
        ] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let bash = String::from_utf8(run(&["completions", "bash"]).stdout).unwrap();
    assert!(
        bash.contains("complete -F _sidecar__tuner"),
        "bash registers the function"
    );
    // And bash completes with it: `sidecar-tuner pl<TAB>` gives `plan`.
    let script = format!(
        "{bash}\nCOMP_WORDS=(sidecar-tuner pl); COMP_CWORD=1; COMP_LINE='sidecar-tuner pl'; COMP_POINT=16\n_sidecar__tuner sidecar-tuner pl sidecar-tuner\necho \"${{COMPREPLY[@]}}\"\n"
    );
    let completed = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&completed.stdout).trim(), "plan");
    let man = String::from_utf8(run(&["man"]).stdout).unwrap();
    assert!(man.contains(".TH sidecar-tuner 1"), "{man}");
    for entry in [
        "sidecar\\-tuner\\-check(1)",
        "sidecar\\-tuner\\-render\\-envoy(1)",
    ] {
        assert!(man.contains(entry), "the main page lists {entry}");
    }
    let check = String::from_utf8(run(&["man", "check"]).stdout).unwrap();
    assert!(check.contains(".TH sidecar-tuner-check 1"), "{check}");
    for flag in [
        "\\-\\-labels",
        "\\-\\-mesh",
        "\\-\\-fail\\-on",
        "\\-\\-client",
    ] {
        assert!(check.contains(flag), "the check page documents {flag}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    let unknown = run(&["man", "chek"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("the pages are: check, plan"));
}
