//! HTTP routing and the `spin-*` request headers, as Spin 4.0.2's `spin-http-routes` crate
//! and `trigger-http/src/headers.rs` define them. Matching and precedence come from the
//! same `routefinder` crate Spin uses: segment by segment, exact text beats a `:param`,
//! which beats a trailing wildcard; among equals the longer route wins.

use std::borrow::Cow;
use std::net::SocketAddr;

use crate::manifest::{App, HttpRoute};

/// Paths under this prefix are answered by the host itself (`health`, `info`), never routed.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// The client address Spin reports for service-chained requests.
pub const CHAINED_CLIENT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

#[derive(Debug)]
pub struct Router {
    inner: routefinder::Router<RouteHandler>,
    duplicates: Vec<DuplicateRoute>,
}

#[derive(Debug, Clone)]
struct RouteHandler {
    component_id: String,
    /// The route with the base applied ("/" becomes "").
    based_route: String,
    /// The route as written in the manifest.
    raw_route: String,
    /// `based_route` without its trailing wildcard, for the startup listing.
    display: String,
}

/// A route that an identical later route made unreachable (Spin logs these and goes on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRoute {
    pub route: String,
    pub replaced_component: String,
    pub effective_component: String,
}

impl Router {
    /// `routes`: (component id, route string) for every non-private HTTP trigger, in
    /// manifest order; `base` is applied as Spin applies it. When two triggers have the same
    /// route the later one wins and the earlier is listed in [`Router::duplicates`].
    pub fn build(base: &str, routes: &[(String, String)]) -> Result<Router, String> {
        let mut entries: Vec<RouteHandler> = Vec::new();
        let mut duplicates = Vec::new();
        for (component_id, raw_route) in routes {
            let based_route = with_base(base, raw_route);
            let display = match based_route.strip_suffix("/...") {
                Some(prefix) => format!("{prefix} (wildcard)"),
                None => based_route.clone(),
            };
            let handler = RouteHandler {
                component_id: component_id.clone(),
                based_route,
                raw_route: raw_route.clone(),
                display,
            };
            match entries.iter_mut().find(|e| e.raw_route == *raw_route) {
                Some(existing) => {
                    let replaced = std::mem::replace(existing, handler);
                    duplicates.push(DuplicateRoute {
                        route: if replaced.based_route.is_empty() {
                            "/".into()
                        } else {
                            replaced.based_route
                        },
                        replaced_component: replaced.component_id,
                        effective_component: component_id.clone(),
                    });
                }
                None => entries.push(handler),
            }
        }

        let mut inner = routefinder::Router::new();
        for handler in entries {
            let spec = route_spec(&handler.based_route).map_err(|e| {
                format!(
                    "Error parsing route {} associated with component {}: {e}",
                    handler.based_route, handler.component_id
                )
            })?;
            let Ok(()) = inner.add(spec, handler);
        }
        Ok(Router { inner, duplicates })
    }

    /// The router for the app's public HTTP triggers.
    pub fn for_app(app: &App) -> Result<Router, String> {
        let routes = app
            .http_triggers
            .iter()
            .filter_map(|t| match &t.route {
                HttpRoute::Path(route) => Some((t.component.clone(), route.clone())),
                HttpRoute::Private => None,
            })
            .collect::<Vec<_>>();
        Router::build(&app.http_base, &routes)
    }

