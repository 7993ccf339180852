//! Istio's own validation tables (istio/istio 86c9f01fd735), translated case by case into
//! DestinationRules and run through the loader's validation: a case Istio accepts must yield
//! no error, a case it rejects must yield an error of the expected code, and a case where Istio
//! warns must yield a warning. Each case names its Istio test and case; the expected outcome is
//! the table's (`valid`, `err`, `warn`, `wantErr`), never this tool's output.
//!
//! Tables: `pkg/config/validation/validation_test.go` (`TestValidateDestinationRule`,
//! `TestValidateTrafficPolicy`, `TestValidateConnectionPool`, `TestValidateLoadBalancer`,
//! `TestValidateOutlierDetection`, `Test_validateExportTo`) and
//! `pkg/config/validation/agent/validation_test.go` (`TestValidateTLS`,
//! `TestValidateLocalityLbSetting`, `TestValidateZoneAwareLbSetting`, `TestValidateLocalities`,
//! `TestValidateWildcardDomain`), and the egress cases of `TestValidateSidecar`. Cases that concern ServiceEntries only (`~` in exportTo for a
//! ServiceEntry) have no DestinationRule counterpart and are left out.

mod common;

use std::sync::Arc;

use sidecar_tuner::diag::{Code, Finding, Severity};
use sidecar_tuner::istio::load::{LoadOptions, load_str};

/// What Istio's table expects.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Accepted, with no warning.
    Valid,
    /// Accepted, with a warning of this code.
    Warns(Code),
    /// Rejected: an error of this code.
    Error(Code),
}

use Expect::{Error, Valid, Warns};

/// One translated case: the Istio test and case name, the rule's namespace (Istio's
/// `configNamespace`) and its `spec`.
struct Case {
    istio: &'static str,
    namespace: &'static str,
    spec: String,
    expect: Expect,
    /// The spec is a Sidecar's, not a DestinationRule's.
    sidecar: bool,
}

fn case(istio: &'static str, spec: impl Into<String>, expect: Expect) -> Case {
    in_namespace(istio, "default", spec, expect)
}

fn in_namespace(
    istio: &'static str,
    namespace: &'static str,
    spec: impl Into<String>,
    expect: Expect,
) -> Case {
    Case {
        istio,
        namespace,
        spec: spec.into(),
        expect,
        sidecar: false,
    }
}

/// A case of `TestValidateSidecar`, whose Sidecar is `bar/foo`.
fn sidecar_case(istio: &'static str, spec: &str, expect: Expect) -> Case {
    Case {
        sidecar: true,
        ..in_namespace(istio, "bar", spec, expect)
    }
}

fn findings(case: &Case) -> Vec<Finding> {
    let yaml = if case.sidecar {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: foo, namespace: {}}}\nspec:\n{}",
            case.namespace, case.spec
        )
    } else {
        common::rule_yaml("some-name", case.namespace, &case.spec)
    };
    let name: Arc<str> = Arc::from("case.yaml");
    load_str(&yaml, &name, &LoadOptions::default()).findings
}

