//! Reading DestinationRules: files, folders (recursively, `*.yaml` and `*.yml`) and standard
//! input; multi-document streams; `kind: List` as `kubectl get -o yaml` prints it. Other kinds
//! are noted and skipped. Every problem becomes a finding with its position.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::mesh::{self, MeshConfig};
use super::model::{
    Deployment, DestinationRule, Origin, Service, ServiceEntry, Sidecar, VirtualService,
};
use super::protocol::Protocol;
use super::resolve::Destination;
use super::scope;
use super::validate::Validator;
use super::yaml::{self, Node, Pos, Value};
use crate::diag::{Code, Finding, Location, Severity, Sources};
use crate::error::Error;

/// The default input cap: 64 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// How inputs are read.
///
/// ```
/// use sidecar_tuner::istio::load::LoadOptions;
///
/// let options = LoadOptions::default()
///     .max_input_bytes(1 << 20)
///     .cap_help("raise the cap with `--max-input-size` (in MiB)");
/// assert_eq!(options.max_input_bytes, 1 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Inputs larger than this are rejected before they are read whole. Default 64 MiB.
    pub max_input_bytes: u64,
    /// How the caller's user raises the cap, for the finding about a larger input.
    cap_help: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            cap_help: None,
        }
    }
}

impl LoadOptions {
    /// Inputs larger than this are rejected before they are read whole.
    pub fn max_input_bytes(mut self, bytes: u64) -> Self {
        self.max_input_bytes = bytes;
        self
    }

    /// The `help:` of the finding about an input over the cap, in the caller's terms (a CLI
    /// names its flag); by default it names [`LoadOptions::max_input_bytes`].
    pub fn cap_help(mut self, help: impl Into<String>) -> Self {
        self.cap_help = Some(help.into());
        self
    }

    fn raise_cap_help(&self) -> String {
        self.cap_help.clone().unwrap_or_else(|| {
            "split the input, or raise the cap (`LoadOptions::max_input_bytes`)".into()
        })
    }
}

/// What loading found: the rules, and the findings about the input.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The DestinationRules, in input order.
    pub rules: Vec<DestinationRule>,
    /// The MeshConfig: of an `istio` ConfigMap in the root namespace, or of a MeshConfig file;
    /// the first one read.
    pub mesh: Option<MeshConfig>,
    /// Kubernetes Services, for their ports.
    pub services: Vec<Service>,
    /// Istio `Sidecar` resources, for the inbound connection pool of the workloads they select
    /// and the hosts their outbound traffic reaches.
    pub sidecars: Vec<Sidecar>,
    /// Istio `VirtualService` resources, for the hosts their routes import into a Sidecar's
    /// scope.
    pub virtual_services: Vec<VirtualService>,
    /// Istio `ServiceEntry` resources, for the namespace and visibility of their hosts.
    pub service_entries: Vec<ServiceEntry>,
    /// Kubernetes Deployments, for how many client and server pods there are.
    pub deployments: Vec<Deployment>,
    /// ST1xx findings: syntax, unknown fields, types, ranges, skipped kinds.
    pub findings: Vec<Finding>,
    /// The files read.
    pub files: Vec<Arc<str>>,
    /// Their text, for source snippets.
    pub sources: Sources,
}

