//! `allowed_outbound_hosts`, with the grammar and matching of Spin 4's
//! `outbound-networking-config` crate: `scheme://host[:port]`, `*` for any scheme, host or
//! port, `*.domain` subdomains, CIDR hosts, port ranges `a..b` (end excluded), `self`,
//! `{{ variable }}` templates and `*.spin.internal` service chaining.

use std::net::IpAddr;

use url::Host;

use crate::error::ConfigError;
use crate::manifest::App;
use crate::variables::{Resolver, Template};

/// The domain suffix of service-chaining hosts (`http://cart.spin.internal`).
pub const SERVICE_CHAINING_DOMAIN_SUFFIX: &str = ".spin.internal";

/// The checked form of one component's `allowed_outbound_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    rules: Vec<AllowedHost>,
}

/// One `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    original: String,
    scheme: SchemeRule,
    host: HostRule,
    port: PortRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemeRule {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    Any,
    /// `*.example.com`, stored as the suffix `.example.com`.
    AnySubdomain(String),
    /// `self`: relative requests to the app itself.
    ToSelf,
    Literal(Host),
    Cidr {
        network: IpAddr,
        prefix: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    Any,
    Port(u16),
    /// `start..end`, end excluded (as Rust's `Range`, which Spin uses).
    Range(u16, u16),
}

impl AllowedHosts {
    /// Parses entries whose templates are already expanded. `*.spin.internal` stays a
    /// subdomain wildcard here; [`AllowedHosts::for_component`] narrows it to the app's
    /// components as Spin does.
    pub fn parse(entries: &[String]) -> Result<AllowedHosts, String> {
        reject_lone_allow_all(entries)?;
        let rules = entries
            .iter()
            .map(|entry| AllowedHost::parse(entry))
            .collect::<Result<_, _>>()?;
        Ok(AllowedHosts { rules })
    }

    /// The rules of one component of `app`: templates expanded with `resolver`, then
    /// `*.spin.internal` replaced by one `<component>.spin.internal` per component of the app.
    pub fn for_component(
        app: &App,
        resolver: &Resolver,
        component_id: &str,
    ) -> Result<AllowedHosts, ConfigError> {
        let field = format!("component.{component_id}.allowed_outbound_hosts");
        let error = |message: String| ConfigError::new(&app.manifest_path, &field, message);
        let component = app
            .components
            .get(component_id)
            .ok_or_else(|| error(format!("no component {component_id:?} in the app")))?;
        let expanded = component
            .allowed_outbound_hosts
            .iter()
            .map(|entry| {
                resolver
                    .expand_app_template(entry)
                    .map_err(|e| error(format!("{entry:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let parsed = AllowedHosts::parse(&expanded).map_err(error)?;
        let rules = parsed
            .rules
            .into_iter()
            .flat_map(|rule| match &rule.host {
                HostRule::AnySubdomain(suffix) if suffix == SERVICE_CHAINING_DOMAIN_SUFFIX => app
                    .components
                    .keys()
                    .map(|id| {
                        let domain = format!("{id}{SERVICE_CHAINING_DOMAIN_SUFFIX}");
                        AllowedHost {
                            host: HostRule::Literal(Host::Domain(domain)),
                            ..rule.clone()
                        }
                    })
                    .collect::<Vec<_>>(),
                _ => vec![rule],
            })
            .collect();
        Ok(AllowedHosts { rules })
    }

    /// Whether `scheme://host[:port]` may be reached (`scheme` without "://"; a missing port
    /// means the scheme's well-known port). The error is the log line for a denial.
    pub fn check(&self, scheme: &str, host: &str, port: Option<u16>) -> Result<(), String> {
        if self
            .rules
            .iter()
            .any(|rule| rule.allows(scheme, host, port))
        {
            return Ok(());
        }
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Err(self.denial(&format!("{scheme}://{authority}")))
    }

    /// Parses `url` as Spin does (prefixing `default_scheme://` when it has no scheme of
    /// its own) and checks it; an unparseable URL is denied, as in Spin.
    pub fn check_url(&self, url: &str, default_scheme: &str) -> Result<(), String> {
        let url = OutboundUrl::parse(url, default_scheme)
            .map_err(|e| format!("outbound URL {url:?} could not be parsed: {e}"))?;
        self.check(&url.scheme, &url.host, url.port)
    }

    /// Whether relative ("self") outbound HTTP requests are allowed: an entry with host
    /// `self` (or `*`) and scheme http, https or `*`.
    pub fn allows_self(&self) -> bool {
        self.rules.iter().any(|rule| {
            matches!(rule.host, HostRule::Any | HostRule::ToSelf)
                && ["http", "https"].iter().any(|s| rule.scheme.allows(s))
        })
    }

    /// The denial message for the host's log line when a relative request is refused.
    pub fn self_denial(&self) -> String {
        self.denial("http://self")
    }

    fn denial(&self, pattern: &str) -> String {
        let rules = self
            .rules
            .iter()
            .map(|r| format!("{:?}", r.original))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "Outbound network destination not allowed: {pattern} (denied by allowed_outbound_hosts = [{rules}]). To allow this request, add 'allowed_outbound_hosts = [\"{pattern}\"]' to the manifest component section."
        )
    }
}

/// Spin rejects `insecure:allow-all` when it is the only entry (elsewhere it fails as an
/// entry without a scheme).
fn reject_lone_allow_all(entries: &[String]) -> Result<(), String> {
    if entries.len() == 1 && entries[0] == "insecure:allow-all" {
        return Err("'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'".into());
    }
    Ok(())
}

/// Checks the entries as Spin does when it loads the manifest: literal entries must parse,
/// and templated ones must parse after expansion with the variables' defaults (templates
/// naming variables without a default are checked at startup instead).
pub(crate) fn validate_entries(
    entries: &[String],
    defaults: &std::collections::BTreeMap<String, crate::manifest::VariableDecl>,
) -> Result<(), String> {
    reject_lone_allow_all(entries)?;
    for entry in entries {
        let template = Template::parse(entry)?;
        if template.is_literal() {
            AllowedHost::parse(entry)?;
        } else if let Ok(expanded) = template.render(|name| {
            defaults
                .get(name)
                .and_then(|decl| decl.default.clone())
                .ok_or(())
        }) {
            AllowedHost::parse(&expanded).map_err(|e| {
                format!("using default variable value(s) with template {entry:?} results in invalid config {expanded:?}: {e}")
            })?;
        }
    }
    Ok(())
}

impl AllowedHost {
    fn parse(original: &str) -> Result<Self, String> {
        let entry = original.trim();
        let Some((scheme, rest)) = entry.split_once("://") else {
            return Err(match entry {
                "*" | ":" | "" | "?" => format!(
                    "{entry:?} is not an allowed outbound host format. Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each. If you intended to allow all outbound networking, you can use '*://*:*' - this will obviate all network sandboxing."
                ),
                _ => format!("{entry:?} does not contain a scheme (e.g., 'http://' or '*://')"),
            });
        };
        let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match rest.split_once('/') {
            Some((_, path)) if !path.is_empty() => {
                return Err(format!("{entry:?} has a path but is not allowed to"));
            }
            Some((port, _)) => port,
            None => rest,
        };
        let port = PortRule::parse(port, scheme)
            .map_err(|e| format!("{entry:?}: invalid allowed host port {port:?}: {e}"))?;
        let scheme = SchemeRule::parse(scheme)
            .map_err(|e| format!("{entry:?}: invalid allowed host scheme {scheme:?}: {e}"))?;
        let host = HostRule::parse(host)
            .map_err(|e| format!("{entry:?}: invalid allowed host {host:?}: {e}"))?;
        Ok(Self {
            original: original.to_string(),
            scheme,
            host,
            port,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.scheme.allows(scheme) && self.host.allows(host) && self.port.allows(port, scheme)
    }
}

impl SchemeRule {
    fn parse(scheme: &str) -> Result<Self, String> {
        if scheme == "*" {
            Ok(Self::Any)
        } else if scheme.starts_with('{') {
            Err("scheme lists are not supported".into())
        } else if scheme.chars().any(|c| !c.is_alphabetic()) {
            Err("only alphabetic characters are allowed".into())
        } else {
            Ok(Self::Exact(scheme.to_string()))
        }
    }

    fn allows(&self, scheme: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(s) => s == scheme,
        }
    }
}

impl HostRule {
    fn parse(host: &str) -> Result<Self, String> {
        let host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host == "self" || host == "self.alt" {
            return Ok(Self::ToSelf);
        }
        if host.starts_with('{') {
            return Err("host lists are not yet supported".into());
        }
        if let Some(cidr) = parse_cidr(host) {
            return Ok(cidr);
        }
        let host = host.trim_end_matches('/');
        if host.contains('/') {
            return Err("must not include a path".into());
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                return Err("wildcards are allowed only as prefixes".into());
            }
            return Ok(Self::AnySubdomain(format!(".{domain}")));
        }
        if host.contains('*') {
            return Err("wildcards are allowed only as subdomains".into());
        }
        Host::parse(host)
            .map(Self::Literal)
            .map_err(|e| e.to_string())
    }

    fn allows(&self, host: &str) -> bool {
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        match (self, host) {
            (Self::Any, _) => true,
            (Self::AnySubdomain(suffix), Host::Domain(domain)) => domain.ends_with(suffix.as_str()),
            (Self::Literal(literal), host) => host == *literal,
            (Self::Cidr { network, prefix }, Host::Ipv4(ip)) => {
                in_network(*network, *prefix, IpAddr::V4(ip))
            }
            (Self::Cidr { network, prefix }, Host::Ipv6(ip)) => {
                in_network(*network, *prefix, IpAddr::V6(ip))
            }
            // `self` is only for relative requests (see `allows_self`).
            (Self::AnySubdomain(_) | Self::Cidr { .. } | Self::ToSelf, _) => false,
        }
    }
}

/// `address/prefix`, with host bits cleared (as `ip_network`'s `from_str_truncate`).
fn parse_cidr(host: &str) -> Option<HostRule> {
    let (address, prefix) = host.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return None;
    }
    Some(HostRule::Cidr {
        network: mask(address, prefix),
        prefix,
    })
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(ip) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(ip) & mask).into())
        }
        IpAddr::V6(ip) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(ip) & mask).into())
        }
    }
}

