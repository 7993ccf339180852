//! The clients of other languages' libraries: a driver program per language (`drivers/`) builds
//! the library's client from a settings file that `plan --emit LIB-yaml` writes, or from the
//! library's defaults, sends the burst, and prints one JSON line this module reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::plan::ClientPlan;
use crate::settings::{Vocabulary, write_file};
use crate::sidecar::{on_path, project_roots};

/// A client of a library in another language, run by its driver program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LibraryClient {
    library: Vocabulary,
    emitted: bool,
}

/// The libraries with a driver: (library, name with the emitted settings, name with the
/// library's defaults).
const DRIVEN: [(Vocabulary, &str, &str); 7] = [
    (Vocabulary::Httpx, "httpx", "httpx-defaults"),
    (Vocabulary::Aiohttp, "aiohttp", "aiohttp-defaults"),
    (Vocabulary::Urllib3, "urllib3", "urllib3-defaults"),
    (Vocabulary::Undici, "undici", "undici-defaults"),
    (Vocabulary::NodeHttp, "node-http", "node-http-defaults"),
    (Vocabulary::OkHttp, "okhttp", "okhttp-defaults"),
    (
        Vocabulary::HttpClient5,
        "httpclient5",
        "httpclient5-defaults",
    ),
];

impl LibraryClient {
    /// The client of `library` with the plan's emitted settings (`emitted`) or with the
    /// library's defaults; `None` for a library without a driver (reqwest and Go have their
    /// own clients here; Reactor Netty and .NET have no driver yet).
    pub fn new(library: Vocabulary, emitted: bool) -> Option<Self> {
        DRIVEN
            .iter()
            .any(|(v, ..)| *v == library)
            .then_some(Self { library, emitted })
    }

    /// Every library client: each library with the emitted settings, then with its defaults.
    pub fn all() -> impl Iterator<Item = Self> {
        [true, false].into_iter().flat_map(|emitted| {
            DRIVEN.iter().map(move |(library, ..)| Self {
                library: *library,
                emitted,
            })
        })
    }

    /// The library.
    pub fn library(self) -> Vocabulary {
        self.library
    }

    /// Whether the client runs with the plan's emitted settings (else the library's defaults).
    pub fn emitted(self) -> bool {
        self.emitted
    }

    /// Whether this client's driver can run here: its runtime, its packages and its program.
    ///
    /// # Errors
    /// What is missing, and that `scripts/setup.sh` installs it.
    pub fn runtime(self) -> Result<(), Error> {
        command(self.library, &project_root()?).map(|_| ())
    }

    /// The name in reports and in `--clients`: `httpx`, `httpx-defaults`, ...
    pub fn as_str(self) -> &'static str {
        DRIVEN.iter().find(|(v, ..)| *v == self.library).map_or(
            "library",
            |(_, emitted, defaults)| {
                if self.emitted { emitted } else { defaults }
            },
        )
    }
}

/// What a driver prints: the latency of each 2xx, in whole microseconds (at least 1), from which
/// the bench reads its quantiles as for its own clients.
#[derive(Debug, Deserialize)]
pub(super) struct DriverReport {
    pub ok_us: Vec<u64>,
    pub overflow: usize,
    pub errors: usize,
    pub elapsed_s: f64,
}

/// The project folder holding `drivers/` (and `.venv`): `SIDECAR_TUNER_DRIVERS`'s parent when
/// set, else the working directory or this crate's source folder, whichever has `drivers/`.
fn project_root() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("SIDECAR_TUNER_DRIVERS") {
        let dir = PathBuf::from(dir);
        return match dir.parent() {
            Some(root) if dir.is_dir() => Ok(root.to_path_buf()),
            _ => Err(Error::sidecar(format!(
                "SIDECAR_TUNER_DRIVERS={} is not a folder",
                dir.display()
            ))),
        };
    }
    project_roots()
        .into_iter()
        .find(|root| root.join("drivers").is_dir())
        .ok_or_else(|| {
            Error::sidecar(
                "no drivers/ folder here or beside the sources; set SIDECAR_TUNER_DRIVERS",
            )
        })
}

/// Debian's jars for the Java driver.
const JARS: [&str; 7] = [
    "okhttp",
    "okio",
    "httpclient5",
    "httpcore5",
    "httpcore5-h2",
    "slf4j-api",
    "slf4j-nop",
];