impl Loaded {
    /// `destination` completed from the ServiceEntries read, as Istio would see the service
    /// behind its host:
    ///
    /// - its [`service_host`](Destination::service_host), when it names none, no Kubernetes
    ///   Service read is for the host, and no ServiceEntry visible to the client defines it but
    ///   one has a wildcard host that covers it (the longest such): `api.example.com` served by
    ///   `*.example.com` goes to that host's cluster, with that host's rules. With a port, only
    ///   the entries that list it (or list none) count: the sidecar's routes are per port;
    /// - the namespace of its service, when it names none and its host is no
    ///   `NAME.NAMESPACE.svc.cluster.local`: Istio looks for the host's DestinationRule in that
    ///   namespace too. The ServiceEntries visible to the client that define the (service) host
    ///   decide: one of the client's namespace, else the oldest (`creationTimestamp`; none
    ///   counts as oldest, then by namespace), as Istio's sidecar keeps the first of the
    ///   services sorted by creation; with none, it stays unset (`--service-namespace` sets it).
    ///
    /// ```
    /// use sidecar_tuner::istio::MeshConfig;
    /// use sidecar_tuner::istio::load::{LoadOptions, load_str};
    /// use sidecar_tuner::istio::resolve::Destination;
    ///
    /// let yaml = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: api, namespace: egress}\nspec: {hosts: [api.example.com, '*.example.org']}\n";
    /// let loaded = load_str(yaml, &"in.yaml".into(), &LoadOptions::default());
    /// let client = Destination::new("api.example.com").namespace("web");
    /// let completed = loaded.complete(&client, &MeshConfig::default());
    /// assert_eq!(completed.service_namespace.as_deref(), Some("egress"));
    /// assert_eq!(completed.service_host, None); // the host itself
    /// let completed = loaded.complete(&Destination::new("www.example.org"), &MeshConfig::default());
    /// assert_eq!(completed.service_host.as_deref(), Some("*.example.org"));
    /// assert_eq!(completed.service_namespace.as_deref(), Some("egress"));
    /// ```
    pub fn complete(&self, destination: &Destination, mesh: &MeshConfig) -> Destination {
        let mut out = destination.clone();
        let (client, fqdn) = (destination.namespace.as_str(), destination.fqdn());
        if out.service_host.is_none()
            && !self.services.iter().any(|s| s.fqdn(client) == fqdn)
            && let Some(host) = scope::service_entry_wildcard(
                &self.service_entries,
                &fqdn,
                destination.port,
                client,
                mesh,
                client,
            )
        {
            out.service_host = Some(host.to_owned());
        }
        if out.effective_service_namespace().is_none()
            && let Some((_, namespace)) = scope::service_entry(
                &self.service_entries,
                &out.service_fqdn(),
                destination.port,
                client,
                mesh,
                client,
            )
        {
            out.service_namespace = Some(namespace.to_owned());
        }
        if out.protocol.is_none()
            && let Some(port) = out.port
        {
            out.protocol = self.port_protocol(&out, port, mesh);
        }
        out
    }

    /// The protocol Istio derives for `port` of the service behind `destination`'s host: from
    /// the Kubernetes Service that defines the host, else from the ServiceEntry the client's
    /// sidecar picks for it ([`scope::service_entry`]); `None` when neither is in the input or
    /// has the port.
    fn port_protocol(
        &self,
        destination: &Destination,
        port: u32,
        mesh: &MeshConfig,
    ) -> Option<Protocol> {
        let (client, fqdn) = (destination.namespace.as_str(), destination.service_fqdn());
        let ports = match self.services.iter().find(|s| s.fqdn(client) == fqdn) {
            Some(service) => &service.ports,
            None => {
                let entries = &self.service_entries;
                &scope::service_entry(entries, &fqdn, Some(port), client, mesh, client)?
                    .0
                    .ports
            }
        };
        ports
            .iter()
            .find(|p| p.number.value == port)
            .map(|p| p.protocol)
    }

    /// Whether some input could not be read at all (a finding of code ST100).
    pub fn has_unreadable_input(&self) -> bool {
        self.findings.iter().any(|f| f.code == Code::YamlSyntax)
    }

    /// Fails on the first error finding: Istio would reject such input, so nothing is planned
    /// from it.
    ///
    /// # Errors
    /// [`ErrorKind::Input`](crate::ErrorKind::Input) at the first error, with the count of errors.
    pub fn ensure_valid(&self) -> Result<(), Error> {
        let mut errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error);
        match errors.next() {
            None => Ok(()),
            Some(first) => Err(Error::input(
                first.location.to_string(),
                match errors.count() {
                    0 => format!("{}; fix the input before planning", first.message),
                    more => format!(
                        "{} (and {more} more errors); fix the input before planning",
                        first.message
                    ),
                },
                Some(
                    "every finding is in `Loaded::findings` (`sidecar-tuner check` prints them)"
                        .into(),
                ),
            )),
        }
    }

    fn extend(&mut self, other: Loaded) {
        append(&mut self.rules, other.rules);
        if self.mesh.is_none() {
            self.mesh = other.mesh;
        }
        append(&mut self.services, other.services);
        append(&mut self.sidecars, other.sidecars);
        append(&mut self.virtual_services, other.virtual_services);
        append(&mut self.service_entries, other.service_entries);
        append(&mut self.deployments, other.deployments);
        append(&mut self.findings, other.findings);
        append(&mut self.files, other.files);
        self.sources.extend(other.sources);
    }

    fn unreadable(finding: Finding) -> Self {
        Self {
            files: vec![Arc::clone(&finding.location.file)],
            findings: vec![finding],
            ..Self::default()
        }
    }
}

