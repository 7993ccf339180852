//! `check --client` and `plan --emit`: one golden transcript per ST3xx fixture in each
//! vocabulary (text, JSON, SARIF), the SARIF shape, the plan-to-check round trip on every
//! fixture, and colour only when asked for and never under NO_COLOR.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use common::destinations_of_every_fixture;
use serde_json::Value;
use sidecar_tuner::check::client_findings;
use sidecar_tuner::istio::load::{LoadOptions, load_file};
use sidecar_tuner::istio::resolve::resolve;
use sidecar_tuner::plan::{PlanOptions, derive};
use sidecar_tuner::report::{Emit, emit};
use sidecar_tuner::settings::{Vocabulary, client_file_from_bytes};

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("sidecar-tuner").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(60));
    cmd
}

fn run(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn transcript(args: &[&str], out: &Output, stdout: &str) -> String {
    format!(
        "$ sidecar-tuner {}\nexit: {}\n--- stdout\n{stdout}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The SARIF log with its rules table (the same for every run, checked on its own) elided.
fn sarif_without_rules(stdout: &[u8]) -> String {
    let mut log: Value = serde_json::from_slice(stdout).expect("SARIF is JSON");
    let rules = &mut log["runs"][0]["tool"]["driver"]["rules"];
    *rules = Value::String(format!("{} rules", rules.as_array().unwrap().len()));
    serde_json::to_string_pretty(&log).unwrap() + "\n"
}

fn client_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/clients"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    paths.sort();
    paths
}

#[test]
fn each_client_fixture_yields_its_code_in_every_format() {
    let fixtures = client_fixtures();
    assert_eq!(fixtures.len(), 28);
    for path in fixtures {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let client = format!("fixtures/clients/{name}");
        let stem = name.trim_end_matches(".yaml");
        let base = [
            "check",
            "fixtures/reviews.yaml",
            "--host",
            "reviews",
            "-n",
            "bookinfo",
            "--client",
            client.as_str(),
        ];

        let json_args = [&base[..], &["--format", "json"]].concat();
        let json = run(&json_args);
        let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
        let codes: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .filter(|c| c.starts_with("ST3") || c.starts_with("ST1"))
            .collect();
        if let Some(code) = stem
            .strip_suffix(".reqwest")
            .or(stem.strip_suffix(".go"))
            .filter(|c| c.starts_with("ST3"))
        {
            assert_eq!(codes, [code], "{name}");
            let expected_exit = if code == "ST303" { 1 } else { 0 };
            assert_eq!(json.status.code(), Some(expected_exit), "{name}");
        }
        insta::assert_snapshot!(
            format!("client_{stem}_json"),
            transcript(&json_args, &json, &String::from_utf8_lossy(&json.stdout))
        );

        let text = run(&base);
        insta::assert_snapshot!(
            format!("client_{stem}_text"),
            transcript(&base, &text, &String::from_utf8_lossy(&text.stdout))
        );

        let sarif_args = [&base[..], &["--format", "sarif"]].concat();
        let sarif = run(&sarif_args);
        insta::assert_snapshot!(
            format!("client_{stem}_sarif"),
            transcript(&sarif_args, &sarif, &sarif_without_rules(&sarif.stdout))
        );
    }
}

/// The properties SARIF 2.1.0's schema requires, and the types and values it allows for them,
/// on every object this tool writes.
#[test]
fn sarif_has_what_the_2_1_0_schema_requires() {
    let out = run(&[
        "check",
        "fixtures/reviews.yaml",
        "fixtures/codes/ST101.yaml",
        "--host",
        "reviews",
        "-n",
        "bookinfo",
        "--client",
        "fixtures/clients/defaults.go.yaml",
        "--format",
        "sarif",
    ]);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "sidecar-tuner");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), sidecar_tuner::Code::ALL.len());
    for rule in rules {
        assert!(rule["id"].as_str().unwrap().starts_with("ST"));
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert!(
            rule["help"]["text"]
                .as_str()
                .unwrap()
                .contains("Why is this bad:")
        );
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
    }
    let results = runs[0]["results"].as_array().unwrap();
    assert!(results.len() >= 5);
    for result in results {
        assert!(
            !result["message"]["text"].as_str().unwrap().is_empty(),
            "{result}"
        );
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["none", "note", "warning", "error"].contains(&result["level"].as_str().unwrap()));
        let locations = result["locations"].as_array().into_iter().flatten();
        let related = result["relatedLocations"].as_array().into_iter().flatten();
        for location in locations.chain(related) {
            let physical = &location["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            assert!(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(uri).exists(),
                "{uri}"
            );
            if let Some(region) = physical.get("region") {
                assert!(region["startLine"].as_u64().unwrap() >= 1);
                assert!(region["startColumn"].as_u64().unwrap() >= 1);
            }
        }
    }
    let on_lines = results
        .iter()
        .filter(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
    assert!(on_lines.count() >= 5, "findings point at lines");
}