fn run(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let found = findings(case);
        let errors: Vec<&Finding> = found
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let warnings: Vec<&Finding> = found
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .collect();
        let ok = match case.expect {
            Valid => errors.is_empty() && warnings.is_empty(),
            Warns(code) => errors.is_empty() && warnings.iter().any(|f| f.code == code),
            Error(code) => errors.iter().any(|f| f.code == code),
        };
        if !ok {
            let got: Vec<String> = found
                .iter()
                .map(|f| format!("{} {} {}", f.code, f.severity, f.message))
                .collect();
            failures.push(format!(
                "{}: expected {:?}, got {got:#?}",
                case.istio, case.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with Istio:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn test_validate_destination_rule() {
    run(&[
        case(
            "TestValidateDestinationRule/simple destination rule",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {version: v1}\n- name: v2\n  labels: {version: v2}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/simple destination rule with empty selector labels",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {version: v1}\n- name: v2\n  labels: {version: v2}\nworkloadSelector: {}\n",
            Warns(Code::InvalidSelector),
        ),
        case(
            "TestValidateDestinationRule/missing destination name",
            "host: \"\"\nsubsets:\n- name: v1\n  labels: {version: v1}\n",
            Error(Code::InvalidHost),
        ),
        case(
            "TestValidateDestinationRule/missing subset name",
            "host: reviews\nsubsets:\n- name: \"\"\n  labels: {version: v1}\n- name: v2\n  labels: {version: v2}\n",
            Error(Code::InvalidSelector),
        ),
        case(
            "TestValidateDestinationRule/duplicate subset names",
            "host: reviews\nsubsets:\n- name: foo\n  labels: {version: v1}\n- name: foo\n  labels: {version: v2}\n",
            Error(Code::DuplicateSubset),
        ),
        case(
            "TestValidateDestinationRule/valid traffic policy, top level",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool:\n    tcp: {maxConnections: 7}\n    http: {http2MaxRequests: 11}\n  outlierDetection: {minHealthPercent: 20}\nsubsets:\n- name: v1\n  labels: {version: v1}\n- name: v2\n  labels: {version: v2}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/invalid traffic policy, top level",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool: {}\n  outlierDetection: {minHealthPercent: 20}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "TestValidateDestinationRule/valid traffic policy, subset level",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {version: v1}\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool:\n      tcp: {maxConnections: 7}\n      http: {http2MaxRequests: 11}\n    outlierDetection: {minHealthPercent: 20}\n- name: v2\n  labels: {version: v2}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/invalid traffic policy, subset level",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {version: v1}\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool: {}\n    outlierDetection: {minHealthPercent: 20}\n- name: v2\n  labels: {version: v2}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "TestValidateDestinationRule/valid traffic policy, both levels",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool:\n    tcp: {maxConnections: 7}\n    http: {http2MaxRequests: 11}\n  outlierDetection: {minHealthPercent: 20}\nsubsets:\n- name: v1\n  labels: {version: v1}\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool:\n      tcp: {maxConnections: 7}\n      http: {http2MaxRequests: 11}\n    outlierDetection: {minHealthPercent: 30}\n- name: v2\n  labels: {version: v2}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is not specified with tls mode simple, and the ca cert is specified by CaCertificates",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, caCertificates: test, subjectAltNames: [reviews.default.svc]}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is not specified with tls mode simple, and the ca cert is specified by CredentialName",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: test, subjectAltNames: [reviews.default.svc]}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set false with tls mode simple, and the ca cert is specified by CaCertificates",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, caCertificates: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set false with tls mode simple, and the ca cert is specified by CredentialName",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode simple, and the ca cert is specified by CaCertificates",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: test, insecureSkipVerify: true}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode simple, and the ca cert is specified by CredentialName",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, caCertificates: test, insecureSkipVerify: true}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode simple, and the san is specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, subjectAltNames: [reviews.default.svc], insecureSkipVerify: true}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is not specified with tls mode mutual, and the ca cert is specified by CaCertificates",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc]}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is not specified with tls mode mutual, and the ca cert is specified by CredentialName",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: test, subjectAltNames: [reviews.default.svc]}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set false with tls mode mutual, and the ca cert is specified by CaCertificates",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set false with tls mode mutual, and the ca cert is specified by CredentialName",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode mutual, and the ca cert is specified by CaCertificates (first)",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, insecureSkipVerify: true}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode mutual, and the ca cert is specified by CaCertificates (second: CredentialName)",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: test, insecureSkipVerify: true}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode mutual, and the ca cert is not specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, privateKey: key, clientCertificate: cert, insecureSkipVerify: true}\n",
            Valid,
        ),
        case(
            "TestValidateDestinationRule/InsecureSkipVerify is set true with tls mode mutual, and the san is specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc], insecureSkipVerify: true}\n",
            Error(Code::ConflictingFields),
        ),
    ]);
}

#[test]
fn test_validate_traffic_policy() {
    run(&[
        case(
            "TestValidateTrafficPolicy/valid traffic policy",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool:\n    tcp: {maxConnections: 7}\n    http: {http2MaxRequests: 11}\n  outlierDetection: {minHealthPercent: 20}\n",
            Valid,
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, nil entries",
            "host: reviews\ntrafficPolicy: {}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, missing port in port level settings",
            "host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool:\n      tcp: {maxConnections: 7}\n      http: {http2MaxRequests: 11}\n    outlierDetection: {minHealthPercent: 20}\n",
            Error(Code::MissingField),
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, bad connection pool",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool: {}\n  outlierDetection: {minHealthPercent: 20}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, bad max connection duration",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool:\n    tcp: {maxConnectionDuration: 500ns}\n",
            Error(Code::InvalidDuration),
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, panic threshold too low",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n  connectionPool:\n    tcp: {maxConnections: 7}\n    http: {http2MaxRequests: 11}\n  outlierDetection: {minHealthPercent: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateTrafficPolicy/invalid traffic policy, both upgrade and use client protocol set",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}\n",
            Error(Code::ConflictingFields),
        ),
    ]);
}