fn in_network(network: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    network.is_ipv4() == ip.is_ipv4() && mask(ip, prefix) == network
}

impl PortRule {
    fn parse(port: &str, scheme: &str) -> Result<Self, String> {
        if port.is_empty() {
            return well_known_port(scheme).map(Self::Port).ok_or_else(|| {
                format!("no port was provided and the scheme {scheme:?} does not have a known default port number")
            });
        }
        if port == "*" {
            return Ok(Self::Any);
        }
        if port.starts_with('{') {
            return Err("port lists are not yet supported".into());
        }
        if let Some((start, end)) = port.split_once("..") {
            let number = |s: &str| {
                s.parse::<u16>()
                    .map_err(|_| format!("port range {port:?} contains non-number"))
            };
            return Ok(Self::Range(number(start)?, number(end)?));
        }
        port.parse()
            .map(Self::Port)
            .map_err(|_| format!("port {port:?} is not a number"))
    }

    fn allows(&self, port: Option<u16>, scheme: &str) -> bool {
        let Some(port) = port.or_else(|| well_known_port(scheme)) else {
            return matches!(self, Self::Any);
        };
        match self {
            Self::Any => true,
            Self::Port(p) => *p == port,
            Self::Range(start, end) => (*start..*end).contains(&port),
        }
    }
}

