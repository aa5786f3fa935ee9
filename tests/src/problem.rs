//! What every error answer must be: `application/problem+json` whose `status` is the HTTP
//! status, with a `type` and a `title`.

use serde_json::Value;
use testing::Reply;

/// Checks that `reply` is a problem with `status` and returns its body.
pub fn assert_problem(reply: &Reply, status: u16) -> Value {
    assert_eq!(
        reply.status, status,
        "expected a {status} problem, got body: {}",
        reply.body
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "a {status} answer must be application/problem+json, not {content_type:?}; body: {}",
        reply.body
    );
    let problem = reply.json();
    assert_eq!(
        problem["status"], status,
        "the problem's status must equal the HTTP status: {problem}"
    );
    for member in ["type", "title"] {
        assert!(
            problem[member].is_string(),
            "the problem has no {member:?}: {problem}"
        );
    }
    problem
}

/// Checks that `reply` is a 422 problem whose `errors` name `field`.
pub fn assert_field_error(reply: &Reply, field: &str) -> Value {
    let problem = assert_problem(reply, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a 422 problem must list its errors: {problem}"))
        .iter()
        .map(|error| error["field"].as_str().unwrap_or_default())
        .collect();
    assert!(
        fields.contains(&field),
        "the errors must name {field:?}, they name {fields:?}: {problem}"
    );
    problem
}