/// Moves `from` to the end of `to`, taking it whole when `to` has no room of its own (the
/// common case of a single input, whose rules would otherwise be copied again).
fn append<T>(to: &mut Vec<T>, mut from: Vec<T>) {
    if to.capacity() == 0 {
        *to = from;
    } else {
        to.append(&mut from);
    }
}

/// Loads every path: a file, a folder (searched recursively for `*.yaml` and `*.yml`), or `-`
/// for standard input.
///
/// # Errors
/// A path that does not exist or cannot be listed, or a folder without YAML files. Problems
/// inside a file (syntax, size, encoding) are findings instead, so that one bad file does not
/// hide the findings of the others.
pub fn load_paths<P: AsRef<Path>>(paths: &[P], options: &LoadOptions) -> Result<Loaded, Error> {
    let mut loaded = Loaded::default();
    for path in paths {
        let path = path.as_ref();
        if path == Path::new("-") {
            loaded.extend(load_reader(std::io::stdin().lock(), "-", options));
            continue;
        }
        let metadata =
            std::fs::metadata(path).map_err(|source| Error::io(path.to_owned(), source))?;
        if metadata.is_dir() {
            let mut files = Vec::new();
            collect_yaml_files(path, &mut files, 0)?;
            if files.is_empty() {
                return Err(Error::input(
                    path.display().to_string(),
                    "folder has no *.yaml or *.yml file",
                    Some("name a file, a folder with YAML files, or `-` for standard input".into()),
                ));
            }
            for file in files {
                loaded.extend(load_file(&file, options)?);
            }
        } else {
            loaded.extend(load_file(path, options)?);
        }
    }
    Ok(loaded)
}

/// Folders are searched at most this deep, and symbolic links to folders are not followed.
const MAX_FOLDER_DEPTH: usize = 32;

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), Error> {
    let io = |source| Error::io(dir.to_owned(), source);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() && depth < MAX_FOLDER_DEPTH {
            collect_yaml_files(&path, out, depth + 1)?;
        } else if !kind.is_dir() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads one file.
///
/// # Errors
/// The file cannot be opened or read.
pub fn load_file(path: &Path, options: &LoadOptions) -> Result<Loaded, Error> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    Ok(match open_input(path, &name, options)? {
        Ok(file) => load_reader(file, &name, options),
        Err(finding) => Loaded::unreadable(finding),
    })
}

/// Loads a stream from a reader (standard input, a file), reading at most the input cap.
pub fn load_reader(reader: impl Read, name: &str, options: &LoadOptions) -> Loaded {
    let name: Arc<str> = Arc::from(name);
    match read_input(reader, &name, options) {
        Ok(bytes) => load_bytes(&bytes, &name, options),
        Err(finding) => Loaded::unreadable(finding),
    }
}

/// Loads a stream held in memory.
pub fn load_bytes(bytes: &[u8], name: &Arc<str>, options: &LoadOptions) -> Loaded {
    match decode(bytes, name, options) {
        Ok(text) => load_str(text, name, options),
        Err(finding) => Loaded::unreadable(finding),
    }
}

/// Opens an input file, refusing one over the cap before reading it.
///
/// # Errors
/// The file cannot be opened. A file over the cap is the `Err` finding inside.
pub(crate) fn open_input(
    path: &Path,
    name: &Arc<str>,
    options: &LoadOptions,
) -> Result<Result<std::fs::File, Finding>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::io(path.to_owned(), source))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(if size > options.max_input_bytes {
        Err(unreadable(
            name,
            Pos::default(),
            too_large(size, options),
            Some(options.raise_cap_help()),
        ))
    } else {
        Ok(file)
    })
}