    /// The best route for a request path (without the query), or `None` (a 404).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let found = self.inner.best_match(path)?;
        let handler = found.handler();
        let captures = found.captures();
        let mut named_wildcards: Vec<(String, String)> = Vec::new();
        for (name, value) in captures.iter() {
            // Spin collects these into a map: a repeated name keeps its last value.
            named_wildcards.retain(|(n, _)| n != name);
            named_wildcards.push((name.to_string(), value.to_string()));
        }
        // Spin keeps trailing slashes in the wildcard part, which routefinder drops.
        let trailing_wildcard = captures
            .wildcard()
            .map(|w| match (w.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_string(),
                (false, false) => format!("/{w}"),
                (false, true) => format!("/{w}/"),
            })
            .unwrap_or_default();
        Some(RouteMatch {
            component_id: Cow::Borrowed(&handler.component_id),
            based_route: Cow::Borrowed(&handler.based_route),
            raw_route: Cow::Borrowed(&handler.raw_route),
            named_wildcards,
            trailing_wildcard,
        })
    }

    /// Routes made unreachable by a later identical route (Spin logs them as errors:
    /// "The following component routes are duplicates and will never be used:" then
    /// "  {replaced}: {route} (duplicate of {effective})").
    pub fn duplicates(&self) -> &[DuplicateRoute] {
        &self.duplicates
    }

    /// (component id, route) in precedence order, for the startup listing Spin prints as
    /// `  {component}: {base_url}{route}`; wildcard routes read "/prefix (wildcard)".
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .iter()
            .map(|(_, h)| (h.component_id.as_str(), h.display.as_str()))
    }

    /// Whether a route lies under [`WELL_KNOWN_PREFIX`] (Spin warns that it is unreachable).
    pub fn contains_reserved_route(&self) -> bool {
        self.inner
            .iter()
            .any(|(_, h)| h.based_route.starts_with(WELL_KNOWN_PREFIX))
    }
}

/// Checks a route string as the router will parse it (used when loading the manifest).
pub(crate) fn check_route(route: &str) -> Result<(), String> {
    route_spec(&with_base("/", route)).map(drop)
}

/// The routefinder spec of a based route: `/...` and `/*` are trailing wildcards.
fn route_spec(based_route: &str) -> Result<routefinder::RouteSpec, String> {
    let spec: routefinder::RouteSpec = match based_route.strip_suffix("/...") {
        Some(prefix) => format!("{prefix}/*").parse()?,
        None => based_route.parse()?,
    };
    // routefinder panics when matching a wildcard that is not the last segment.
    let segments = spec.segments();
    if let Some(i) = segments
        .iter()
        .position(|s| matches!(s, routefinder::Segment::Wildcard))
        && i + 1 != segments.len()
    {
        return Err("a wildcard is allowed only at the end of a route ('/...')".into());
    }
    Ok(spec)
}

/// Spin's `sanitize_with_base`: the route made absolute, then one trailing slash stripped
/// from the base and from the route ("/" with base "/" becomes "").
fn with_base(base: &str, route: &str) -> String {
    let route = if route.starts_with('/') {
        Cow::Borrowed(route)
    } else {
        Cow::Owned(format!("/{route}"))
    };
    let strip = |s: &str| s.strip_suffix('/').unwrap_or(s).to_string();
    format!("{}{}", strip(base), strip(&route))
}

/// A route chosen for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    component_id: Cow<'a, str>,
    based_route: Cow<'a, str>,
    raw_route: Cow<'a, str>,
    named_wildcards: Vec<(String, String)>,
    trailing_wildcard: String,
}

impl RouteMatch<'static> {
    /// A service-chained request (`http://<component>.spin.internal/path`): Spin treats it
    /// as matched by the route "/..." of that component, the whole path being the wildcard.
    pub fn synthetic(component_id: String, path: String) -> Self {
        RouteMatch {
            component_id: Cow::Owned(component_id),
            based_route: Cow::Borrowed("/..."),
            raw_route: Cow::Borrowed("/..."),
            named_wildcards: Vec::new(),
            trailing_wildcard: path,
        }
    }
}

impl RouteMatch<'_> {
    pub fn component_id(&self) -> &str {
        &self.component_id
    }

    /// The route with the base applied (`spin-matched-route`).
    pub fn based_route(&self) -> &str {
        &self.based_route
    }

    /// The route as written in the manifest (`spin-raw-component-route`).
    pub fn raw_route(&self) -> &str {
        &self.raw_route
    }

    /// The raw route without its trailing "/..." (`spin-component-route`).
    pub fn raw_route_or_prefix(&self) -> &str {
        self.raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route)
    }

    /// `:name` captures in route order.
    pub fn named_wildcards(&self) -> &[(String, String)] {
        &self.named_wildcards
    }

    /// The part of the path matched by a trailing wildcard, with its leading slash
    /// (`spin-path-info`); empty for routes without one.
    pub fn trailing_wildcard(&self) -> &str {
        &self.trailing_wildcard
    }
}

