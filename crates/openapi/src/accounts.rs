//! The accounts context's routes: registration, login, the caller's profile, users and
//! tenants.

use crate::{Access, Described, Op, from_table, keyed};
use accounts_api::routes::{AccessToken, Endpoint, ROUTES};
use accounts_domain::{
    Credentials, NewTenant, PasswordChange, ProfileUpdate, Registration, RoleChange, Tenant, User,
};

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("accounts", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::Register => Op::new("Register a customer", Access::Public)
            .tenant_header()
            .describe(
                "A customer of the `x-tenant-id` tenant, which must exist (404 otherwise; \
                 `default` is set up on first use with its configured first admin, 503 \
                 while it cannot be). The email must not be registered in the tenant yet \
                 (409).",
            )
            .body::<Registration>()
            .answers::<User>(201, "Registered, as a customer.")
            .problems(&[404, 409, 503]),
        Endpoint::Login => Op::new("Log in", Access::Public)
            .tenant_header()
            .describe(
                "An access token for the user of the `x-tenant-id` tenant with this email and \
                 password; it lives an hour (there are no refresh tokens). An unknown email \
                 and a wrong password are the same 401. Repeated failures for an email or \
                 from an address are throttled: 429 with `Retry-After` seconds.",
            )
            .body::<Credentials>()
            .answers::<AccessToken>(200, "Logged in.")
            .problems(&[401, 404, 429, 503]),
        Endpoint::Me => Op::new("Read the caller", Access::Bearer)
            .answers::<User>(200, "The caller's user.")
            .problems(&[403, 404]),
        Endpoint::UpdateMe => Op::new("Change the caller's profile", Access::Bearer)
            .describe("Absent fields stay as they are.")
            .body::<ProfileUpdate>()
            .answers::<User>(200, "The changed user.")
            .problems(&[403, 404]),
        Endpoint::ChangePassword => Op::new("Change the caller's password", Access::Bearer)
            .describe(
                "The current password must match (else 422 on `current_password`). Every \
                 token issued before stops working: log in again.",
            )
            .body::<PasswordChange>()
            .answers_empty(204, "Changed.")
            .problems(&[403, 404, 503]),
        Endpoint::GetUser => Op::new("Read a user", Access::Roles("admin, service"))
            .describe(
                "A user of the caller's tenant. `service` is a component's token (the \
                 notifications context reading a customer's email).",
            )
            .answers::<User>(200, "The user.")
            .problems(&[404]),
        Endpoint::ChangeRole => Op::new("Change a user's role", Access::Roles("admin"))
            .describe(
                "Every token the user was issued before stops working, so the old role is \
                 gone at once. The tenant's last admin keeps the role (409).",
            )
            .body::<RoleChange>()
            .answers::<User>(200, "The changed user.")
            .problems(&[404, 409, 503]),
        Endpoint::CreateTenant => Op::new("Create a tenant", Access::OperatorKey)
            .describe(
                "A platform operator creates a tenant with its first admin, in one step; \
                 an existing id (`default` always exists) is 409. Off while the \
                 `operator_key` variable is empty.",
            )
            .body::<NewTenant>()
            .answers::<Tenant>(201, "Created, with its first admin.")
            .problems(&[409]),
    }
}