/// Reads an input whole, never more than the cap.
pub(crate) fn read_input(
    reader: impl Read,
    name: &Arc<str>,
    options: &LoadOptions,
) -> Result<Vec<u8>, Finding> {
    let mut bytes = Vec::new();
    let read = reader
        .take(options.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes);
    match read {
        Err(e) => Err(unreadable(
            name,
            Pos::default(),
            format!("cannot read: {e}"),
            None,
        )),
        Ok(n) if n as u64 > options.max_input_bytes => Err(unreadable(
            name,
            Pos::default(),
            format!(
                "input is larger than the {} cap",
                human_bytes(options.max_input_bytes)
            ),
            Some(options.raise_cap_help()),
        )),
        Ok(_) => Ok(bytes),
    }
}

/// The bytes as text: under the cap, no NUL byte, UTF-8 (a byte-order mark is dropped).
pub(crate) fn decode<'a>(
    bytes: &'a [u8],
    name: &Arc<str>,
    options: &LoadOptions,
) -> Result<&'a str, Finding> {
    if bytes.len() as u64 > options.max_input_bytes {
        return Err(unreadable(
            name,
            Pos::default(),
            too_large(bytes.len() as u64, options),
            Some(options.raise_cap_help()),
        ));
    }
    if let Some(at) = memchr::memchr(0, bytes) {
        return Err(unreadable(
            name,
            pos_of(bytes, at),
            "binary data (a NUL byte), not YAML text".into(),
            None,
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => Err(unreadable(
            name,
            pos_of(bytes, e.valid_up_to()),
            "not UTF-8 text".into(),
            Some("save the file as UTF-8".into()),
        )),
    }
}

/// Loads a YAML stream held as text.
pub fn load_str(text: &str, name: &Arc<str>, options: &LoadOptions) -> Loaded {
    if text.trim().is_empty() {
        return Loaded::unreadable(unreadable(
            name,
            Pos::default(),
            "empty input: no YAML document".into(),
            Some("pass a file with DestinationRules".into()),
        ));
    }
    let cap = usize::try_from(options.max_input_bytes).unwrap_or(usize::MAX);
    // One part per core, `None` while its documents are all empty.
    let per_core = yaml::fold_documents(
        text,
        cap,
        || None,
        |part, document| {
            if let Some(root) = &document.root {
                let part = part.get_or_insert_with(Loaded::default);
                part.findings.extend(document.octal_findings(name));
                object(root, name, part, true);
            }
        },
    );
    match per_core.map(|parts| parts.into_iter().flatten().collect::<Vec<_>>()) {
        Ok(parts) if parts.is_empty() => Loaded::unreadable(unreadable(
            name,
            Pos::default(),
            "no YAML document, only comments or separators".into(),
            Some("pass a file with DestinationRules".into()),
        )),
        Ok(parts) => {
            let mut loaded = Loaded {
                files: vec![Arc::clone(name)],
                ..Loaded::default()
            };
            loaded.sources.insert(name, Arc::from(text));
            for part in parts {
                loaded.extend(part);
            }
            loaded
        }
        Err(e) => {
            let mut loaded = Loaded::unreadable(unreadable(
                name,
                e.pos.unwrap_or_default(),
                e.message,
                e.help,
            ));
            loaded.sources.insert(name, Arc::from(text));
            loaded
        }
    }
}

/// ST111: an object of another kind than the DestinationRule, not validated; `detail` says
/// what is read of it, if anything.
fn skipped(node: &Node, kind: &str, at: Location, detail: &str) -> Finding {
    let name = node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("(unnamed)");
    let message = format!(
        "skipped {kind} `{}`: not a DestinationRule{detail}",
        super::schema::truncate(name)
    );
    Finding::new(Code::NotADestinationRule, at, message)
}

fn object(node: &Node, file: &Arc<str>, out: &mut Loaded, top_level: bool) {
    let at = |pos| Location::new(file, pos);
    let origin = || Origin {
        file: Arc::clone(file),
        pos: node.pos,
    };
    if node.as_map().is_none() {
        let what = if top_level {
            "a YAML document"
        } else {
            "an item of a List"
        };
        let message = format!(
            "{what} must be a Kubernetes object (a mapping), found {}",
            node.value.kind()
        );
        out.findings
            .push(Finding::new(Code::WrongType, at(node.pos), message));
        return;
    }
    match node.get("kind").map(|k| &k.value) {
        Some(Value::Str(kind)) if kind == "DestinationRule" => {
            Validator::new(file, &mut out.findings).destination_rule(node);
            out.rules.extend(DestinationRule::from_node(node, origin()));
        }
        Some(Value::Str(kind)) if kind == "Sidecar" => {
            Validator::new(file, &mut out.findings).sidecar(node);
            out.sidecars.extend(Sidecar::from_node(node, origin()));
        }
        Some(Value::Str(kind)) if kind == "VirtualService" => {
            // Not validated: read for the hosts its routes import into a Sidecar's scope.
            let read = " (read only for the hosts its routes import into a client's Sidecar scope)";
            out.findings.push(skipped(node, kind, at(node.pos), read));
            out.virtual_services
                .extend(VirtualService::from_node(node, origin()));
        }
        Some(Value::Str(kind)) if kind == "ServiceEntry" => {
            let read = " (read only for the namespace, visibility and ports of its hosts)";
            out.findings.push(skipped(node, kind, at(node.pos), read));
            out.service_entries
                .extend(ServiceEntry::from_node(node, origin()));
        }
        Some(Value::Str(kind)) if kind == "Deployment" => {
            out.deployments.extend(Deployment::from_node(
                node,
                Arc::clone(file),
                &mut out.findings,
            ));
        }
        Some(Value::Str(kind)) if kind == "Service" => {
            out.services.extend(Service::from_node(
                node,
                Arc::clone(file),
                &mut out.findings,
            ));
        }
        Some(Value::Str(_)) if mesh::is_mesh_config_map(node) => {
            let namespace = node
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Node::as_str);
            match mesh::from_config_map(node, file, &mut out.findings, &mut out.sources) {
                Some(config) if namespace.is_none_or(|ns| ns == config.root_namespace()) => {
                    out.mesh.get_or_insert(config);
                }
                Some(config) => out.findings.push(
                    Finding::new(
                        Code::NotADestinationRule,
                        at(node.pos),
                        format!(
                            "skipped ConfigMap `istio` in namespace `{}`: the mesh's is in the root namespace `{}`",
                            namespace.map_or_else(String::new, super::schema::truncate),
                            config.root_namespace()
                        ),
                    ),
                ),
                None => {}
            }
        }
        Some(Value::Str(kind))
            if kind == "List" || kind.ends_with("List") && node.get("items").is_some() =>
        {
            match node.get("items").map(|i| &i.value) {
                Some(Value::Seq(items)) => {
                    items.iter().for_each(|item| object(item, file, out, false))
                }
                None => {}
                Some(other) => out.findings.push(Finding::new(
                    Code::WrongType,
                    at(node.get("items").map_or(node.pos, |n| n.pos)),
                    format!("`items` of a List must be a list, found {}", other.kind()),
                )),
            }
        }
        Some(Value::Str(kind)) => out.findings.push(skipped(node, kind, at(node.pos), "")),
        _ => out.findings.push(
            Finding::new(
                Code::MissingField,
                at(node.pos),
                "document has no `kind`, so it is not a Kubernetes object",
            )
            .help("add `apiVersion: networking.istio.io/v1` and `kind: DestinationRule`"),
        ),
    }
}

