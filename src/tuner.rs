//! [`Tuner`]: from a DestinationRule to a ready client, its plan and a report, in one call.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::check;
use crate::client::{self, AlignOptions, AlignedClient};
use crate::diag::Sources;
use crate::error::Error;
use crate::istio::MeshConfig;
use crate::istio::load::{LoadOptions, Loaded, load_file, load_mesh_file, load_reader, load_str};
use crate::istio::resolve::{Destination, MeshIndex};
use crate::plan::{ClientPlan, Plan, PlanOptions, derive};
use crate::report::Report;

/// Builds clients aligned with the sidecar that enforces a DestinationRule.
///
/// Load the rules, name the destination, then [`build`](Tuner::build) an [`AlignedClient`],
/// or take the [`plan`](Tuner::plan), a pre-set [`reqwest_builder`](Tuner::reqwest_builder) or
/// a [`hyper_util_client`](Tuner::hyper_util_client). Setters never fail: a bad value is
/// reported by the method that uses it.
///
/// ```
/// use sidecar_tuner::Tuner;
///
/// let plan = Tuner::from_path("fixtures/circuit-breaker.yaml")?
///     .host("httpbin")
///     .plan()?;
/// assert_eq!(plan.max_in_flight, Some(1)); // maxConnections 1 + http1MaxPendingRequests 1
/// assert_eq!(plan.pool_max_idle_per_host, Some(1));
/// # Ok::<(), sidecar_tuner::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tuner {
    loaded: Loaded,
    mesh_file: Option<PathBuf>,
    host: Option<String>,
    destination: Destination,
    plan_options: PlanOptions,
    align: AlignOptions,
    timeout: Option<Duration>,
    user_agent: Option<String>,
}

/// What [`Tuner::build`] returns.
#[derive(Debug)]
#[non_exhaustive]
pub struct Tuned {
    /// The client, ready to use.
    pub client: AlignedClient,
    /// Findings about the rule and how each setting was derived.
    pub report: Report,
    /// The derived settings.
    pub plan: ClientPlan,
}