/// The port a scheme uses when a URL names none (Spin's list).
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The parts of an outbound URL that `allowed_outbound_hosts` looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundUrl {
    pub scheme: String,
    pub host: String,
    /// `None` when the URL names no port or names the scheme's default one.
    pub port: Option<u16>,
}

impl OutboundUrl {
    /// Parses `url` as Spin does: user info is percent-encoded first (passwords may hold
    /// `#` or `/`), and a URL without a scheme or host is retried as `default_scheme://url`
    /// (so `127.0.0.1:5432` with "postgres" works).
    pub fn parse(url: &str, default_scheme: &str) -> Result<OutboundUrl, String> {
        let url = encode_user_info(url);
        let parsed = match url::Url::parse(&url) {
            Ok(parsed) if parsed.has_host() => parsed,
            first_try => match url::Url::parse(&format!("{default_scheme}://{url}")) {
                Ok(parsed) => parsed,
                Err(second) => return Err(first_try.err().unwrap_or(second).to_string()),
            },
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("{url:?} does not have a host component"))?;
        Ok(OutboundUrl {
            scheme: parsed.scheme().to_string(),
            host: host.to_string(),
            port: parsed.port(),
        })
    }

    /// `host[:port]`, as Spin's denial message shows it.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Percent-encodes everything before the last `@` of the authority, as Spin does before
/// parsing, so that user info never confuses the URL parser.
fn encode_user_info(url: &str) -> String {
    let Some(at) = url.find('@') else {
        return url.to_string();
    };
    let start = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[start..].find('/').map_or(usize::MAX, |i| i + start);
    if at >= path_start || at < start {
        return url.to_string();
    }
    let mut encoded = String::with_capacity(url.len() + 16);
    encoded.push_str(&url[..start]);
    for byte in url[start..at].bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded.push_str(&url[at..]);
    encoded
}

/// The component a service-chaining host (`cart.spin.internal`, with or without a port)
/// addresses, if it is one.
pub fn service_chaining_target(host: &str) -> Option<&str> {
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let (first, rest) = host.split_once('.')?;
    (rest == &SERVICE_CHAINING_DOMAIN_SUFFIX[1..]).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        let entries = entries.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        AllowedHosts::parse(&entries).unwrap_or_else(|e| panic!("{entries:?}: {e}"))
    }