/// Loads a MeshConfig file (`--mesh`): a MeshConfig YAML, as the `mesh` key of the `istio`
/// ConfigMap holds it, or the ConfigMap itself (`kubectl get cm istio -n istio-system -o yaml`).
///
/// # Errors
/// The file cannot be opened or read. Problems inside it are findings.
pub fn load_mesh_file(path: &Path, options: &LoadOptions) -> Result<Loaded, Error> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let bytes = match open_input(path, &name, options)?.and_then(|f| read_input(f, &name, options))
    {
        Ok(bytes) => bytes,
        Err(finding) => return Ok(Loaded::unreadable(finding)),
    };
    let text = match decode(&bytes, &name, options) {
        Ok(text) => text,
        Err(finding) => return Ok(Loaded::unreadable(finding)),
    };
    let mut loaded = Loaded {
        files: vec![Arc::clone(&name)],
        ..Loaded::default()
    };
    loaded.sources.insert(&name, Arc::from(text));
    let cap = usize::try_from(options.max_input_bytes).unwrap_or(usize::MAX);
    let documents = match yaml::parse_stream(text, cap) {
        Ok(documents) => documents,
        Err(e) => {
            loaded.findings.push(unreadable(
                &name,
                e.pos.unwrap_or_default(),
                e.message,
                e.help,
            ));
            return Ok(loaded);
        }
    };
    for document in documents {
        loaded.findings.extend(document.octal_findings(&name));
        if let Some(root) = document.root {
            mesh_object(&root, &name, &mut loaded);
        }
    }
    if loaded.mesh.is_none() && !loaded.has_unreadable_input() {
        loaded.findings.push(
            Finding::new(
                Code::MissingField,
                Location::new(&name, Pos::default()),
                "no MeshConfig in the file",
            )
            .help("pass a MeshConfig YAML (`rootNamespace: ...`) or the `istio` ConfigMap"),
        );
    }
    Ok(loaded)
}