/// The URL Spin reports in `spin-full-url`: `{scheme}://{host}{path_and_query}`, where the
/// host is the request's `Host` header, or "localhost" without one.
pub fn full_url(scheme: &str, host_header: Option<&str>, path_and_query: &str) -> String {
    let host = host_header.unwrap_or("localhost");
    format!("{scheme}://{host}{path_and_query}")
}

/// The `spin-*` request headers Spin 4 adds for a matched request, in Spin's order
/// (lowercase names). For a service-chained request pass [`CHAINED_CLIENT_ADDR`].
pub fn spin_request_headers(
    m: &RouteMatch<'_>,
    full_url: &str,
    client_addr: SocketAddr,
) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            "spin-path-info".to_string(),
            m.trailing_wildcard().to_string(),
        ),
        ("spin-full-url".to_string(), full_url.to_string()),
        (
            "spin-matched-route".to_string(),
            m.based_route().to_string(),
        ),
        // Spin 4 always reports "/": application bases other than "/" are rejected.
        ("spin-base-path".to_string(), "/".to_string()),
        (
            "spin-raw-component-route".to_string(),
            m.raw_route().to_string(),
        ),
        (
            "spin-component-route".to_string(),
            m.raw_route_or_prefix().to_string(),
        ),
        ("spin-client-addr".to_string(), client_addr.to_string()),
    ];
    headers.extend(m.named_wildcards().iter().map(|(name, value)| {
        let name = format!("spin-path-match-{name}").replace('_', "-");
        (name.to_ascii_lowercase(), value.clone())
    }));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let routes = routes
            .iter()
            .map(|(c, r)| (c.to_string(), r.to_string()))
            .collect::<Vec<_>>();
        Router::build("/", &routes).expect("routes build")
    }

    #[test]
    fn precedence_params_and_wildcards() {
        let r = router(&[
            ("all", "/..."),
            ("one-wild", "/one/..."),
            ("one-two-wild", "/one/two/..."),
            ("one", "/one"),
            ("user", "/users/:id"),
            ("me", "/users/me"),
            ("user-orders", "/users/:id/orders/..."),
            ("file", "/files/:name.json"),
            ("root", "/"),
        ]);
        for (path, expected) in [
            ("/", "root"),
            ("/one", "one"),
            ("/one/", "one"),
            ("/one/x", "one-wild"),
            ("/one/two", "one-two-wild"),
            ("/one/two/three", "one-two-wild"),
            ("/users/me", "me"),
            ("/users/42", "user"),
            ("/users/42/orders", "user-orders"),
            ("/users/42/orders/7", "user-orders"),
            ("/users", "all"),
            ("/files/a.json", "file"),
            ("/files/a.txt", "all"),
            ("/anything/else", "all"),
        ] {
            let m = r
                .route(path)
                .unwrap_or_else(|| panic!("{path} should match"));
            assert_eq!(m.component_id(), expected, "path {path}");
        }
    }

    #[test]
    fn no_match_without_catch_all() {
        let r = router(&[("a", "/a"), ("b", "/b/...")]);
        assert!(r.route("/c").is_none());
        assert!(r.route("/a/b").is_none());
        assert_eq!(r.route("/b").unwrap().component_id(), "b");
    }

    #[test]
    fn captures_params_and_trailing_wildcard_like_spin() {
        let r = router(&[("c", "/test/..."), ("p", "/p/:one/:two/...")]);
        for (path, info) in [
            ("/test", ""),
            ("/test/", "/"),
            ("/test/hello", "/hello"),
            ("/test/hello/", "/hello/"),
            ("/test/a/b", "/a/b"),
        ] {
            assert_eq!(r.route(path).unwrap().trailing_wildcard(), info, "{path}");
        }
        let m = r.route("/p/1/2/rest").unwrap();
        assert_eq!(
            m.named_wildcards(),
            &[("one".into(), "1".into()), ("two".into(), "2".into())]
        );
        assert_eq!(m.trailing_wildcard(), "/rest");
    }

    #[test]
    fn duplicate_routes_last_wins_and_are_reported() {
        let r = router(&[("first", "/foo"), ("second", "/foo"), ("root", "/")]);
        assert_eq!(r.route("/foo").unwrap().component_id(), "second");
        assert_eq!(
            r.duplicates(),
            &[DuplicateRoute {
                route: "/foo".into(),
                replaced_component: "first".into(),
                effective_component: "second".into(),
            }]
        );
        assert_eq!(r.routes().count(), 2);
    }

    #[test]
    fn bad_routes_are_errors() {
        for route in ["/a/:", "/*named", "/a/*/b"] {
            assert!(check_route(route).is_err(), "{route}");
        }
        for route in ["/", "/...", "/a/:b/...", "a/b", "/a/*"] {
            assert!(check_route(route).is_ok(), "{route}");
        }
    }

    #[test]
    fn routes_listing_and_reserved() {
        let r = router(&[("w", "/whee/..."), ("root", "/"), ("x", "/x")]);
        let listed = r.routes().collect::<Vec<_>>();
        assert!(listed.contains(&("w", "/whee (wildcard)")));
        assert!(listed.contains(&("root", "")));
        assert!(!r.contains_reserved_route());
        assert!(router(&[("s", "/.well-known/spin/...")]).contains_reserved_route());
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no header {name}"))
    }

    #[test]
    fn headers_for_a_wildcard_route() {
        let r = router(&[("dummy", "/foo/...")]);
        let m = r.route("/foo/bar").unwrap();
        let url = full_url(
            "https",
            Some("fermyon.dev"),
            "/foo/bar?key1=value1&key2=value2",
        );
        let h = spin_request_headers(&m, &url, "127.0.0.1:8777".parse().unwrap());
        let names = h.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>();
        assert_eq!(
            names,
            [
                "spin-path-info",
                "spin-full-url",
                "spin-matched-route",
                "spin-base-path",
                "spin-raw-component-route",
                "spin-component-route",
                "spin-client-addr"
            ]
        );
        assert_eq!(
            header(&h, "spin-full-url"),
            "https://fermyon.dev/foo/bar?key1=value1&key2=value2"
        );
        assert_eq!(header(&h, "spin-path-info"), "/bar");
        assert_eq!(header(&h, "spin-matched-route"), "/foo/...");
        assert_eq!(header(&h, "spin-base-path"), "/");
        assert_eq!(header(&h, "spin-raw-component-route"), "/foo/...");
        assert_eq!(header(&h, "spin-component-route"), "/foo");
        assert_eq!(header(&h, "spin-client-addr"), "127.0.0.1:8777");
    }

    #[test]
    fn headers_with_named_params_root_and_chaining() {
        let r = router(&[("dummy", "/foo/:user_id/..."), ("root", "/")]);
        let m = r.route("/foo/42/bar").unwrap();
        let h = spin_request_headers(&m, "http://localhost/foo/42/bar", CHAINED_CLIENT_ADDR);
        assert_eq!(header(&h, "spin-path-match-user-id"), "42");
        assert_eq!(header(&h, "spin-component-route"), "/foo/:user_id");
        assert_eq!(header(&h, "spin-client-addr"), "0.0.0.0:0");

        // Spin strips the trailing slash of "/" when applying the base.
        let m = r.route("/").unwrap();
        let h = spin_request_headers(&m, "http://localhost/", CHAINED_CLIENT_ADDR);
        assert_eq!(header(&h, "spin-matched-route"), "");
        assert_eq!(header(&h, "spin-raw-component-route"), "/");
        assert_eq!(header(&h, "spin-path-info"), "");

        let m = RouteMatch::synthetic("cart".into(), "/api/cart".into());
        let h = spin_request_headers(
            &m,
            "http://cart.spin.internal/api/cart",
            CHAINED_CLIENT_ADDR,
        );
        assert_eq!(m.component_id(), "cart");
        assert_eq!(header(&h, "spin-path-info"), "/api/cart");
        assert_eq!(header(&h, "spin-matched-route"), "/...");
        assert_eq!(header(&h, "spin-component-route"), "");
        assert_eq!(full_url("http", None, "/x?y"), "http://localhost/x?y");
    }
}