/// `TestValidateConnectionPool` calls `validateConnectionPool` on the pool alone; here each
/// pool is a rule's only `connectionPool`.
#[test]
fn test_validate_connection_pool() {
    run(&[
        case(
            "TestValidateConnectionPool/valid connection pool, tcp and http",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: 7, connectTimeout: 2s}\n    http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, idleTimeout: 30s, maxConcurrentStreams: 5}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/valid connection pool, tcp only",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: 7, connectTimeout: 2s}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/valid connection pool, http only",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, idleTimeout: 30s, maxConcurrentStreams: 5}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/valid connection pool, http only with empty idle timeout",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, maxConcurrentStreams: 5}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/valid connection pool, http2 keepalive",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http:\n      http2KeepAlive: {interval: 15s, timeout: 5s}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, empty",
            "host: reviews\ntrafficPolicy:\n  connectionPool: {}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max connections",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad connect timeout",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {connectTimeout: 2.000000005s}\n",
            Error(Code::InvalidDuration),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max pending requests",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {http1MaxPendingRequests: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max requests",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {http2MaxRequests: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max requests per connection",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {maxRequestsPerConnection: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max retries",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {maxRetries: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad idle timeout",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {idleTimeout: 30.000000005s}\n",
            Error(Code::InvalidDuration),
        ),
        case(
            "TestValidateConnectionPool/valid connection pool, tcp timeout disabled",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {idleTimeout: 0s}\n",
            Valid,
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad max concurrent streams",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http: {maxConcurrentStreams: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, http2 keepalive without interval",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http:\n      http2KeepAlive: {timeout: 5s}\n",
            Error(Code::MissingField),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, http2 keepalive without timeout",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http:\n      http2KeepAlive: {interval: 15s}\n",
            Error(Code::MissingField),
        ),
        case(
            "TestValidateConnectionPool/invalid connection pool, bad http2 keepalive interval",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    http:\n      http2KeepAlive: {interval: 15.000000005s, timeout: 5s}\n",
            Error(Code::InvalidDuration),
        ),
        // `validateConnectionPool` checks `tcp.idleTimeout` like any duration unless it is 0s;
        // the schema has no rule for it (no Istio table case; from the function's code).
        case(
            "validateConnectionPool: tcp idle timeout finer than a millisecond",
            "host: reviews\ntrafficPolicy:\n  connectionPool:\n    tcp: {idleTimeout: 1.5ms}\n",
            Error(Code::InvalidDuration),
        ),
    ]);
}