fn mesh_object(node: &Node, file: &Arc<str>, out: &mut Loaded) {
    match node.get("kind").and_then(Node::as_str) {
        None => {
            let config = MeshConfig::from_node(node, file, &mut out.findings);
            out.mesh.get_or_insert(config);
        }
        Some("ConfigMap") => {
            if let Some(config) =
                mesh::from_config_map(node, file, &mut out.findings, &mut out.sources)
            {
                out.mesh.get_or_insert(config);
            }
        }
        Some("List") => {
            for item in node.items("items") {
                mesh_object(item, file, out);
            }
        }
        Some(kind) => out.findings.push(Finding::new(
            Code::NotADestinationRule,
            Location::new(file, node.pos),
            format!(
                "skipped {}: not a MeshConfig nor the `istio` ConfigMap",
                super::schema::truncate(kind)
            ),
        )),
    }
}

/// An ST100 finding: the input cannot be read as YAML text.
pub(crate) fn unreadable(
    name: &Arc<str>,
    pos: Pos,
    message: String,
    help: Option<String>,
) -> Finding {
    let mut finding = Finding::new(Code::YamlSyntax, Location::new(name, pos), message);
    finding.help = help;
    finding
}

fn too_large(size: u64, options: &LoadOptions) -> String {
    format!(
        "input is {}, larger than the {} cap",
        human_bytes(size),
        human_bytes(options.max_input_bytes)
    )
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{n} bytes")
    }
}