    #[test]
    fn matching() {
        let cases: &[(&[&str], &str, &str, bool)] = &[
            (
                &["https://example.com"],
                "https://example.com/x",
                "https",
                true,
            ),
            (
                &["https://example.com"],
                "https://example.com:443",
                "https",
                true,
            ),
            (
                &["https://example.com"],
                "https://example.com:8443",
                "https",
                false,
            ),
            (
                &["https://example.com"],
                "http://example.com",
                "http",
                false,
            ),
            (
                &["https://example.com/"],
                "https://EXAMPLE.com",
                "https",
                true,
            ),
            (
                &["http://example.com:8383"],
                "example.com:8383",
                "http",
                true,
            ),
            (
                &["*://spin.fermyon.dev:443"],
                "https://spin.fermyon.dev",
                "https",
                true,
            ),
            (
                &["http://*.example.com"],
                "http://a.b.example.com/x",
                "http",
                true,
            ),
            (
                &["http://*.example.com"],
                "http://example.com",
                "http",
                false,
            ),
            (
                &["http://*.example.com"],
                "http://myexample.com",
                "http",
                false,
            ),
            (
                &["http://*.example2.com:8383"],
                "http://a.example2.com",
                "http",
                false,
            ),
            (
                &["http://localhost:3000..3010"],
                "http://localhost:3009",
                "http",
                true,
            ),
            (
                &["http://localhost:3000..3010"],
                "http://localhost:3010",
                "http",
                false,
            ),
            (
                &["*://localhost:*"],
                "redis://localhost:1234",
                "redis",
                true,
            ),
            (&["*://*:*"], "tcp://10.0.0.1:1", "tcp", true),
            (
                &["postgres://127.0.0.1"],
                "postgres://user:p#w@127.0.0.1:5432/db",
                "postgres",
                true,
            ),
            (
                &["postgres://127.0.0.1"],
                "127.0.0.1:5432",
                "postgres",
                true,
            ),
            (
                &["postgres://127.0.0.1"],
                "127.0.0.1:5433",
                "postgres",
                false,
            ),
            (
                &["redis://127.0.0.1"],
                "redis://127.0.0.1:6379",
                "redis",
                true,
            ),
            (&["redis://127.0.0.1"], "redis://127.0.0.1", "redis", true),
            (
                &["mysql://xyz.com"],
                "user%3Apass%23word@xyz.com",
                "mysql",
                true,
            ),
            (
                &["*://127.0.0.1/24:63551"],
                "tcp://127.0.0.9:63551",
                "tcp",
                true,
            ),
            (
                &["*://127.0.0.1/24:63551"],
                "tcp://127.0.1.9:63551",
                "tcp",
                false,
            ),
            (&["http://[::1]:8001"], "http://[::1]:8001", "http", true),
            (&["http://self"], "http://self", "http", false),
            (
                &["http://cart.spin.internal"],
                "http://cart.spin.internal/x",
                "http",
                true,
            ),
            (
                &["http://cart.spin.internal"],
                "http://orders.spin.internal/x",
                "http",
                false,
            ),
            (&[], "https://example.com", "https", false),
        ];
        for (entries, url, scheme, allowed) in cases {
            let result = hosts(entries).check_url(url, scheme);
            assert_eq!(result.is_ok(), *allowed, "{entries:?} {url}: {result:?}");
        }
    }