impl Tuner {
    /// Loads the DestinationRules in a YAML file (several documents, or a `kind: List`).
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read; [`ErrorKind::Input`](crate::ErrorKind::Input) when it is not valid YAML
    /// or a rule in it is invalid (Istio would reject it).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::new(load_file(path.as_ref(), &LoadOptions::default())?)
    }

    /// Loads DestinationRules from YAML text.
    ///
    /// # Errors
    /// As [`Tuner::from_path`].
    pub fn from_yaml_str(yaml: &str) -> Result<Self, Error> {
        Self::new(load_str(
            yaml,
            &Arc::from("<yaml>"),
            &LoadOptions::default(),
        ))
    }

    /// Loads DestinationRules from a reader (at most 64 MiB).
    ///
    /// # Errors
    /// As [`Tuner::from_path`].
    pub fn from_reader(reader: impl Read) -> Result<Self, Error> {
        Self::new(load_reader(reader, "<reader>", &LoadOptions::default()))
    }

    fn new(loaded: Loaded) -> Result<Self, Error> {
        loaded.ensure_valid()?;
        Ok(Self {
            loaded,
            mesh_file: None,
            host: None,
            destination: Destination::new(""),
            plan_options: PlanOptions::default(),
            align: AlignOptions::default(),
            timeout: None,
            user_agent: None,
        })
    }

    /// The host the client calls, as it names it: a short name (`reviews`) is completed with
    /// the client's namespace, like cluster DNS. Required.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The client's namespace. Default is `"default"`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.destination.namespace = namespace.into();
        self
    }

    /// The client workload's labels, which rules with a `workloadSelector` in its namespace
    /// match. Default: none.
    ///
    /// ```
    /// let yaml = r#"
    /// apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: batch, namespace: web}
    /// spec:
    ///   host: reviews.prod.svc.cluster.local
    ///   workloadSelector: {matchLabels: {app: batch}}
    ///   trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
    /// "#;
    /// let tuner = sidecar_tuner::Tuner::from_yaml_str(yaml)?
    ///     .host("reviews.prod.svc.cluster.local")
    ///     .namespace("web");
    /// assert_eq!(tuner.clone().labels([("app", "batch")]).plan()?.pool_max_idle_per_host, Some(9));
    /// // Not selected: no rule applies, so no limit either.
    /// assert_eq!(tuner.labels([("app", "frontend")]).plan()?.max_in_flight, None);
    /// # Ok::<(), sidecar_tuner::Error>(())
    /// ```
    pub fn labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.destination.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect::<BTreeMap<_, _>>();
        self
    }

    /// The mesh's MeshConfig: a MeshConfig YAML file (the `mesh` key of the `istio` ConfigMap)
    /// or the ConfigMap itself. Its `rootNamespace`, `defaultTrafficPolicy`, `connectTimeout`,
    /// `tcpKeepalive`, `h2UpgradePolicy` and `defaultDestinationRuleExportTo` change what the
    /// sidecar enforces. Default: an `istio` ConfigMap among the loaded objects, else Istio's
    /// default mesh. The file is read when the plan is made.
    pub fn mesh_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.mesh_file = Some(path.into());
        self
    }

    /// The destination port, which selects `portLevelSettings`. Default: none.
    pub fn port(mut self, port: u32) -> Self {
        self.destination.port = Some(port);
        self
    }

    /// The subset the client's traffic is routed to. Default: none.
    pub fn subset(mut self, subset: impl Into<String>) -> Self {
        self.destination.subset = Some(subset.into());
        self
    }

    /// The share of the sidecar's limits the client may use, 0.5 to 1.0. Default is 0.95.
    pub fn headroom(mut self, headroom: f64) -> Self {
        self.plan_options.headroom = headroom;
        self
    }

    /// How many processes of the pod call the destination through the one sidecar, each with a
    /// client like this one: each gets its share of the budget. Default is 1.
    pub fn processes(mut self, processes: u32) -> Self {
        self.plan_options.processes = processes;
        self
    }

    /// How long a request may wait for a slot before it fails with [`ErrorKind::Saturated`](crate::ErrorKind::Saturated).
    /// Default is 30 seconds.
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.align.queue_timeout = timeout;
        self
    }

    /// How often an idempotent request answered `503` + `x-envoy-overloaded` is sent again.
    /// Default is 2; POST and PATCH are never sent again.
    pub fn overload_retries(mut self, retries: u32) -> Self {
        self.align.overload_retries = retries;
        self
    }

    /// Pins the limit at the plan's ceiling instead of adapting it: a static bound, for users
    /// who want one. Default is `false` (adaptive).
    pub fn fixed_limit(mut self, fixed: bool) -> Self {
        self.align.fixed_limit = fixed;
        self
    }

    /// A timeout for each request, from send until the body is read; `None` is no timeout.
    /// Default is `None`. The wait for a slot is bounded separately by `queue_timeout`.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The `User-Agent` header sent with every request. Default: none.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The destination with its host; the host is required.
    fn destination(&self) -> Result<Destination, Error> {
        let host = self.host.as_deref().ok_or_else(|| {
            Error::missing_setting("host", "name the destination with `.host(\"reviews\")`")
        })?;
        Ok(Destination {
            host: host.to_owned(),
            ..self.destination.clone()
        })
    }

    /// The mesh's MeshConfig: the file of [`Tuner::mesh_config`], else an `istio` ConfigMap
    /// among the loaded objects, else Istio's default mesh.
    /// With the text of the MeshConfig file, for the report's snippets.
    fn mesh(&self) -> Result<(MeshConfig, Sources), Error> {
        if let Some(path) = &self.mesh_file {
            let loaded = load_mesh_file(path, &LoadOptions::default())?;
            loaded.ensure_valid()?;
            if let Some(mesh) = loaded.mesh {
                return Ok((mesh, loaded.sources));
            }
        }
        Ok((
            self.loaded.mesh.clone().unwrap_or_default(),
            Sources::default(),
        ))
    }

    /// The plan of the destination, resolved as Istio's control plane would.
    fn derive_plan(&self) -> Result<Plan, Error> {
        let destination = self.destination()?;
        let (mesh, _) = self.mesh()?;
        let index = MeshIndex::new(&self.loaded.rules, &mesh, &destination.namespace);
        let resolution = index.resolve(&self.loaded.complete(&destination, &mesh))?;
        derive(&resolution.policy, &self.plan_options)
    }

    /// The derived client settings, without building a client.
    ///
    /// # Errors
    /// [`ErrorKind::MissingSetting`](crate::ErrorKind::MissingSetting) without a host; [`ErrorKind::NoMatchingRule`](crate::ErrorKind::NoMatchingRule),
    /// [`ErrorKind::UnknownSubset`](crate::ErrorKind::UnknownSubset) when the destination does not resolve; [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting)
    /// when the headroom is out of range, or the host is not a host name or a namespace not a
    /// DNS-1123 label.
    pub fn plan(&self) -> Result<ClientPlan, Error> {
        Ok(self.derive_plan()?.client)
    }

    /// A [`reqwest::ClientBuilder`] with the plan's settings, the timeout and the user agent:
    /// add TLS roots, proxies or default headers, then build. It has no admission: wrap the
    /// client with [`AlignedClient::new`] to bound requests in flight.
    ///
    /// # Errors
    /// As [`Tuner::plan`].
    pub fn reqwest_builder(&self) -> Result<reqwest::ClientBuilder, Error> {
        Ok(self.reqwest_builder_for(&self.plan()?))
    }

    fn reqwest_builder_for(&self, plan: &ClientPlan) -> reqwest::ClientBuilder {
        let mut builder = client::reqwest_builder(plan);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(agent);
        }
        builder
    }

    /// A hyper-util client with the plan's pool, connect timeout and keep-alive (see
    /// [`client::hyper_util_client`]); wrap it in [`AlignLayer`](crate::client::AlignLayer)
    /// to bound requests in flight.
    ///
    /// # Errors
    /// As [`Tuner::plan`].
    pub fn hyper_util_client<B>(&self) -> Result<Client<HttpConnector, B>, Error>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
    {
        Ok(client::hyper_util_client(&self.plan()?))
    }

    /// An [`AlignLayer`](crate::client::AlignLayer) with the plan's limit and this tuner's
    /// admission options, for tower services such as [`Tuner::hyper_util_client`].
    ///
    /// # Errors
    /// As [`Tuner::plan`].
    pub fn align_layer(&self) -> Result<client::AlignLayer, Error> {
        Ok(client::AlignLayer::new(&self.plan()?, self.align.clone()))
    }

    /// Resolves the destination, derives the plan, and builds the [`AlignedClient`] with the
    /// [`Report`] of findings (warnings and notes do not fail the build) and derivations.
    ///
    /// # Errors
    /// As [`Tuner::plan`], and [`ErrorKind::Request`](crate::ErrorKind::Request) when reqwest cannot build its client.
    pub fn build(&self) -> Result<Tuned, Error> {
        let destination = self.destination()?;
        let (mesh, mesh_sources) = self.mesh()?;
        let mut checked = check::run(
            &self.loaded,
            &mesh,
            &destination.namespace,
            std::slice::from_ref(&destination),
            check::AppSettings::default(),
            &self.plan_options,
        )?;
        // A destination no rule is for is a finding for `check`, and an error here.
        let Some(plan) = checked.plans.first().map(|p| p.client.clone()) else {
            return Err(Error::no_matching_rule(
                destination.fqdn(),
                destination.namespace,
            ));
        };
        checked.report.sources.extend(mesh_sources);
        let report = checked.report;
        let http = self
            .reqwest_builder_for(&plan)
            .build()
            .map_err(|e| Error::request("(client builder)", e))?;
        Ok(Tuned {
            client: AlignedClient::new(http, &plan, self.align.clone()),
            report,
            plan,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn reviews() -> Tuner {
        Tuner::from_path("fixtures/reviews.yaml")
            .unwrap()
            .host("reviews")
            .namespace("bookinfo")
    }

    #[test]
    fn the_report_says_what_each_setting_came_from() {
        let tuned = reviews().build().unwrap();
        let in_flight = tuned
            .report
            .derivations
            .iter()
            .find(|d| d.setting == "max_in_flight")
            .unwrap();
        assert_eq!(
            in_flight.explanation,
            "104 = max(1, floor(0.95 x min(100 + 10, 1000)))"
        );
        let lines: Vec<String> = in_flight.sources.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "fixtures/reviews.yaml:13:25",
                "fixtures/reviews.yaml:20:34",
                "fixtures/reviews.yaml:21:27"
            ]
        );
        let text = tuned.report.to_string();
        assert!(
            text.contains("note: max_in_flight 104 = max(1, floor(0.95 x min(100 + 10, 1000))) (from fixtures/reviews.yaml:13:25,"),
            "{text}"
        );
        assert!(
            tuned
                .report
                .findings
                .iter()
                .any(|f| f.code == crate::Code::PolicyDropsLimit),
            "the check module's lints are in the report"
        );
    }

    #[test]
    fn subset_and_port_select_their_policies() {
        assert_eq!(reviews().port(9443).plan().unwrap().max_in_flight, Some(23));
        let v2 = reviews().subset("v2").plan().unwrap();
        assert_ne!(v2, reviews().plan().unwrap());
        let err = reviews().subset("v9").plan().unwrap_err();
        assert!(err.kind() == ErrorKind::UnknownSubset, "{err}");
    }

    #[test]
    fn setters_never_fail_and_build_names_what_to_fix() {
        let err = Tuner::from_path("fixtures/reviews.yaml")
            .unwrap()
            .build()
            .unwrap_err();
        assert_eq!(err.to_string(), "no host set");
        assert!(err.help().unwrap().contains(".host("));
        let err = reviews().headroom(1.3).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "headroom 1.3 is outside its range (0.5 to 1.0)"
        );
        let err = reviews().host("ratings").build().unwrap_err();
        assert!(err.kind() == ErrorKind::NoMatchingRule, "{err}");
    }

    #[test]
    fn invalid_input_fails_with_its_position() {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnection: 5}\n";
        let err = Tuner::from_yaml_str(yaml).unwrap_err();
        assert!(err.is_input());
        let text = err.to_string();
        assert!(text.starts_with("<yaml>:8:13: "), "{text}");
        assert!(text.contains("maxConnection"), "{text}");
        let err = Tuner::from_reader(&b"\0\x01"[..]).unwrap_err();
        assert!(err.to_string().starts_with("<reader>"), "{err}");
        let err = Tuner::from_path("fixtures/does-not-exist.yaml").unwrap_err();
        assert!(err.kind() == ErrorKind::Io, "{err}");
    }
}