/// The line and column of byte offset `at`.
fn pos_of(bytes: &[u8], at: usize) -> Pos {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    Pos::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "apiVersion: networking.istio.io/v1\n",
        "kind: DestinationRule\n",
        "kind: List\nitems:\n",
        "metadata: {name: a}\n",
        "spec:\n",
        "  host: reviews\n",
        "  trafficPolicy:\n",
        "    connectionPool:\n",
        "      tcp: {maxConnections: 1}\n",
        "      http: {idleTimeout: 1x}\n",
        "  subsets:\n",
        "  - name: v1\n",
        "- ",
        "---\n",
        "&a ",
        "*a\n",
        "<<: *a\n",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "\"",
        "'",
        "|\n",
        "#c\n",
        "\t",
        "%YAML 1.2\n",
        "? ",
        "!!str ",
        "99999999999999999999\n",
        "  ",
        "\n",
        "-1\n",
        "1e999\n",
        "0_17\n",
        "-0777777777777777777777777\n",
        "10.0\n",
        "\"10\"\n",
        "~\n",
        "\u{feff}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever the input, loading ends with findings, never a panic.
        #[test]
        fn loading_never_panics(pieces in proptest::collection::vec(0..PIECES.len(), 0..60)) {
            let text: String = pieces.iter().map(|i| PIECES[*i]).collect();
            let loaded = load_str(&text, &Arc::from("p.yaml"), &LoadOptions::default());
            for f in &loaded.findings {
                prop_assert!(!f.message.is_empty());
            }
        }
    }

    fn load(text: &str) -> Loaded {
        load_str(text, &Arc::from("t.yaml"), &LoadOptions::default())
    }

    #[test]
    fn lists_other_kinds_and_positions() {
        let loaded = load(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.istio.io/v1beta1\n  kind: DestinationRule\n  metadata: {name: r, namespace: prod}\n  spec:\n    host: reviews\n- apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: reviews}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: reviews, namespace: prod}\n  spec:\n    ports: [{port: 9080}, {port: 70000}]\n",
        );
        assert_eq!(loaded.rules.len(), 1);
        let service = &loaded.services[0];
        assert_eq!(
            (service.name.value.as_str(), service.ports.len()),
            ("reviews", 1)
        );
        assert_eq!(service.ports[0].number.value, 9080);
        assert_eq!(loaded.rules[0].host.pos, Pos::new(8, 11));
        assert_eq!(loaded.rules[0].id(), "prod/r");
        let codes: Vec<_> = loaded.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            ["ST111", "ST103"],
            "the VirtualService is skipped, port 70000 is out of range"
        );
        assert_eq!(loaded.findings[0].location.pos, Pos::new(9, 3));
    }

    /// `010` is a limit of 8 in the cluster (go-yaml v2's `resolve.go`, see
    /// `yaml::tests::numbers_are_read_as_kubernetes_reads_them`), and `10.0` the integer 10: the
    /// rule is read so, and the octal one is pointed out; in a MeshConfig of the `istio`
    /// ConfigMap too.
    #[test]
    fn numbers_are_read_as_the_cluster_holds_them() {
        let loaded = load(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 010}\n      http: {http1MaxPendingRequests: 10.0}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    defaultTrafficPolicy:\n      connectionPool: {tcp: {maxConnections: 0100}}\n",
        );
        let pool = loaded.rules[0].traffic_policy.as_ref().unwrap();
        let pool = pool.groups.connection_pool.as_ref().unwrap();
        let tcp = pool.tcp.as_ref().unwrap();
        let http = pool.http.as_ref().unwrap();
        assert_eq!(tcp.max_connections.as_ref().unwrap().value, 8);
        assert_eq!(http.http1_max_pending_requests.as_ref().unwrap().value, 10);
        let found: Vec<_> = loaded
            .findings
            .iter()
            .map(|f| {
                (
                    f.code.as_str(),
                    &*f.location.file,
                    f.location.pos,
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "ST115",
                    "t.yaml",
                    Pos::new(8, 29),
                    "`010` has a leading zero: Kubernetes reads it as octal, 8, not 10"
                ),
                (
                    "ST115",
                    "t.yaml#data.mesh",
                    Pos::new(2, 42),
                    "`0100` has a leading zero: Kubernetes reads it as octal, 64, not 100"
                ),
            ]
        );
        let mesh = loaded.mesh.as_ref().unwrap();
        let tcp = mesh.default_connection_pool.as_ref().unwrap().tcp.as_ref();
        assert_eq!(tcp.unwrap().max_connections.as_ref().unwrap().value, 64);
    }

    /// A quoted number is read as meant only where the schema walk reports it (ST102): a
    /// Service's port or a Deployment's replicas quoted stay errors of their own.
    #[test]
    fn quoted_numbers_outside_the_schema_stay_errors() {
        let loaded = load(
            "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: prod}\nspec:\n  ports: [{port: \"9080\"}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews, namespace: prod}\nspec:\n  replicas: \"3\"\n",
        );
        let found: Vec<_> = loaded
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.location.pos))
            .collect();
        assert_eq!(
            found,
            [("ST103", Pos::new(5, 18)), ("ST103", Pos::new(11, 13))]
        );
        assert!(loaded.services[0].ports.is_empty());
    }

    #[test]
    fn unreadable_inputs_are_findings_with_positions() {
        let name: Arc<str> = Arc::from("b.yaml");
        let opts = LoadOptions::default();
        let nul = load_bytes(b"a: 1\nb: \0", &name, &opts);
        assert_eq!(nul.findings[0].location.pos, Pos::new(2, 4));
        let latin1 = load_bytes(b"a: caf\xe9\n", &name, &opts);
        assert_eq!(latin1.findings[0].message, "not UTF-8 text");
        assert!(load(" \n# nothing\n").has_unreadable_input());
        let small = LoadOptions::default().max_input_bytes(8);
        let big = load_reader(&b"apiVersion: v1\n"[..], "-", &small);
        assert!(
            big.findings[0]
                .message
                .contains("larger than the 8 bytes cap"),
            "{:?}",
            big.findings
        );
    }
}