/// `TestValidateLoadBalancer` calls `validateLoadBalancer(in, nil)`: no outlier detection.
#[test]
fn test_validate_load_balancer() {
    run(&[
        case(
            "TestValidateLoadBalancer/valid load balancer with simple load balancing",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n",
            Valid,
        ),
        case(
            "TestValidateLoadBalancer/valid load balancer with consistentHash load balancing",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      minimumRingSize: 1024\n      httpCookie: {name: test, ttl: 3600s}\n",
            // Valid, with Istio's deprecation warning for `minimumRingSize`.
            Warns(Code::DeprecatedField),
        ),
        case(
            "TestValidateLoadBalancer/invalid load balancer with consistentHash load balancing, missing name",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      minimumRingSize: 1024\n      httpCookie: {ttl: 3600s}\n",
            Error(Code::MissingField),
        ),
        case(
            "validateLoadBalancer: httpCookie name empty (name required for HttpCookie)",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      httpCookie: {name: \"\", ttl: 3600s}\n",
            Error(Code::MissingField),
        ),
        case(
            "TestValidateLoadBalancer/invalid load balancer with consistentHash load balancing, maglev not prime",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      useSourceIp: true\n      maglev: {tableSize: 1000}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateLoadBalancer/valid load balancer with consistentHash load balancing and unique cookie attributes",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      httpCookie:\n        name: test-cookie\n        ttl: 3600s\n        attributes:\n        - {name: SameSite, value: Strict}\n        - {name: Secure, value: \"true\"}\n        - {name: HttpOnly, value: \"true\"}\n",
            Valid,
        ),
        case(
            "TestValidateLoadBalancer/invalid load balancer with consistentHash load balancing and duplicate cookie attribute names",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      httpCookie:\n        name: test-cookie\n        ttl: 3600s\n        attributes:\n        - {name: SameSite, value: Strict}\n        - {name: SameSite, value: Lax}\n        - {name: Secure, value: \"true\"}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLoadBalancer/invalid load balancer with consistentHash load balancing and empty cookie attribute name",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      httpCookie:\n        name: test-cookie\n        ttl: 3600s\n        attributes:\n        - {name: SameSite, value: Strict}\n        - {name: \"\", value: some-value}\n        - {name: Secure, value: \"true\"}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLoadBalancer/invalid: localityLbSetting and zoneAwareLbSetting both set",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting: {}\n    zoneAwareLbSetting: {}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateLoadBalancer/valid: zoneAwareLbSetting only",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: us-east, to: eu-west}\n",
            // Valid; without outlier detection Istio adds its failover warning.
            Warns(Code::InvalidLoadBalancer),
        ),
        // From `validateLoadBalancer`'s code (no table case): warmup bounds.
        case(
            "validateLoadBalancer: warmup aggression 0",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: ROUND_ROBIN\n    warmup: {duration: 60s, aggression: 0}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "validateLoadBalancer: warmup aggression negative",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: ROUND_ROBIN\n    warmup: {duration: 60s, aggression: -1.5}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "validateLoadBalancer: warmup minimumPercent above 100",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: ROUND_ROBIN\n    warmup: {duration: 60s, minimumPercent: 101}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "validateLoadBalancer: warmup without duration",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: ROUND_ROBIN\n    warmup: {aggression: 2}\n",
            Error(Code::MissingField),
        ),
        case(
            "validateLoadBalancer: warmup set in full",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: LEAST_REQUEST\n    warmup: {duration: 60s, aggression: 2, minimumPercent: 20}\n",
            Valid,
        ),
        case(
            "validateLoadBalancer: maglev table size 0",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      useSourceIp: true\n      maglev: {tableSize: 0}\n",
            Error(Code::MissingField),
        ),
        case(
            "validateLoadBalancer: maglev table size 5000011",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      useSourceIp: true\n      maglev: {tableSize: 5000011}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "validateLoadBalancer: minimumRingSize with ringHash",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      useSourceIp: true\n      minimumRingSize: 1024\n      ringHash: {minimumRingSize: 1024}\n",
            Error(Code::ConflictingFields),
        ),
    ]);
}

#[test]
fn test_validate_outlier_detection() {
    run(&[
        case(
            "TestValidateOutlierDetection/valid outlier detection",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {interval: 2s, baseEjectionTime: 2s, maxEjectionPercent: 50}\n",
            Valid,
        ),
        case(
            "TestValidateOutlierDetection/invalid outlier detection, bad interval",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {interval: 2.000000005s}\n",
            Error(Code::InvalidDuration),
        ),
        case(
            "TestValidateOutlierDetection/invalid outlier detection, bad base ejection time",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {baseEjectionTime: 2.000000005s}\n",
            Error(Code::InvalidDuration),
        ),
        case(
            "TestValidateOutlierDetection/invalid outlier detection, bad max ejection percent",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {maxEjectionPercent: 105}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateOutlierDetection/invalid outlier detection, panic threshold too low",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {minHealthPercent: -1}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateOutlierDetection/invalid outlier detection, panic threshold too high",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {minHealthPercent: 101}\n",
            Error(Code::OutOfRange),
        ),
        case(
            "TestValidateOutlierDetection/deprecated outlier detection, ConsecutiveErrors",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutiveErrors: 101}\n",
            Warns(Code::DeprecatedField),
        ),
        case(
            "TestValidateOutlierDetection/consecutive local origin errors is set but split local origin errors is not set",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutiveLocalOriginFailures: 10}\n",
            Error(Code::ConflictingFields),
        ),
    ]);
}

/// `agent.ValidateTLS("", tls)`: each TLS block as a rule's only `tls`.
#[test]
fn test_validate_tls() {
    run(&[
        case(
            "TestValidateTLS/SIMPLE: Credential Name set correctly",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: some credential, clientCertificate: \"\", privateKey: \"\", caCertificates: \"\"}\n",
            Valid,
        ),
        case(
            "TestValidateTLS/SIMPLE CredentialName set with ClientCertificate specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: credential, clientCertificate: cert, privateKey: \"\", caCertificates: \"\"}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/SIMPLE: CredentialName set with PrivateKey specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: credential, clientCertificate: \"\", privateKey: key, caCertificates: \"\"}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/SIMPLE: CredentialName set with CACertficiates specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: credential, clientCertificate: \"\", privateKey: \"\", caCertificates: ca}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/MUTUAL: Credential Name set correctly",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: some credential, clientCertificate: \"\", privateKey: \"\", caCertificates: \"\"}\n",
            Valid,
        ),
        case(
            "TestValidateTLS/MUTUAL CredentialName set with ClientCertificate specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: credential, clientCertificate: cert, privateKey: \"\", caCertificates: \"\"}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName set with PrivateKey specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: credential, clientCertificate: \"\", privateKey: key, caCertificates: \"\"}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName set with CACertficiates specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: credential, clientCertificate: \"\", privateKey: \"\", caCertificates: ca}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName set with CACRL specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: credential, clientCertificate: \"\", privateKey: \"\", caCrl: ca}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName not set with ClientCertificate and Key specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: cert, privateKey: key}\n",
            Valid,
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName not set with ClientCertificate specified and Key missing",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: cert, privateKey: \"\"}\n",
            Error(Code::MissingField),
        ),
        case(
            "TestValidateTLS/MUTUAL: CredentialName not set with ClientCertificate missing and Key specified",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: \"\", privateKey: key}\n",
            Error(Code::MissingField),
        ),
        // From `ValidateTLS`'s code (no table case): `configmap://` credentials.
        in_namespace(
            "ValidateTLS: configmap credential in the rule's namespace",
            "prod",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://prod/ca\"}\n",
            Valid,
        ),
        in_namespace(
            "ValidateTLS: configmap credential from another namespace",
            "prod",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://other/ca\"}\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "ValidateTLS: configmap credential without a namespace",
            "prod",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://ca\"}\n",
            Error(Code::InvalidSelector),
        ),
        case(
            "ValidateTLS: SIMPLE with credentialName and caCrl",
            "host: reviews\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: credential, caCrl: crl}\n",
            Error(Code::ConflictingFields),
        ),
    ]);
}

/// `agent.ValidateLocalityLbSetting(in, outlier)`: an outlier of `&OutlierDetection{}` is
/// `outlierDetection: {}` in the same policy, `nil` is none.
#[test]
fn test_validate_locality_lb_setting() {
    run(&[
        case(
            "TestValidateLocalityLbSetting/valid mesh config without LocalityLoadBalancerSetting",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n",
            Valid,
        ),
        case(
            "TestValidateLocalityLbSetting/invalid LocalityLoadBalancerSetting_Distribute total weight > 100",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - from: a/b/c\n        to: {a/b/c: 80, a/b1: 25}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid LocalityLoadBalancerSetting_Distribute total weight < 100",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - from: a/b/c\n        to: {a/b/c: 80, a/b1: 15}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid LocalityLoadBalancerSetting_Distribute weight = 0",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - from: a/b/c\n        to: {a/b/c: 0, a/b1: 100}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid LocalityLoadBalancerSetting specify both distribute and failover",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - from: a/b/c\n        to: {a/b/c: 80, a/b1: 20}\n      failover:\n      - {from: region1, to: region2}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid failover src and dst have same region",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: region1, to: region1}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid failover src contain '*' wildcard",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: \"*\", to: region2}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid failover dst contain '*' wildcard",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: region1, to: \"*\"}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid failover src contain '/' separator",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: region1/zone1, to: region2}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid failover dst contain '/' separator",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: region1, to: region2/zone1}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/failover priority provided without outlier detection policy",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      failoverPriority:\n      - topology.istio.io/network\n      - topology.kubernetes.io/region\n      - topology.kubernetes.io/zone\n      - topology.istio.io/subzone\n",
            Warns(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/failover provided without outlier detection policy",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: us-east, to: eu-west}\n      - {from: us-west, to: eu-east}\n",
            Warns(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalityLbSetting/invalid LocalityLoadBalancerSetting specify both failoverPriority and region in failover",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failover:\n      - {from: region1, to: region2}\n      failoverPriority: [topology.kubernetes.io/region]\n",
            Error(Code::InvalidLoadBalancer),
        ),
        // A valid distribution (the locality-weighted example of Istio's docs): stays valid.
        case(
            "ValidateLocalityLbSetting: distribute summing to 100",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - from: us-west/zone1/*\n        to: {\"us-west/zone1/*\": 80, \"us-west/zone2/*\": 20}\n",
            Valid,
        ),
    ]);
}

#[test]
fn test_validate_zone_aware_lb_setting() {
    run(&[
        case(
            "TestValidateZoneAwareLbSetting/nil setting is valid",
            "host: reviews\ntrafficPolicy:\n  loadBalancer: {simple: ROUND_ROBIN}\n",
            Valid,
        ),
        case(
            "TestValidateZoneAwareLbSetting/enabled only is valid",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting: {enabled: true}\n",
            Valid,
        ),
        case(
            "TestValidateZoneAwareLbSetting/valid region-level failover",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: us-east, to: eu-west}\n",
            Valid,
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover same src and dst region",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: region1, to: region1}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover src has '/' (zone scope) is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: region1/zone1, to: region2}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover dst has '/' (zone scope) is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: region1, to: region2/zone1}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover src has '*' wildcard is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: \"*\", to: region2}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover dst has '*' wildcard is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: region1, to: \"*\"}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover and failoverPriority both set with topology region",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: region1, to: region2}\n      failoverPriority: [topology.kubernetes.io/region]\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failoverPriority with region label is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failoverPriority: [topology.kubernetes.io/region]\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failoverPriority with zone label is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failoverPriority: [topology.kubernetes.io/zone]\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failoverPriority with subzone label is rejected",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failoverPriority: [topology.istio.io/subzone]\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failoverPriority with non-topology labels is valid",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    zoneAwareLbSetting:\n      failoverPriority: [version, app=ratings]\n",
            Valid,
        ),
        case(
            "TestValidateZoneAwareLbSetting/failover without outlier detection warns",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover:\n      - {from: us-east, to: eu-west}\n",
            Warns(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateZoneAwareLbSetting/failoverPriority without outlier detection warns",
            "host: reviews\ntrafficPolicy:\n  loadBalancer:\n    zoneAwareLbSetting:\n      failoverPriority: [version]\n",
            Warns(Code::InvalidLoadBalancer),
        ),
    ]);
}

/// `agent.validateLocalities` runs on the `from` localities of `distribute`; each case's
/// localities are the `from`s of entries that distribute to one valid target.
#[test]
fn test_validate_localities() {
    run(&[
        case(
            "TestValidateLocalities/multi wildcard locality",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: \"*/zone/*\", to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/wildcard not in suffix",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: \"*/zone\", to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/explicit wildcard region overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: \"*\", to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/implicit wildcard region overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a, to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/explicit wildcard zone overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a/*, to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/implicit wildcard zone overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a/b, to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/explicit wildcard subzone overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a/b/*, to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/implicit wildcard subzone overlap",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a/b, to: {t/t: 100}}\n      - {from: a/b/c, to: {t/t: 100}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
        case(
            "TestValidateLocalities/valid localities",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a1/*, to: {t/t: 100}}\n      - {from: a2/*, to: {t/t: 100}}\n      - {from: a3/b3/c3, to: {t/t: 100}}\n      - {from: a4/b4, to: {t/t: 100}}\n      - {from: a5/b5/*, to: {t/t: 100}}\n",
            Valid,
        ),
        // The same check on the targets of one entry (`validateLocalities(destLocalities)`).
        case(
            "ValidateLocalityLbSetting: overlapping targets",
            "host: reviews\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n      - {from: a/*, to: {a/b: 50, a/b/c: 50}}\n",
            Error(Code::InvalidLoadBalancer),
        ),
    ]);
}

/// `Test_validateExportTo` with namespace `ns5`, DestinationRule cases (the ServiceEntry-only
/// `~` cases have no counterpart).
#[test]
fn test_validate_export_to() {
    run(&[
        in_namespace(
            "Test_validateExportTo/empty exportTo is okay",
            "ns5",
            "host: reviews\n",
            Valid,
        ),
        in_namespace(
            "Test_validateExportTo/* is allowed",
            "ns5",
            "host: reviews\nexportTo: [\"*\"]\n",
            Valid,
        ),
        in_namespace(
            "Test_validateExportTo/. and ns1 are allowed",
            "ns5",
            "host: reviews\nexportTo: [\".\", ns1]\n",
            Valid,
        ),
        in_namespace(
            "Test_validateExportTo/bunch of namespaces in exportTo is okay",
            "ns5",
            "host: reviews\nexportTo: [ns1, ns2, ns5]\n",
            Valid,
        ),
        in_namespace(
            "Test_validateExportTo/~ not allowed for non service entry configs",
            "ns5",
            "host: reviews\nexportTo: [\"~\", ns1]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/. and * together are not allowed",
            "ns5",
            "host: reviews\nexportTo: [\".\", \"*\"]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/* and ns1 together are not allowed",
            "ns5",
            "host: reviews\nexportTo: [\"*\", ns1]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/. and same namespace in exportTo is not okay",
            "ns5",
            "host: reviews\nexportTo: [\".\", ns5]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/duplicate namespaces in exportTo is not okay",
            "ns5",
            "host: reviews\nexportTo: [ns1, ns2, ns1]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/invalid namespace names are not okay",
            "ns5",
            "host: reviews\nexportTo: [ns1_]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/destination rule with workloadselector cannot have exportTo (*)",
            "ns5",
            "host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [\"*\"]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/destination rule with workloadselector can have only exportTo (.)",
            "ns5",
            "host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [\".\"]\n",
            Valid,
        ),
        in_namespace(
            "Test_validateExportTo/destination rule with workloadselector cannot have another ns in exportTo (.)",
            "ns5",
            "host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [somens]\n",
            Error(Code::InvalidSelector),
        ),
        in_namespace(
            "Test_validateExportTo/destination rule with workloadselector cannot have another ns in addition to own ns in exportTo (.)",
            "ns5",
            "host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [\".\", somens]\n",
            Error(Code::InvalidSelector),
        ),
        // From `validateExportTo`'s code: the own namespace's name stands for `.` (issue 14).
        in_namespace(
            "validateExportTo: selector rule exported to its own namespace by name",
            "ns5",
            "host: reviews\nworkloadSelector: {matchLabels: {app: a}}\nexportTo: [ns5]\n",
            Valid,
        ),
    ]);
}

/// `agent.ValidateWildcardDomain` on `spec.host`.
#[test]
fn test_validate_wildcard_domain() {
    let long = format!("host: {}\n", "x".repeat(256));
    let happy = format!("host: {}\n", "x".repeat(63));
    run(&[
        case(
            "TestValidateWildcardDomain/empty",
            "host: \"\"\n",
            Error(Code::InvalidHost),
        ),
        case(
            "TestValidateWildcardDomain/too long",
            long,
            Error(Code::InvalidHost),
        ),
        case("TestValidateWildcardDomain/happy", happy, Valid),
        case(
            "TestValidateWildcardDomain/wildcard",
            "host: \"*\"\n",
            Valid,
        ),
        case(
            "TestValidateWildcardDomain/wildcard multi-segment",
            "host: \"*.bar.com\"\n",
            Valid,
        ),
        case(
            "TestValidateWildcardDomain/wildcard single segment",
            "host: \"*foo\"\n",
            Valid,
        ),
        case(
            "TestValidateWildcardDomain/wildcard prefix",
            "host: \"*foo.bar.com\"\n",
            Valid,
        ),
        case(
            "TestValidateWildcardDomain/wildcard prefix dash",
            "host: \"*-foo.bar.com\"\n",
            Valid,
        ),
        case(
            "TestValidateWildcardDomain/bad wildcard",
            "host: foo.*.com\n",
            Error(Code::InvalidHost),
        ),
        case(
            "TestValidateWildcardDomain/bad wildcard (2)",
            "host: \"foo*.bar.com\"\n",
            Error(Code::InvalidHost),
        ),
        case(
            "TestValidateWildcardDomain/IP address",
            "host: 1.1.1.1\n",
            Error(Code::InvalidHost),
        ),
    ]);
}

/// Checks of `ValidateDestinationRule` and the functions it reaches that Istio's tables do not
/// exercise, each expected from the function's code (named in the case).
/// validation_test.go `TestValidateSidecar`: its cases on egress listeners and their hosts
/// (`ValidateSidecar`, `agent.ValidateNamespaceSlashWildcardHostname`) and on the outbound
/// traffic policy (`validateSidecarOutboundTrafficPolicy`); the cases on ingress listeners,
/// ports, binds and TLS concern what this tool does not read.
#[test]
fn test_validate_sidecar_egress() {
    let hosts = |hosts: &str| format!("  egress:\n  - hosts: [{hosts}]\n");
    let cases = [
        sidecar_case("TestValidateSidecar/default", &hosts("'*/*'"), Valid),
        sidecar_case(
            "TestValidateSidecar/import local namespace with wildcard",
            &hosts("'./*'"),
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/import local namespace with fqdn",
            &hosts("./foo.com"),
            Valid,
        ),
        sidecar_case("TestValidateSidecar/import nothing", &hosts("'~/*'"), Valid),
        sidecar_case(
            "TestValidateSidecar/import all except a namespace",
            &hosts("'*/*', '~ns1/*'"),
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/import all except an exact host",
            &hosts("'*/*', '~/foo.com'"),
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/exclude with invalid namespace",
            &hosts("'*/*', '~Invalid_NS/*'"),
            Error(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/bad egress host 1",
            &hosts("'*'"),
            Error(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/bad egress host 2",
            &hosts("'/'"),
            Error(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/empty egress host",
            &hosts(""),
            Error(Code::MissingField),
        ),
        sidecar_case(
            "TestValidateSidecar/multiple wildcard egress",
            "  egress:\n  - hosts: ['*/foo.com']\n  - hosts: [ns1/bar.com]\n",
            Error(Code::ConflictingFields),
        ),
        sidecar_case(
            "TestValidateSidecar/wildcard egress not in end",
            "  egress:\n  - hosts: ['*/foo.com']\n  - port: {protocol: http, number: 8080, name: h8080}\n    hosts: [ns1/bar.com]\n",
            Error(Code::ConflictingFields),
        ),
        sidecar_case(
            "TestValidateSidecar/Port without name",
            "  egress:\n  - port: {protocol: http, number: 8080}\n    hosts: [ns1/bar.com]\n",
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/duplicate ports",
            "  egress:\n  - port: {protocol: http, number: 90, name: foo}\n    hosts: [ns1/bar.com]\n  - port: {protocol: tcp, number: 90, name: tcp}\n    hosts: [ns2/bar.com]\n",
            Error(Code::ConflictingFields),
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress only one wildcarded",
            &hosts("'*/*', test/a.com"),
            Warns(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress wildcarded ns",
            &hosts("'*/b.com', test/a.com"),
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress duplicated with wildcarded same namespace",
            &hosts("'test/*', test/a.com"),
            Warns(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/invalid partial wildcard",
            &hosts("'test/*a.com'"),
            Error(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress duplicated with wildcarded same namespace .",
            &hosts("'./*', bar/a.com"),
            Warns(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/just outbound traffic policy",
            "  outboundTrafficPolicy: {mode: ALLOW_ANY}\n",
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/ALLOW_ANY sidecar egress policy with no egress proxy",
            "  outboundTrafficPolicy: {mode: ALLOW_ANY}\n  egress:\n  - hosts: ['*/*']\n",
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress proxy with RESGISTRY_ONLY(default)",
            "  outboundTrafficPolicy:\n    egressProxy: {host: foo.bar, subset: shiny, port: {number: 5000}}\n  egress:\n  - hosts: ['*/*']\n",
            Error(Code::ConflictingFields),
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress proxy with ALLOW_ANY",
            "  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: foo.bar, subset: shiny, port: {number: 5000}}\n  egress:\n  - hosts: ['*/*']\n",
            Valid,
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress proxy with ALLOW_ANY, service hostname invalid fqdn",
            "  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: 'foobar*123', subset: shiny, port: {number: 5000}}\n  egress:\n  - hosts: ['*/*']\n",
            Error(Code::InvalidHost),
        ),
        sidecar_case(
            "TestValidateSidecar/sidecar egress proxy(without Port) with ALLOW_ANY",
            "  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: foo.bar, subset: shiny}\n  egress:\n  - hosts: ['*/*']\n",
            Error(Code::MissingField),
        ),
        sidecar_case(
            "TestValidateSidecar/ALLOW_ANY_DYNAMIC_DNS rejected in sidecar",
            "  outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}\n  egress:\n  - hosts: ['*/*']\n",
            Error(Code::InvalidEnum),
        ),
        // ValidateSidecar: "egress listener may not be null".
        sidecar_case(
            "ValidateSidecar null egress listener",
            "  egress:\n  - null\n  - hosts: ['*/*']\n",
            Error(Code::WrongType),
        ),
        // validateSidecarOrGatewayHostnamePart: "short names (non FQDN) are not allowed".
        sidecar_case(
            "validateSidecarOrGatewayHostnamePart short name",
            &hosts("bookinfo/reviews"),
            Error(Code::InvalidHost),
        ),
    ];
    run(&cases);
}

#[test]
fn validate_destination_rule_code_paths() {
    let tunnel = |istio, tunnel: &str, expect| {
        case(
            istio,
            format!("host: reviews\ntrafficPolicy:\n  tunnel: {tunnel}\n"),
            expect,
        )
    };
    run(&[
        tunnel(
            "validateTunnelSettings: CONNECT to a host name",
            "{protocol: CONNECT, targetHost: egress.example.com, targetPort: 8443}",
            Valid,
        ),
        tunnel(
            "validateTunnelSettings: POST to an IP address",
            "{protocol: POST, targetHost: 10.0.0.1, targetPort: 8443}",
            Valid,
        ),
        tunnel(
            "validateTunnelSettings: protocol neither CONNECT nor POST",
            "{protocol: GET, targetHost: egress.example.com, targetPort: 8443}",
            Error(Code::InvalidEnum),
        ),
        tunnel(
            "validateTunnelSettings: target host neither FQDN (no wildcard) nor IP",
            "{targetHost: \"*.example.com\", targetPort: 8443}",
            Error(Code::InvalidHost),
        ),
        tunnel(
            "validateTunnelSettings: target host with an all-numeric last label",
            "{targetHost: egress.123, targetPort: 8443}",
            Error(Code::InvalidHost),
        ),
        tunnel(
            "validateTunnelSettings: target port 0",
            "{targetHost: egress.example.com, targetPort: 0}",
            Error(Code::OutOfRange),
        ),
        case(
            "validateTrafficPolicy: tunnel and proxyProtocol together",
            "host: reviews\ntrafficPolicy:\n  tunnel: {targetHost: egress.example.com, targetPort: 8443}\n  proxyProtocol: {version: V2}\n",
            Error(Code::ConflictingFields),
        ),
        case(
            "validateProxyProtocol: a version other than V1 and V2",
            "host: reviews\ntrafficPolicy:\n  proxyProtocol: {version: V3}\n",
            Error(Code::InvalidEnum),
        ),
        case(
            "validateTrafficPolicy: a retry budget alone is a field",
            "host: reviews\ntrafficPolicy:\n  retryBudget: {percent: 5}\n",
            Valid,
        ),
        case(
            "ValidateDestinationRule: subset may not be null",
            "host: reviews\nsubsets:\n- null\n",
            Error(Code::WrongType),
        ),
        case(
            "validatePortTrafficPolicies: traffic policy may not be null",
            "host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - null\n",
            Error(Code::WrongType),
        ),
        case(
            "validatePortTrafficPolicies: port traffic policy must have at least one field",
            "host: reviews\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 8080}\n",
            Error(Code::EmptyPolicy),
        ),
        case(
            "validateSubset: invalid label key",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {\"app!\": v1}\n",
            Error(Code::InvalidSelector),
        ),
        case(
            "validateSubset: invalid label value",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {version: \"v1*\"}\n",
            Error(Code::InvalidSelector),
        ),
        case(
            "validateSubset: label key with a mixed-case DNS prefix",
            "host: reviews\nsubsets:\n- name: v1\n  labels: {Example.com/version: v1}\n",
            Valid,
        ),
        case(
            "validateExportTo: ~ alone on a DestinationRule",
            "host: reviews\nexportTo: [\"~\"]\n",
            Error(Code::InvalidSelector),
        ),
        case(
            "ValidateWildcardDomain: an all-numeric top-level domain",
            "host: reviews.123\n",
            Error(Code::InvalidHost),
        ),
        case(
            "ValidateWildcardDomain: a trailing dot",
            "host: reviews.prod.svc.cluster.local.\n",
            Valid,
        ),
        case(
            "validateWorkloadSelector: wildcard in a selector value",
            "host: reviews\nworkloadSelector: {matchLabels: {app: \"*\"}}\n",
            Error(Code::InvalidSelector),
        ),
    ]);
}

/// `validateMetadata` wraps every validation function: annotations the webhook rejects.
#[test]
fn validate_metadata_annotations() {
    for annotation in [
        "istio.io/dry-run",
        "internal.istio.io/webhook-always-reject",
        "internal.istio.io/parent-namespace",
        "internal.istio.io/parents",
    ] {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: a\n  namespace: default\n  annotations: {{{annotation}: \"true\"}}\nspec:\n  host: reviews\n"
        );
        let found = load_str(&yaml, &Arc::from("a.yaml"), &LoadOptions::default()).findings;
        assert!(
            found
                .iter()
                .any(|f| f.code == Code::InvalidSelector && f.severity == Severity::Error),
            "validateMetadata: {annotation}: {found:?}"
        );
    }
    let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: a\n  annotations: {team: payments}\nspec:\n  host: reviews\n";
    let found = load_str(yaml, &Arc::from("a.yaml"), &LoadOptions::default()).findings;
    assert!(found.is_empty(), "any other annotation is fine: {found:?}");
}

/// Issue 14: a selector rule exported to its own namespace by name was an error, and that
/// error stopped `plan` for every rule of the file.
#[test]
fn issue_14_own_namespace_in_export_to_does_not_block_plan() {
    let yaml = format!(
        "{}---\n{}",
        common::rule_yaml(
            "reviews-canary",
            "prod",
            "host: reviews\nworkloadSelector: {matchLabels: {app: canary}}\nexportTo: [prod]\n",
        ),
        common::rule_yaml(
            "ratings",
            "prod",
            "host: ratings\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: 10}\n",
        ),
    );
    let plan = sidecar_tuner::Tuner::from_yaml_str(&yaml)
        .unwrap()
        .host("ratings")
        .namespace("prod")
        .plan()
        .unwrap();
    assert_eq!(plan.pool_max_idle_per_host, Some(9), "floor(0.95 * 10)");
}