#[test]
fn emitted_client_settings_pass_check_for_every_fixture() {
    let destinations = destinations_of_every_fixture();
    assert!(destinations.len() >= 40, "{}", destinations.len());
    for (path, destination) in destinations {
        let loaded = load_file(&path, &LoadOptions::default()).unwrap();
        let Ok(resolution) = resolve(&loaded.rules, &destination) else {
            continue; // a rule passed over for another (workload selector, export)
        };
        let plan = derive(&resolution.policy, &PlanOptions::default()).unwrap();
        let kinds = [Emit::ClientYaml, Emit::GoYaml]
            .into_iter()
            .chain(Vocabulary::ALL.map(Emit::Settings));
        for kind in kinds {
            let mut yaml = Vec::new();
            emit(&mut yaml, kind, &resolution, &plan).unwrap();
            let file =
                client_file_from_bytes(&yaml, &Arc::from("emitted.yaml"), &LoadOptions::default());
            assert!(
                file.findings.is_empty(),
                "{}: {:?}",
                path.display(),
                file.findings
            );
            let mismatches = client_findings(&file.settings.unwrap(), &resolution, &plan);
            assert!(
                mismatches.is_empty(),
                "{} {destination} {kind:?}:\n{}\n{mismatches:#?}",
                path.display(),
                String::from_utf8_lossy(&yaml)
            );
        }
    }
}

/// The bundled example's reviews destination, subset v2.
const REVIEWS_V2: [&str; 7] = [
    "fixtures/reviews.yaml",
    "--host",
    "reviews",
    "-n",
    "bookinfo",
    "--subset",
    "v2",
];

fn emitted(kind: &str) -> Output {
    run(&[&["plan"], &REVIEWS_V2[..], &["--emit", kind]].concat())
}

#[test]
fn plan_emit_then_check_through_the_cli() {
    let yaml = emitted("client-yaml");
    assert_eq!(yaml.status.code(), Some(0));
    let path =
        std::env::temp_dir().join(format!("sidecar-tuner-emitted-{}.yaml", std::process::id()));
    std::fs::write(&path, &yaml.stdout).unwrap();
    let client = ["--client", path.to_str().unwrap(), "--format", "json"];
    let out = run(&[&["check"], &REVIEWS_V2[..], &client].concat());
    std::fs::remove_file(&path).unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let st3: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("ST3"))
        .collect();
    assert!(st3.is_empty(), "{st3:?}");
    for (kind, needle) in [
        ("reqwest", ".pool_max_idle_per_host(38)"),
        ("go", "MaxConnsPerHost:     28,"),
        ("go-yaml", "MaxConnsPerHost: 28"),
    ] {
        let text = String::from_utf8_lossy(&emitted(kind).stdout).into_owned();
        assert!(text.contains(needle), "{kind}: {text}");
        insta::assert_snapshot!(format!("emit_{kind}"), text);
    }
}

/// Issue 16: every library's settings file and code for the same destination, one snapshot
/// each; the bound (28: 0.95 x min(40 + 4, 30)) and the idle pool (38) appear in each in the
/// library's own terms, and so do the idle timeout and connect timeout in its units.
#[test]
fn every_library_emits_a_settings_file_and_code() {
    let cases = [
        (
            "okhttp",
            "maxRequestsPerHost: 28",
            "dispatcher.setMaxRequestsPerHost(28);",
        ),
        (
            "httpclient5",
            "defaultMaxPerRoute: 28",
            ".setMaxConnPerRoute(28)",
        ),
        ("reactor-netty", "maxConnections: 28", ".maxConnections(28)"),
        ("httpx", "max_connections: 28", "max_connections=28,"),
        ("aiohttp", "limit_per_host: 28", "limit_per_host=28,"),
        ("urllib3", "block: true", "block=True,"),
        ("undici", "connections: 28", "connections: 28,"),
        ("node-http", "maxSockets: 28", "maxSockets: 28,"),
        (
            "dotnet",
            "MaxConnectionsPerServer: 28",
            "MaxConnectionsPerServer = 28,",
        ),
    ];
    for (library, in_yaml, in_code) in cases {
        let yaml_kind = format!("{library}-yaml");
        let yaml = emitted(&yaml_kind);
        assert_eq!(yaml.status.code(), Some(0), "{library}");
        let yaml = String::from_utf8_lossy(&yaml.stdout).into_owned();
        assert!(yaml.contains(in_yaml), "{library}: {yaml}");
        insta::assert_snapshot!(format!("emit_{yaml_kind}"), yaml);
        let code = emitted(library);
        assert_eq!(code.status.code(), Some(0), "{library}");
        let code = String::from_utf8_lossy(&code.stdout).into_owned();
        assert!(code.contains(in_code), "{library}: {code}");
        insta::assert_snapshot!(format!("emit_{library}"), code);
    }
}