/// The command that runs the driver of `library`, after checking that its runtime is there.
fn command(library: Vocabulary, root: &Path) -> Result<Command, Error> {
    let missing = |what: String| {
        Error::sidecar(format!(
            "cannot run the {library} driver: {what}; run `scripts/setup.sh`"
        ))
    };
    let drivers = root.join("drivers");
    match library {
        Vocabulary::Httpx | Vocabulary::Aiohttp | Vocabulary::Urllib3 => {
            let python = root.join(".venv/bin/python");
            if !python.is_file() {
                return Err(missing(format!("no {}", python.display())));
            }
            let mut cmd = Command::new(python);
            cmd.arg(drivers.join("python/driver.py"));
            Ok(cmd)
        }
        Vocabulary::Undici | Vocabulary::NodeHttp => {
            let undici = drivers.join("node/node_modules/undici");
            if !undici.is_dir() {
                return Err(missing(format!("no {}", undici.display())));
            }
            if on_path("node").is_none() {
                return Err(missing("no `node` on PATH".into()));
            }
            let mut cmd = Command::new("node");
            cmd.arg(drivers.join("node/driver.mjs"));
            Ok(cmd)
        }
        _ => {
            let jars: Vec<PathBuf> = JARS
                .iter()
                .map(|jar| Path::new("/usr/share/java").join(format!("{jar}.jar")))
                .collect();
            if let Some(jar) = jars.iter().find(|j| !j.is_file()) {
                return Err(missing(format!("no {}", jar.display())));
            }
            let classpath = std::env::join_paths(&jars)
                .map_err(|e| missing(format!("a bad class path: {e}")))?;
            if on_path("java").is_none() {
                return Err(missing("no `java` on PATH".into()));
            }
            let mut cmd = Command::new("java");
            cmd.arg("-cp")
                .arg(classpath)
                .arg(drivers.join("java/Driver.java"));
            Ok(cmd)
        }
    }
}

/// One burst a driver sends.
pub(super) struct Burst {
    pub concurrency: usize,
    pub requests: usize,
    /// Requests sent first with the same client, not counted.
    pub warmup: usize,
    pub time_limit: Duration,
}

/// Runs `client`'s driver against `url`: the emitted settings for `plan` in a temporary file,
/// or none for the library's defaults. After a warm-up the driver waits while `warmed` runs
/// (the bench reads Envoy's counters then). Blocking: run it off the async workers.
///
/// # Errors
/// The runtime or driver is missing, it fails, or it prints something else than its report;
/// or `warmed` fails.
pub(super) fn run_driver(
    client: LibraryClient,
    plan: &ClientPlan,
    url: &str,
    burst: &Burst,
    mut warmed: impl FnMut() -> Result<(), Error>,
) -> Result<DriverReport, Error> {
    let library = client.library;
    let root = project_root()?;
    let mut cmd = command(library, &root)?;
    let failed = |what: String| Error::sidecar(format!("the {library} driver {what}"));
    let settings = if client.emitted {
        let mut file = tempfile::Builder::new()
            .prefix(&format!("sidecar-tuner-{library}-"))
            .suffix(".yaml")
            .tempfile()
            .map_err(|e| failed(format!("has no settings file: {e}")))?;
        write_file(&mut file, library, plan)
            .map_err(|e| failed(format!("has no settings file: {e}")))?;
        Some(file)
    } else {
        None
    };
    cmd.args(["--library", library.as_str(), "--url", url])
        .args(["--requests", &burst.requests.to_string()])
        .args(["--warmup", &burst.warmup.to_string()])
        .args(["--concurrency", &burst.concurrency.to_string()])
        .args(["--time-limit", &burst.time_limit.as_secs_f64().to_string()]);
    if let Some(file) = &settings {
        cmd.arg("--settings").arg(file.path());
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            failed(format!(
                "cannot start ({}): {e}; run `scripts/setup.sh`",
                cmd.get_program().to_string_lossy()
            ))
        })?;
    let mut stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let mut stdin = child.stdin.take();
    let mut last = String::new();
    let mut warm_error = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line == "warm" {
                warm_error = warmed().err();
                if let Some(stdin) = stdin.as_mut() {
                    let _ = writeln!(stdin, "go");
                }
            } else if !line.trim().is_empty() {
                last = line;
            }
        }
    }
    drop(stdin);
    let status = child.wait().map_err(|e| failed(format!("was lost: {e}")))?;
    let stderr = errors.join().unwrap_or_default();
    if let Some(e) = warm_error {
        return Err(e);
    }
    match serde_json::from_str(&last) {
        Ok(report) if status.success() => Ok(report),
        _ => Err(failed(format!(
            "failed ({status}): {}{}",
            stderr.trim(),
            last.trim()
        ))),
    }
}