    #[test]
    fn check_uses_default_ports_and_explains_denials() {
        let h = hosts(&["redis://cache:6380", "https://api.example.com"]);
        assert!(h.check("redis", "cache", Some(6380)).is_ok());
        assert!(h.check("redis", "cache", None).is_err());
        assert!(h.check("https", "api.example.com", None).is_ok());
        let denial = h.check("http", "evil.com", Some(80)).unwrap_err();
        assert!(denial.contains("http://evil.com:80"), "{denial}");
        assert!(denial.contains("\"redis://cache:6380\""), "{denial}");
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "example.com",
            "localhost:3001",
            "*",
            "http://[::1]",
            "*://127.0.0.0/24",
            "http://spin.fermyon.dev/a",
            "http://spin.fermyon.dev:6666/a/b",
            "foo://example.com",
            "http://a.*.com",
            "http://exa*mple.com",
            "h1ttp://example.com",
            "http://example.com:port",
            "http://example.com:1..x",
        ] {
            assert!(AllowedHosts::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
        assert!(AllowedHosts::parse(&["insecure:allow-all".into()]).is_err());
        assert!(
            AllowedHosts::parse(&["insecure:allow-all".into(), "http://a.com".into()]).is_err()
        );
    }

    #[test]
    fn self_requests() {
        for (entries, allowed) in [
            (&["http://self"][..], true),
            (&["https://self.alt"][..], true),
            (&["*://*:*"][..], true),
            (&["redis://self"][..], false),
            (&["http://example.com"][..], false),
        ] {
            assert_eq!(hosts(entries).allows_self(), allowed, "{entries:?}");
        }
    }

    #[test]
    fn templates_and_service_chaining_for_a_component() {
        let manifest = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
pg_host = { default = "127.0.0.1" }
api = { required = true }
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
allowed_outbound_hosts = ["http://*.spin.internal", "postgres://{{ pg_host }}:{{ pg_host_port }}"]
[component.cart]
source = "cart.wasm"
[component.orders]
source = "orders.wasm"
allowed_outbound_hosts = ["https://{{ api }}"]
"#
        .replace(":{{ pg_host_port }}", "");
        let app = crate::manifest::load_manifest(&crate::test_files::write("spin.toml", &manifest))
            .unwrap();
        let resolver = Resolver::new(&app, |key| {
            (key == "SPIN_VARIABLE_API").then(|| "api.example.com".to_string())
        })
        .unwrap();
        let web = AllowedHosts::for_component(&app, &resolver, "web").unwrap();
        assert!(
            web.check_url("http://cart.spin.internal/x", "https")
                .is_ok()
        );
        assert!(web.check_url("http://web.spin.internal/x", "https").is_ok());
        assert!(
            web.check_url("http://nope.spin.internal/x", "https")
                .is_err()
        );
        assert!(
            web.check_url("postgres://127.0.0.1:5432", "postgres")
                .is_ok()
        );
        let orders = AllowedHosts::for_component(&app, &resolver, "orders").unwrap();
        assert!(orders.check("https", "api.example.com", None).is_ok());

        let bad = Resolver::new(&app, |key| {
            (key == "SPIN_VARIABLE_API").then(|| "not a host".to_string())
        })
        .unwrap();
        let err = AllowedHosts::for_component(&app, &bad, "orders").unwrap_err();
        assert_eq!(err.field, "component.orders.allowed_outbound_hosts");
    }

    #[test]
    fn outbound_urls_and_chaining_targets() {
        let url = OutboundUrl::parse(
            "https://user:pass#word@example.com/file@0.1.0.json",
            "https",
        )
        .unwrap();
        assert_eq!(
            (url.scheme.as_str(), url.host.as_str(), url.port),
            ("https", "example.com", None)
        );
        let url = OutboundUrl::parse("redis://127.0.0.1:6379", "redis").unwrap();
        assert_eq!(url.authority(), "127.0.0.1:6379");
        let url = OutboundUrl::parse("localhost:5432", "postgres").unwrap();
        assert_eq!(
            (url.scheme.as_str(), url.host.as_str(), url.port),
            ("postgres", "localhost", Some(5432))
        );
        assert_eq!(service_chaining_target("cart.spin.internal"), Some("cart"));
        assert_eq!(
            service_chaining_target("cart.spin.internal:80"),
            Some("cart")
        );
        assert_eq!(service_chaining_target("a.cart.spin.internal"), None);
        assert_eq!(service_chaining_target("example.com"), None);
    }
}
