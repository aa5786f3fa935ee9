//! The campaigns route table, the list's query parameters, and who may do what.

use campaigns_domain::{CampaignStatus, Position};
use http::Method;
use kit::Problem;
use kit::auth::Role;
use kit::json::FieldErrors;
use kit::pagination::PageParams;
use kit::route::Route;

/// What a request asks the campaigns context to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListCampaigns,
    CreateCampaign,
    Sweep,
    GetCampaign,
    Join,
}

/// DESIGN §3's campaign routes and the sweep; `{id}` is a campaign id. The sweep's
/// literal path comes before `{id}`, which would otherwise own it.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/campaigns", Endpoint::ListCampaigns),
    Route::new(Method::POST, "/api/v1/campaigns", Endpoint::CreateCampaign),
    Route::new(Method::POST, "/api/v1/campaigns/sweep", Endpoint::Sweep),
    Route::new(Method::GET, "/api/v1/campaigns/{id}", Endpoint::GetCampaign),
    Route::new(Method::POST, "/api/v1/campaigns/{id}/join", Endpoint::Join),
];

/// Who creates campaigns.
pub const CREATORS: &[Role] = &[Role::Vendor, Role::Admin];

/// `GET /api/v1/campaigns`: the optional `status` filter, `limit` and `cursor`.
pub fn campaign_list_query(
    query: &str,
) -> Result<(Option<CampaignStatus>, PageParams<Position>), Problem> {
    let page = PageParams::from_query(query)?;
    let mut status = None;
    let mut errors = FieldErrors::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "status" {
            match CampaignStatus::parse(&value) {
                Some(parsed) => status = Some(parsed),
                None => errors.push("status", "must be active, successful or failed"),
            }
        }
    }
    errors.into_result().map_err(Problem::validation)?;
    Ok((status, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3_and_the_sweep() {
        for (method, path, endpoint, captures) in [
            (
                Method::GET,
                "/api/v1/campaigns",
                Endpoint::ListCampaigns,
                vec![],
            ),
            (
                Method::POST,
                "/api/v1/campaigns/",
                Endpoint::CreateCampaign,
                vec![],
            ),
            (
                Method::POST,
                "/api/v1/campaigns/sweep",
                Endpoint::Sweep,
                vec![],
            ),
            (
                Method::GET,
                "/api/v1/campaigns/c1",
                Endpoint::GetCampaign,
                vec!["c1"],
            ),
            (
                Method::POST,
                "/api/v1/campaigns/c1/join",
                Endpoint::Join,
                vec!["c1"],
            ),
        ] {
            assert_eq!(
                find(ROUTES, &method, path),
                Ok((endpoint, captures)),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn wrong_methods_and_paths() {
        for (method, path, allowed) in [
            (
                Method::DELETE,
                "/api/v1/campaigns",
                vec![Method::GET, Method::POST],
            ),
            (Method::POST, "/api/v1/campaigns/c1", vec![Method::GET]),
            (Method::GET, "/api/v1/campaigns/c1/join", vec![Method::POST]),
            (Method::GET, "/api/v1/campaigns/sweep", vec![Method::POST]),
        ] {
            assert_eq!(
                find(ROUTES, &method, path),
                Err(NoRoute::MethodNotAllowed(allowed)),
                "{method} {path}"
            );
        }
        for path in [
            "/api/v1/campaigns/c1/leave",
            "/api/v1/campaigns//join",
            "/api/v1/campaigns/c1/join/x",
        ] {
            assert_eq!(
                find(ROUTES, &Method::POST, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn who_may_do_what() {
        assert!(CREATORS.contains(&Role::Vendor) && CREATORS.contains(&Role::Admin));
        assert!(!CREATORS.contains(&Role::Customer));
    }

    #[test]
    fn lists_filter_by_status_and_page() {
        let cursor = encode_cursor(&Position {
            created_at: "2030-01-01T00:00:00.000000Z".into(),
            id: "c1".into(),
        });
        let (status, page) =
            campaign_list_query(&format!("status=successful&limit=5&cursor={cursor}")).unwrap();
        assert_eq!(status, Some(CampaignStatus::Successful));
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "c1");

        let (status, page) = campaign_list_query("").unwrap();
        assert_eq!(status, None);
        assert_eq!(page.limit, 20);
    }

    #[test]
    fn bad_list_parameters_name_the_field() {
        for (query, field) in [
            ("status=", "status"),
            ("status=ended", "status"),
            ("status=Active", "status"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = campaign_list_query(query).unwrap_err();
            assert_eq!(problem.status, 422, "{query}");
            assert_eq!(problem.errors[0].field, field, "{query}");
        }
    }
}
