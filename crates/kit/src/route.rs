//! Method + path routing for a component's handler: a static table of routes whose
//! patterns are literal segments and `{name}` captures, matched on the full path.
//! A path no pattern matches is a 404 problem; a path that matches but not with this
//! method is a 405 problem with `allow`.

use crate::http::Response;
use crate::problem::Problem;
use http::{HeaderValue, Method, StatusCode, header};

/// One route: `method` on `pattern` (e.g. `/api/v1/users/{id}`) leads to `endpoint`.
#[derive(Debug, Clone)]
pub struct Route<E> {
    pub method: Method,
    pub pattern: &'static str,
    pub endpoint: E,
}

impl<E> Route<E> {
    pub const fn new(method: Method, pattern: &'static str, endpoint: E) -> Self {
        Self {
            method,
            pattern,
            endpoint,
        }
    }
}

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists with these methods only.
    MethodNotAllowed(Vec<Method>),
}

impl NoRoute {
    /// The problem+json answer: 404, or 405 carrying the `allow` header.
    pub fn to_response(&self, method: &Method, path: &str, request_id: &str) -> Response {
        match self {
            NoRoute::NotFound => {
                Problem::not_found(format!("no resource at {path}")).to_response(request_id)
            }
            NoRoute::MethodNotAllowed(allowed) => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let problem = Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method-not-allowed",
                    format!("{method} is not allowed on {path}; allowed: {allow}"),
                );
                let mut response = problem.to_response(request_id);
                // Method names are tokens, so the list is always a valid header value.
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
        }
    }
}

/// The endpoint for `method` on `path` and the path's `{captures}` in pattern order.
///
/// When several patterns match the path (`/users/me` and `/users/{id}`), the first one
/// in the table owns it: only its routes are considered, so list literals before
/// captures. A trailing slash is ignored; empty captures never match.
pub fn find<'p, E: Clone>(
    routes: &[Route<E>],
    method: &Method,
    path: &'p str,
) -> Result<(E, Vec<&'p str>), NoRoute> {
    let Some((pattern, captures)) = routes
        .iter()
        .find_map(|route| captures(route.pattern, path).map(|c| (route.pattern, c)))
    else {
        return Err(NoRoute::NotFound);
    };
    let owners = routes.iter().filter(|route| route.pattern == pattern);
    let mut allowed = Vec::new();
    for route in owners {
        if route.method == method {
            return Ok((route.endpoint.clone(), captures));
        }
        allowed.push(route.method.clone());
    }
    Err(NoRoute::MethodNotAllowed(allowed))
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.strip_suffix('/').unwrap_or(path).split('/')
}

/// The captured segments when `path` matches `pattern`.
fn captures<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut pattern_segments = segments(pattern);
    let mut path_segments = segments(path);
    let mut captured = Vec::new();
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(captured),
            (Some(expected), Some(actual)) => {
                if expected.starts_with('{') && expected.ends_with('}') {
                    if actual.is_empty() {
                        return None;
                    }
                    captured.push(actual);
                } else if expected != actual {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::tests::body_json;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Endpoint {
        Me,
        UpdateMe,
        ChangeRole,
        Password,
    }

    const ROUTES: &[Route<Endpoint>] = &[
        Route::new(Method::GET, "/api/v1/users/me", Endpoint::Me),
        Route::new(Method::PATCH, "/api/v1/users/me", Endpoint::UpdateMe),
        Route::new(
            Method::POST,
            "/api/v1/users/me/password",
            Endpoint::Password,
        ),
        Route::new(Method::PATCH, "/api/v1/users/{id}", Endpoint::ChangeRole),
    ];

    #[test]
    fn matches_literals_and_captures() {
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/users/me"),
            Ok((Endpoint::Me, vec![]))
        );
        assert_eq!(
            find(ROUTES, &Method::PATCH, "/api/v1/users/me/"),
            Ok((Endpoint::UpdateMe, vec![]))
        );
        assert_eq!(
            find(ROUTES, &Method::PATCH, "/api/v1/users/0190-abc"),
            Ok((Endpoint::ChangeRole, vec!["0190-abc"]))
        );
        assert_eq!(
            find(ROUTES, &Method::POST, "/api/v1/users/me/password"),
            Ok((Endpoint::Password, vec![]))
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/api/v1/users",
            "/api/v1/users/",
            "/api/v1/users//",
            "/api/v1/users/a/b",
            "/api/v1/users/me/password/x",
            "/other",
        ] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn the_first_matching_pattern_owns_the_path() {
        // `/users/me` is listed before `/users/{id}`, so DELETE there allows only its
        // own methods, and PATCH never reaches the capture.
        assert_eq!(
            find(ROUTES, &Method::DELETE, "/api/v1/users/me"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET, Method::PATCH]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/users/42"),
            Err(NoRoute::MethodNotAllowed(vec![Method::PATCH]))
        );
    }

    #[test]
    fn responses_are_problems_with_allow() {
        let response = NoRoute::MethodNotAllowed(vec![Method::GET, Method::PATCH]).to_response(
            &Method::DELETE,
            "/api/v1/users/me",
            "r1",
        );
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[header::ALLOW], "GET, PATCH");
        assert_eq!(response.headers()[crate::request_id::HEADER], "r1");
        assert_eq!(
            body_json(response)["type"],
            "urn:fusion:problem:method-not-allowed"
        );

        let response = NoRoute::NotFound.to_response(&Method::GET, "/api/v1/nope", "r2");
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            crate::problem::CONTENT_TYPE
        );
    }
}