#[test]
fn colour_only_when_asked_and_never_under_no_color() {
    let args = [
        "check",
        "fixtures/reviews.yaml",
        "--host",
        "reviews",
        "-n",
        "bookinfo",
        "--client",
        "fixtures/clients/ST303.go.yaml",
    ];
    let has_escape = |out: &Output| out.stdout.contains(&0x1b);
    assert!(!has_escape(&run(&args)), "not a terminal: no colour");
    let always = [&args[..], &["--color", "always"]].concat();
    assert!(has_escape(&run(&always)));
    let no_color = command(&always).env("NO_COLOR", "1").output().unwrap();
    assert!(!has_escape(&no_color), "NO_COLOR wins over --color always");
    assert_eq!(
        String::from_utf8_lossy(&no_color.stdout),
        String::from_utf8_lossy(&run(&args).stdout)
    );
}

#[test]
fn client_file_problems_exit_as_input_errors() {
    let args = [
        "check",
        "fixtures/reviews.yaml",
        "--host",
        "reviews",
        "--client",
        "fixtures/bad/binary.yaml",
    ];
    assert_eq!(run(&args).status.code(), Some(2));
    let missing = run(&[
        "check",
        "fixtures/reviews.yaml",
        "--host",
        "reviews",
        "--client",
        "fixtures/clients/nope.yaml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.yaml"));
    let no_host = run(&[
        "check",
        "fixtures/reviews.yaml",
        "--client",
        "fixtures/clients/defaults.go.yaml",
    ]);
    assert_eq!(no_host.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_host.stderr).contains("--host"));
}

/// Go's defaults against Istio's circuit-breaking task rule (`maxConnections: 1`): ST301 says
/// "1 connection", and no ST302 (`http.DefaultTransport` sends HTTP/1.1 to `http://`).
#[test]
fn go_defaults_against_the_task_rule() {
    let out = run(&[
        "check",
        "fixtures/circuit-breaker.yaml",
        "--host",
        "httpbin",
        "--client",
        "fixtures/clients/defaults.go.yaml",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let message = |code: &str| {
        findings
            .iter()
            .find(|f| f["code"] == code)
            .map(|f| f["message"].as_str().unwrap().to_owned())
    };
    let st301 = message("ST301").expect("ST301");
    assert!(
        st301.contains("the sidecar allows 1 connection (go's default"),
        "{st301}"
    );
    assert_eq!(message("ST302"), None);
}

/// Toward an HTTP/2 upstream (a Service port named `grpc-api`: Istio's cluster for it is
/// HTTP/2, cluster_builder.go `setUpstreamProtocol`) the plan is sized in streams: the ceiling
/// is floor(0.95 x min(10 x unlimited + 5, 40)) = 38, the idle pool the same, and a client that
/// speaks HTTP/2 to the sidecar changes nothing (no ST302). The same client against the same
/// rule on a port named `http-api`: HTTP/1.1, min(10 + 5, 40) = 15, ceiling 14, and ST302; on
/// one named `tcp-db`, proxied as TCP, the sidecar's 10 connections, ceiling 9, and no ST302
/// (an HTTP/2 client needs fewer connections).
#[test]
fn a_ports_protocol_decides_what_the_client_is_checked_against() {
    let dir = std::env::temp_dir().join(format!("st-check-grpc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("mesh.yaml");
    std::fs::write(
        &input,
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: orders, namespace: shop}\nspec:\n  host: orders\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 10}\n      http: {http1MaxPendingRequests: 5, http2MaxRequests: 40}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: orders, namespace: shop}\nspec:\n  ports: [{name: grpc-api, port: 50051}, {name: http-api, port: 8080}, {name: tcp-db, port: 5432}]\n",
    )
    .unwrap();
    let messages = |port: &str| {
        let out = run(&[
            "check",
            input.to_str().unwrap(),
            "--host",
            "orders",
            "-n",
            "shop",
            "--port",
            port,
            "--client",
            "fixtures/clients/ST302.reqwest.yaml",
            "--format",
            "json",
        ]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = doc["findings"].as_array().unwrap().clone();
        move |code: &str| {
            findings
                .iter()
                .find(|f| f["code"] == code)
                .map(|f| f["message"].as_str().unwrap().to_owned())
        }
    };
    let grpc = messages("50051");
    assert_eq!(grpc("ST302"), None);
    assert_eq!(
        grpc("ST303").as_deref(),
        Some(
            "up to 104 requests in flight, above the plan's 38: the sidecar admits min(10 x unlimited + 5, 40) = 40 toward its HTTP/2 upstream"
        )
    );
    assert_eq!(
        grpc("ST301").as_deref(),
        Some(
            "the client keeps up to 95 idle connections per host; toward its HTTP/2 upstream the sidecar admits min(10 x unlimited + 5, 40) requests at once"
        )
    );
    let http = messages("8080");
    assert!(http("ST302").is_some());
    assert_eq!(
        http("ST303").as_deref(),
        Some(
            "up to 104 requests in flight, above the plan's 14: the sidecar admits min(10 + 5, 40) = 15"
        )
    );
    let tcp = messages("5432");
    assert_eq!(tcp("ST302"), None);
    assert_eq!(
        tcp("ST303").as_deref(),
        Some(
            "up to 104 requests in flight, above the plan's 9: the sidecar proxies the port as TCP and admits 10 connections, one per request in flight"
        )
    );
    std::fs::remove_dir_all(dir).ok();
}
