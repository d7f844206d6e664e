//! The authorization matrix: every route the app registers, and what each role gets
//! from it, kept as data.
//!
//! - `the_matrix_has_one_row_for_every_route_the_source_registers` reads the route
//!   registrations under `src/web` and fails for a route without a row, or a row whose
//!   route is gone.
//! - `every_route_answers_each_role_as_the_matrix_says` walks the whole table on a
//!   real server, as each role, and as the owner against a workspace they are not a
//!   member of, and checks that no refused request changed anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};

use crate::helpers::api::{issue_key, Credentials};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    every_route_answers_each_role_as_the_matrix_says,
    an_admin_of_another_workspace_reaches_nothing_of_this_one,
);

/// What a role gets from a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Through every gate: any answer but 403, 404, 405, a server error, or a redirect
    /// to the sign-in page. (A form error, 400 or 422, is "allowed": the probes of
    /// state-changing routes send empty forms on purpose.)
    Allowed,
    /// Exactly 403, and not the cross-site/form-token refusal.
    Forbidden,
    /// 303 to /login.
    SignIn,
    /// 404.
    NotFound,
}

use Expect::{Allowed as A, Forbidden as F, NotFound as N, SignIn as S};

/// The columns of the matrix, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Owner,
    Admin,
    ComplianceReviewer,
    Member,
    /// A custom role holding only `customers.view`.
    Viewer,
    Anonymous,
}

const ROLES: [Role; 6] = [
    Role::Owner,
    Role::Admin,
    Role::ComplianceReviewer,
    Role::Member,
    Role::Viewer,
    Role::Anonymous,
];

type Fields = &'static [(&'static str, &'static str)];

/// What a role the row lets through sends.
#[derive(Clone, Copy, Debug)]
enum Probe {
    /// The row's form: it changes nothing even when it is let through.
    Same,
    /// This form instead (an empty or invalid one): the row's form would really act.
    Harmless(Fields),
    /// Not sent: any accepted request would change state or end the client's session.
    Skip(&'static str),
}

/// One row: a method and route pattern as registered, and per role what it gets.
struct Route {
    method: &'static str,
    pattern: &'static str,
    /// Owner, Admin, Compliance reviewer, Member, Viewer, Anonymous.
    expect: [Expect; 6],
    /// What the roles the row refuses send: the real action, so that a refusal is about
    /// who asks and not about what was sent. `{customer}`, `{member_user}`,
    /// `{member_role}` and `{admin_role}` in values are replaced by real ids.
    form: Fields,
    allowed: Probe,
}

const fn get(pattern: &'static str, expect: [Expect; 6]) -> Route {
    Route {
        method: "GET",
        pattern,
        expect,
        form: &[],
        allowed: Probe::Same,
    }
}

const fn post(pattern: &'static str, expect: [Expect; 6], form: Fields, allowed: Probe) -> Route {
    Route {
        method: "POST",
        pattern,
        expect,
        form,
        allowed,
    }
}

const NO_FIELDS: Fields = &[];
const SAME: Probe = Probe::Same;
const EMPTY: Probe = Probe::Harmless(NO_FIELDS);

/// The pages and forms. Columns: Owner, Admin, Compliance reviewer, Member, Viewer
/// (custom role, customers.view only), Anonymous.
#[rustfmt::skip]
static WEB_ROUTES: &[Route] = &[
    // Signing in and out.
    get("/", [A, A, A, A, A, S]),
    // Setup exists only until the first account does.
    get("/setup", [N, N, N, N, N, N]),
    post("/setup", [N, N, N, N, N, N], &[
        ("name", "Mallory"), ("email", "mallory@example.com"), ("password", "a long enough password"),
        ("password_confirm", "a long enough password"), ("workspace", "Mallory Shop"),
    ], SAME),
    // Signed in, /login sends you home.
    get("/login", [A, A, A, A, A, A]),
    // Wrong credentials: 401 and the form again, whoever asks.
    post("/login", [A, A, A, A, A, A], &[("email", "nobody@example.com"), ("password", "not anybody's password")], SAME),
    // No password step is pending for any of these clients: back to /login.
    get("/login/totp", [S, S, S, S, S, S]),
    post("/login/totp", [S, S, S, S, S, S], &[("code", "000000")], SAME),
    post("/logout", [A, A, A, A, A, S], NO_FIELDS, Probe::Skip("signs the client out")),
    // Public: health, assets, and invitation links (the token is the credential).
    get("/healthz", [A, A, A, A, A, A]),
    get("/static/app.css", [A, A, A, A, A, A]),
    get("/static/app.js", [A, A, A, A, A, A]),
    get("/invitations/{token}", [A, A, A, A, A, A]),
    // The invitation is for a new address, so an empty form is a 422 asking for a name and password.
    post("/invitations/{token}", [A, A, A, A, A, A], NO_FIELDS, SAME),
    // A forgotten password: asking answers alike for any address (this one has no account,
    // so nothing is sent); the made-up token is no reset link, so its page says so (410).
    get("/password/forgot", [A, A, A, A, A, A]),
    post("/password/forgot", [A, A, A, A, A, A], &[("email", "nobody@example.com")], SAME),
    get("/password/forgot/sent", [A, A, A, A, A, A]),
    get("/password/reset/{token}", [A, A, A, A, A, A]),
    post("/password/reset/{token}", [A, A, A, A, A, A],
        &[("password", "a long enough password"), ("password_confirm", "a long enough password")], SAME),

    // The user's own settings.
    get("/settings/security", [A, A, A, A, A, S]),
    // One's own time zone: an unknown one is a 422 next to the field.
    get("/settings/preferences", [A, A, A, A, A, S]),
    post("/settings/preferences", [A, A, A, A, A, S], &[("time_zone", "Europe/Berlin")], EMPTY),
    post("/settings/security/sign-out-everywhere", [A, A, A, A, A, S], NO_FIELDS,
        Probe::Skip("ends the client's own sessions")),
    // An empty form is a 422 asking for the new password; the current one is never checked.
    post("/settings/security/password", [A, A, A, A, A, S],
        &[("current_password", "a long enough password"), ("new_password", "another long enough password"),
          ("new_password_confirm", "another long enough password")], EMPTY),
    // None of these users has two-step sign-in on: there are no codes to replace.
    post("/settings/security/recovery-codes", [A, A, A, A, A, S],
        &[("password", "a long enough password"), ("code", "000000")], SAME),
    get("/settings/security/totp", [A, A, A, A, A, S]),
    // Puts a fresh secret in the session only.
    post("/settings/security/totp/start", [A, A, A, A, A, S], NO_FIELDS, SAME),
    post("/settings/security/totp/confirm", [A, A, A, A, A, S], &[("code", "000000")], SAME),
    // None of these users has two-step sign-in on: nothing to turn off.
    post("/settings/security/totp/disable", [A, A, A, A, A, S], &[("password", "wrong"), ("code", "000000")], SAME),
    get("/settings/workspaces", [A, A, A, A, A, S]),
    // Creating a workspace: the account owner and account admins only (the Admin role
    // of a workspace is no account admin).
    post("/settings/workspaces", [A, F, F, F, F, S], &[("name", "Sneaky Shop")], Probe::Harmless(&[("name", "")])),

    // A workspace's settings: settings.manage.
    get("/w/{workspace}/settings/workspace", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/workspace", [A, A, F, F, F, S],
        &[("name", "Renamed Shop"), ("identifier_mode", "id_or_email"), ("pii_keys", "")],
        Probe::Harmless(&[("name", "")])),
    get("/w/{workspace}/settings/api-keys", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/api-keys", [A, A, F, F, F, S], &[("name", "Sneaky key")], Probe::Harmless(&[("name", "")])),
    post("/w/{workspace}/settings/api-keys/{id}/revoke", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("revokes the key")),
    // Data-subject requests: handled with requests.manage, read with audit.view too.
    get("/w/{workspace}/requests", [A, A, A, F, F, S]),
    post("/w/{workspace}/requests", [A, A, F, F, F, S],
        &[("kind", "both"), ("email", "sneaky@example.com"), ("verification", "none"), ("received_on", "2026-01-01")],
        Probe::Harmless(&[("kind", "")])),
    get("/w/{workspace}/requests/new", [A, A, F, F, F, S]),
    get("/w/{workspace}/requests/{id}", [A, A, A, F, F, S]),
    post("/w/{workspace}/requests/{id}/extend", [A, A, F, F, F, S], &[("days", "60"), ("reason", "Sneaky")],
        Probe::Harmless(&[("days", "0")])),
    post("/w/{workspace}/requests/{id}/erase", [A, A, F, F, F, S], &[("intent", "delete")], Probe::Skip("starts an erasure")),
    post("/w/{workspace}/requests/{id}/export", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("writes an export")),
    get("/w/{workspace}/requests/{id}/export.json", [A, A, F, F, F, S]),
    get("/w/{workspace}/requests/{id}/export.html", [A, A, F, F, F, S]),
    post("/w/{workspace}/requests/{id}/close", [A, A, F, F, F, S], &[("outcome", "completed")],
        Probe::Harmless(&[("outcome", "")])),
    get("/w/{workspace}/settings/destinations", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/destinations", [A, A, F, F, F, S],
        &[("name", "Sneaky"), ("url", "https://collector.example.net/"), ("events", "customer.deleted"), ("include_identifiers", "on")],
        Probe::Harmless(&[("name", "")])),
    get("/w/{workspace}/settings/destinations/{id}", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/destinations/{id}", [A, A, F, F, F, S],
        &[("name", "Sneaky"), ("url", "https://collector.example.net/"), ("events", "customer.deleted"), ("include_identifiers", "on")],
        Probe::Harmless(&[("name", "")])),
    post("/w/{workspace}/settings/destinations/{id}/rotate", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("rotates the secret")),
    post("/w/{workspace}/settings/destinations/{id}/pause", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("pauses the destination")),
    post("/w/{workspace}/settings/destinations/{id}/resume", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("resumes the destination")),
    post("/w/{workspace}/settings/destinations/{id}/remove", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("removes the destination")),
    post("/w/{workspace}/settings/destinations/{id}/test", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("sends a request")),
    post("/w/{workspace}/settings/destinations/{id}/deliveries/{event}/resend", [A, A, F, F, F, S], NO_FIELDS,
        Probe::Skip("sends the event again")),
    get("/w/{workspace}/settings/retention", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/retention", [A, A, F, F, F, S],
        &[("action", "delete"), ("days", "1")],
        Probe::Harmless(&[("days", "")])),
    get("/w/{workspace}/settings/retention/{id}", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/retention/{id}", [A, A, F, F, F, S],
        &[("action", "delete"), ("days", "1")],
        Probe::Harmless(&[("days", "")])),
    post("/w/{workspace}/settings/retention/{id}/pause", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("pauses the policy")),
    post("/w/{workspace}/settings/retention/{id}/resume", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("resumes the policy")),
    post("/w/{workspace}/settings/retention/{id}/delete", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("deletes the policy")),
    get("/w/{workspace}/customers/import", [A, A, F, F, F, S]),
    // Not multipart: the upload page with its error, and no job.
    post("/w/{workspace}/customers/import", [A, A, F, F, F, S], NO_FIELDS, SAME),
    // An import's preview needs settings.manage.
    get("/w/{workspace}/imports/{id}", [A, A, F, F, F, S]),

    // The team and roles: team.manage; handing over the account: the owner only.
    get("/w/{workspace}/settings/team", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/team/invite", [A, A, F, F, F, S],
        &[("email", "intruder@example.com"), ("role", "{admin_role}")], EMPTY),
    post("/w/{workspace}/settings/team/invitations/{invitation}/revoke", [A, A, F, F, F, S], NO_FIELDS,
         Probe::Skip("revokes an invitation")),
    post("/w/{workspace}/settings/team/transfer", [A, F, F, F, F, S],
        &[("user", "{member_user}"), ("password", "a long enough password")], EMPTY),
    post("/w/{workspace}/settings/team/{user}/role", [A, A, F, F, F, S], &[("role", "{admin_role}")], EMPTY),
    // Disabling, enabling and signing out a person reach every workspace they are in:
    // the account owner and account admins only, not a workspace's Admin.
    post("/w/{workspace}/settings/team/{user}/disable", [A, F, F, F, F, S], NO_FIELDS,
        Probe::Skip("disables the member")),
    // The member is enabled already: nothing to do.
    post("/w/{workspace}/settings/team/{user}/enable", [A, F, F, F, F, S], NO_FIELDS, SAME),
    post("/w/{workspace}/settings/team/{user}/sign-out", [A, F, F, F, F, S], NO_FIELDS,
        Probe::Skip("ends the member's sessions")),
    // Naming account admins: the account owner only. Neither grant nor revoke: a 400.
    post("/w/{workspace}/settings/team/{user}/account-admin", [A, F, F, F, F, S], &[("account_admin", "grant")],
        Probe::Harmless(&[("account_admin", "")])),
    post("/w/{workspace}/settings/team/{user}/remove", [A, A, F, F, F, S], NO_FIELDS,
        Probe::Skip("removes the member")),
    get("/w/{workspace}/settings/roles", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/roles", [A, A, F, F, F, S],
        &[("name", "Sneaky role"), ("permission", "customers.delete_all")], Probe::Harmless(&[("name", "")])),
    get("/w/{workspace}/settings/roles/new", [A, A, F, F, F, S]),
    get("/w/{workspace}/settings/roles/{role}", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/roles/{role}", [A, A, F, F, F, S],
        &[("name", "Viewer"), ("permission", "customers.view"), ("permission", "customers.delete_all")],
        Probe::Harmless(&[("name", "")])),
    post("/w/{workspace}/settings/roles/{role}/delete", [A, A, F, F, F, S], NO_FIELDS,
        Probe::Skip("deletes the custom role")),

    // Customers: customers.view to look; the erasing permission of each action to act.
    get("/w/{workspace}/customers", [A, A, A, A, A, S]),
    get("/w/{workspace}/customers/count", [A, A, A, A, A, S]),
    get("/w/{workspace}/customers/{id}", [A, A, A, A, A, S]),
    post("/w/{workspace}/customers/bulk", [A, A, F, F, F, S],
        &[("intent", "delete_selected"), ("ids", "{customer}")], EMPTY),
    get("/w/{workspace}/customers/{id}/delete", [A, A, F, F, F, S]),
    post("/w/{workspace}/customers/{id}/delete", [A, A, F, F, F, S], &[("suppress", "on")],
        Probe::Skip("deletes the customer")),
    get("/w/{workspace}/customers/{id}/archive", [A, A, F, F, F, S]),
    post("/w/{workspace}/customers/{id}/archive", [A, A, F, F, F, S], NO_FIELDS,
        Probe::Skip("anonymizes the customer")),
    // Legal hold: the Owner and Admin roles only. Without a reason nothing is held.
    post("/w/{workspace}/customers/{id}/legal-hold", [A, A, F, F, F, S], &[("reason", "litigation")], EMPTY),
    get("/w/{workspace}/customers/delete-all", [A, A, F, F, F, S]),
    post("/w/{workspace}/customers/delete-all", [A, A, F, F, F, S], &[("workspace_name", "Acme Shop")], EMPTY),
    get("/w/{workspace}/customers/delete-all/confirm", [A, A, F, F, F, S]),
    // No code was ever sent, so there is no challenge a code could answer.
    post("/w/{workspace}/customers/delete-all/confirm", [A, A, F, F, F, S], &[("code", "000000")], SAME),

    // Jobs. `{id}` is a delete job still in preview: its page and actions need customers.delete.
    get("/w/{workspace}/jobs", [A, A, A, A, A, S]),
    get("/w/{workspace}/jobs/{id}", [A, A, F, F, F, S]),
    get("/w/{workspace}/jobs/{id}/progress.json", [A, A, F, F, F, S]),
    post("/w/{workspace}/jobs/{id}/confirm", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("starts the deletion")),
    post("/w/{workspace}/jobs/{id}/discard", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("discards the preview")),
    // A job that waits for the owner's code: send it, then type it.
    post("/w/{workspace}/jobs/{id}/code", [A, A, F, F, F, S], NO_FIELDS, Probe::Skip("mails a code to the owner")),
    post("/w/{workspace}/jobs/{id}/code/confirm", [A, A, F, F, F, S], NO_FIELDS, SAME),
    // The owner's code: seen by whoever manages the settings, changed by the owner alone.
    get("/w/{workspace}/settings/owner-code", [A, A, F, F, F, S]),
    post("/w/{workspace}/settings/owner-code", [A, F, F, F, F, S], &[("threshold", "50")],
         Probe::Harmless(&[("threshold", "not a number")])),
    // A preview is not running: there is nothing to cancel.
    post("/w/{workspace}/jobs/{id}/cancel", [A, A, F, F, F, S], NO_FIELDS, SAME),
    // A receipt: audit.view, or the person who ran the erasure (the owner, here).
    get("/w/{workspace}/receipts/{receipt}", [A, A, A, F, F, S]),
    get("/w/{workspace}/receipts/{receipt}.json", [A, A, A, F, F, S]),

    // Suppressions: read with suppressions.manage or audit.view; change with suppressions.manage.
    get("/w/{workspace}/suppressions", [A, A, A, F, F, S]),
    post("/w/{workspace}/suppressions/lookup", [A, A, A, F, F, S], &[("identifier", "suppressed-1")], SAME),
    post("/w/{workspace}/suppressions/add", [A, A, F, F, F, S], &[("identifier", "c-main"), ("reason", "manual")],
        Probe::Harmless(&[("identifier", "")])),
    get("/w/{workspace}/suppressions/export.csv", [A, A, A, F, F, S]),
    get("/w/{workspace}/suppressions/{id}/unsuppress", [A, A, F, F, F, S]),
    post("/w/{workspace}/suppressions/{id}/unsuppress", [A, A, F, F, F, S], NO_FIELDS,
        Probe::Skip("frees the identifier")),

    // Audit: audit.view.
    get("/w/{workspace}/audit", [A, A, A, F, F, S]),
    post("/w/{workspace}/audit/verify", [A, A, A, F, F, S], NO_FIELDS, SAME),
    get("/w/{workspace}/audit/export.csv", [A, A, A, F, F, S]),
    get("/w/{workspace}/audit/export.jsonl", [A, A, A, F, F, S]),
    get("/w/{workspace}/anonymized", [A, A, A, F, F, S]),
];

/// How a Track API call presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    ValidKey,
    NoCredentials,
    /// The workspace's site id with a secret that is no key.
    WrongSecret,
    RevokedKey,
    /// No key, but the owner's signed-in browser session: the API never takes cookies.
    OwnerSession,
}

const CREDENTIALS: [Credential; 5] = [
    Credential::ValidKey,
    Credential::NoCredentials,
    Credential::WrongSecret,
    Credential::RevokedKey,
    Credential::OwnerSession,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ApiExpect {
    /// Past authentication: anything but 401, 403 or a server error.
    Accepted,
    /// 401 with a `WWW-Authenticate` challenge.
    Unauthorized,
}

use ApiExpect::{Accepted as OK, Unauthorized as NO};

/// One call of the API: `{identifier}` in the pattern, and a JSON body or none.
type Call = (&'static str, Option<&'static str>);

struct ApiRoute {
    method: &'static str,
    /// The whole path, with the version's prefix.
    pattern: &'static str,
    /// Valid key, no credentials, wrong secret, revoked key, owner's session only.
    expect: [ApiExpect; 5],
    /// What refused credentials send: the real call, which would change data.
    real: Call,
    /// What the valid key sends: a call that passes authentication and changes nothing
    /// (`cio_0` is no valid identifier; `nobody-here` is nobody).
    probe: Call,
}

static API_ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: "PUT",
        pattern: "/api/v1/customers/{identifier}",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-new", Some(r#"{"email":"new@example.com"}"#)),
        probe: ("cio_0", Some(r#"{"email":"new@example.com"}"#)),
    },
    ApiRoute {
        method: "DELETE",
        pattern: "/api/v1/customers/{identifier}",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-main", None),
        probe: ("nobody-here", None),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/customers/{identifier}/events",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-main", Some(r#"{"name":"purchase"}"#)),
        probe: ("cio_0", Some(r#"{"name":"purchase"}"#)),
    },
    ApiRoute {
        method: "PUT",
        pattern: "/api/v1/customers/{identifier}/devices",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-main", Some(r#"{"device":{"id":"tok-1","platform":"ios"}}"#)),
        probe: ("cio_0", Some(r#"{"device":{"id":"tok-1","platform":"ios"}}"#)),
    },
    ApiRoute {
        method: "DELETE",
        pattern: "/api/v1/customers/{identifier}/devices/{device_id}",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-main", None),
        probe: ("nobody-here", None),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/customers/{identifier}/suppress",
        expect: [OK, NO, NO, NO, NO],
        real: ("c-main", None),
        probe: ("cio_0", None),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/customers/{identifier}/unsuppress",
        expect: [OK, NO, NO, NO, NO],
        real: ("suppressed-1", None),
        probe: ("nobody-here", None),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/events",
        expect: [OK, NO, NO, NO, NO],
        real: ("", Some(r#"{"name":"viewed","anonymous_id":"device-1"}"#)),
        probe: ("", Some(r#"{"name":"viewed"}"#)),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/merge_customers",
        expect: [OK, NO, NO, NO, NO],
        real: (
            "",
            Some(r#"{"primary":{"id":"c-main"},"secondary":{"id":"c-other"}}"#),
        ),
        probe: (
            "",
            Some(r#"{"primary":{"cio_id":"0"},"secondary":{"id":"c-main"}}"#),
        ),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/segments/{segment}/add_customers",
        expect: [OK, NO, NO, NO, NO],
        real: ("1", Some(r#"{"ids":["c-main"]}"#)),
        probe: ("1", Some(r#"{"ids":["c-main"]}"#)),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/segments/{segment}/remove_customers",
        expect: [OK, NO, NO, NO, NO],
        real: ("1", Some(r#"{"ids":["c-main"]}"#)),
        probe: ("1", Some(r#"{"ids":["c-main"]}"#)),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/forms/{form}/submit",
        expect: [OK, NO, NO, NO, NO],
        real: ("signup", Some(r#"{"data":{"email":"new@example.com"}}"#)),
        probe: ("signup", Some(r#"{"data":{"email":"new@example.com"}}"#)),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/push/events",
        expect: [OK, NO, NO, NO, NO],
        real: ("", Some(r#"{"delivery_id":"d1","event":"opened"}"#)),
        probe: ("", Some(r#"{"delivery_id":"d1","event":"opened"}"#)),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v1/metrics",
        expect: [OK, NO, NO, NO, NO],
        real: ("", Some(r#"{"delivery_id":"d1","metric":"opened"}"#)),
        probe: ("", Some(r#"{"delivery_id":"d1","metric":"opened"}"#)),
    },
    ApiRoute {
        method: "GET",
        pattern: "/api/v1/accounts/region",
        expect: [OK, NO, NO, NO, NO],
        real: ("", None),
        probe: ("", None),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v2/entity",
        expect: [OK, NO, NO, NO, NO],
        real: (
            "",
            Some(r#"{"type":"person","action":"delete","identifiers":{"id":"c-main"}}"#),
        ),
        probe: (
            "",
            Some(r#"{"type":"person","action":"delete","identifiers":{"id":"nobody-here"}}"#),
        ),
    },
    ApiRoute {
        method: "POST",
        pattern: "/api/v2/batch",
        expect: [OK, NO, NO, NO, NO],
        real: (
            "",
            Some(r#"{"batch":[{"type":"person","action":"delete","identifiers":{"id":"c-main"}}]}"#),
        ),
        probe: (
            "",
            Some(r#"{"batch":[{"type":"person","action":"delete","identifiers":{"id":"nobody-here"}}]}"#),
        ),
    },
];

/// The Track API's scopes, and the files whose resources each holds.
const API_PREFIX: &str = "/api/v1";
const API_V2_PREFIX: &str = "/api/v2";
const API_V2_FILE: &str = "api/batch.rs";

// ---------------------------------------------------------------------------------
// Completeness: the table against the source.
// ---------------------------------------------------------------------------------

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// `const NAME: &str = "value";` declarations of a file, for resources named by a constant.
fn string_constants(source: &str) -> BTreeMap<String, String> {
    let mut constants = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let Some(rest) = line.strip_prefix("const ") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(':') else {
            continue;
        };
        let Some((_, value)) = rest.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_end_matches(';').trim();
        if let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            constants.insert(name.trim().to_owned(), value.to_owned());
        }
    }
    constants
}

fn skip_whitespace(text: &str) -> &str {
    text.trim_start()
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every (METHOD, pattern) the files under `src/web` register: each
/// `web::resource(PATTERN)` and the `.route(web::METHOD()` calls that follow it up to
/// the next resource. Resources of files under `src/web/api` are inside `/api/v1`, but
/// those of `API_V2_FILE`, inside `/api/v2`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(!files.is_empty(), "no source files under {}", root.display());
    let mut routes = BTreeSet::new();
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let raw = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {relative}: {e}"));
        // Comments could mention registrations; they register nothing.
        let source: String = raw
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let constants = string_constants(&source);
        let prefix = if relative == API_V2_FILE {
            API_V2_PREFIX
        } else if relative.starts_with("api/") {
            API_PREFIX
        } else {
            ""
        };

        // Registrations this parser does not follow would slip past it: refuse them.
        for (at, _) in source.match_indices("web::scope(") {
            let argument = skip_whitespace(&source[at + "web::scope(".len()..]);
            assert!(
                relative == "api/mod.rs"
                    && [API_PREFIX, API_V2_PREFIX]
                        .iter()
                        .any(|prefix| argument.starts_with(&format!("\"{prefix}\""))),
                "src/web/{relative} opens a web::scope the matrix's parser does not know: \
                 teach registered_routes() its prefix"
            );
        }
        if let Some(at) = source.find(".route(\"") {
            panic!(
                "src/web/{relative} registers a route by path ({}…): use web::resource(…).route(…)",
                &source[at..(at + 40).min(source.len())]
            );
        }

        let starts: Vec<usize> = source.match_indices("web::resource(").map(|(at, _)| at).collect();
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(source.len());
            let chunk = &source[start..end];
            let argument = skip_whitespace(&chunk["web::resource(".len()..]);
            let pattern = if let Some(literal) = argument.strip_prefix('"') {
                literal[..literal.find('"').expect("a closing quote")].to_owned()
            } else {
                let name = identifier_at(argument);
                constants.get(name).cloned().unwrap_or_else(|| {
                    panic!("src/web/{relative}: web::resource({name}) names no string constant of that file")
                })
            };
            let mut methods = Vec::new();
            for (at, _) in chunk.match_indices(".route(") {
                let after = skip_whitespace(&chunk[at + ".route(".len()..]);
                let method = after.strip_prefix("web::").map(identifier_at).unwrap_or_else(|| {
                    panic!("src/web/{relative}: a .route( of {pattern} is not web::METHOD()")
                });
                methods.push(method.to_uppercase());
            }
            assert!(
                !methods.is_empty(),
                "src/web/{relative}: web::resource({pattern:?}) has no .route(web::METHOD())"
            );
            for method in methods {
                routes.insert((method, format!("{prefix}{pattern}")));
            }
        }
    }
    routes
}

fn table_routes() -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let rows = WEB_ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.pattern.to_owned()))
        .chain(
            API_ROUTES
                .iter()
                .map(|r| (r.method.to_owned(), r.pattern.to_owned())),
        );
    for row in rows {
        assert!(
            seen.insert(row.clone()),
            "the matrix has two rows for {} {}",
            row.0,
            row.1
        );
    }
    seen
}

#[test]
fn the_matrix_has_one_row_for_every_route_the_source_registers() {
    let registered = registered_routes();
    let table = table_routes();
    let missing: Vec<String> = registered
        .difference(&table)
        .map(|(m, p)| format!("  {m} {p}"))
        .collect();
    let stale: Vec<String> = table
        .difference(&registered)
        .map(|(m, p)| format!("  {m} {p}"))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the authorization matrix (tests/api/authorization.rs) and the routes under src/web differ.\n\
         Routes without a row (add one, with what each role must get):\n{}\n\
         Rows for routes that are no longer registered (remove them):\n{}",
        if missing.is_empty() {
            "  none".into()
        } else {
            missing.join("\n")
        },
        if stale.is_empty() {
            "  none".into()
        } else {
            stale.join("\n")
        },
    );
    // Sanity: the parser sees what the table sees, and both are sizeable.
    assert!(
        registered.len() >= 70,
        "only {} routes found: is the parser broken?",
        registered.len()
    );
}

#[test]
fn every_row_probes_its_refusals_and_says_why_it_skips() {
    for route in WEB_ROUTES {
        if route.method == "GET" {
            assert!(route.form.is_empty(), "GET {} has a form", route.pattern);
            assert!(
                matches!(route.allowed, Probe::Same),
                "GET {} is always sent as is",
                route.pattern
            );
        }
        if let Probe::Skip(reason) = route.allowed {
            assert!(
                !reason.is_empty(),
                "{} {}: say why it is skipped",
                route.method,
                route.pattern
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// The walk.
// ---------------------------------------------------------------------------------

/// Routes that end the session they are posted in, even a signed-out one (an anonymous
/// /logout purges its session, form token included).
const SESSION_ENDERS: &[&str] = &["/logout", "/settings/security/sign-out-everywhere"];

const WS: &str = "acme-shop";
const OTHER_WS: &str = "other-shop";
const PASSWORD: &str = "a long enough password";
const INVITATION_TOKEN: &str = "an-invitation-token-made-up-for-the-matrix-0123";

/// Everything the rows' placeholders stand for.
struct World {
    app: TestApp,
    /// One signed-in client per role (Anonymous: signed out, with a session), and its form token.
    /// The tokens change when a session ends (see `SESSION_ENDERS`).
    clients: Vec<(reqwest::Client, std::sync::Mutex<String>)>,
    customer: i64,
    other_customer: i64,
    receipt: String,
    preview_job: i64,
    import_job: i64,
    suppression: i64,
    api_key: i64,
    destination: i64,
    delivery: i64,
    request: i64,
    retention_policy: i64,
    viewer_role: i64,
    member_role: i64,
    admin_role: i64,
    member_user: i64,
    key: Credentials,
    revoked_key: Credentials,
}

fn text(app: &TestApp, sql: &str) -> String {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = Text)]
        v: String,
    }
    let mut conn = app.db();
    diesel::sql_query(sql)
        .get_result::<One>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .v
}

/// What a refused request must leave as it was: row counts, and the columns the
/// refused actions would change (a revoke, a disable or an archive keeps the counts).
const STATE: &[(&str, &str)] = &[
    ("workspaces", "SELECT COUNT(*) AS v FROM workspaces"),
    (
        "workspace names",
        "SELECT COALESCE(SUM(LENGTH(name) + LENGTH(identifier_mode)), 0) AS v FROM workspaces",
    ),
    ("customers", "SELECT COUNT(*) AS v FROM customers"),
    (
        "customers with an email",
        "SELECT COUNT(email) AS v FROM customers",
    ),
    (
        "anonymized customers",
        "SELECT COUNT(archived_at) AS v FROM customers",
    ),
    (
        "customers on legal hold",
        "SELECT COUNT(legal_hold_reason) AS v FROM customers",
    ),
    ("events", "SELECT COUNT(*) AS v FROM events"),
    ("jobs", "SELECT COUNT(*) AS v FROM jobs"),
    (
        "jobs in preview",
        "SELECT COUNT(*) AS v FROM jobs WHERE state = 'preview'",
    ),
    (
        "jobs asked to cancel",
        "SELECT COUNT(*) AS v FROM jobs WHERE cancel_requested",
    ),
    ("suppressions", "SELECT COUNT(*) AS v FROM suppressions"),
    ("users", "SELECT COUNT(*) AS v FROM users"),
    ("disabled users", "SELECT COUNT(*) AS v FROM users WHERE disabled"),
    (
        "account admins",
        "SELECT COUNT(*) AS v FROM users WHERE is_account_admin",
    ),
    (
        "sessions of the member",
        "SELECT COUNT(*) AS v FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE u.email = 'member@example.com'",
    ),
    (
        "owners",
        "SELECT COALESCE(SUM(id), 0) AS v FROM users WHERE is_owner",
    ),
    (
        "users with two-step sign-in",
        "SELECT COUNT(totp_secret) AS v FROM users",
    ),
    ("memberships", "SELECT COUNT(*) AS v FROM memberships"),
    (
        "membership roles",
        "SELECT COALESCE(SUM(role_id * user_id), 0) AS v FROM memberships",
    ),
    ("roles", "SELECT COUNT(*) AS v FROM roles"),
    (
        "role names and permissions",
        "SELECT COALESCE(SUM(LENGTH(name) + LENGTH(permissions)), 0) AS v FROM roles",
    ),
    ("api_keys", "SELECT COUNT(*) AS v FROM api_keys"),
    ("revoked api_keys", "SELECT COUNT(revoked_at) AS v FROM api_keys"),
    ("invitations", "SELECT COUNT(*) AS v FROM invitations"),
    (
        "accepted invitations",
        "SELECT COUNT(accepted_at) AS v FROM invitations",
    ),
    ("one-time codes", "SELECT COUNT(*) AS v FROM otp_challenges"),
    (
        "password reset links",
        "SELECT COUNT(*) AS v FROM password_resets",
    ),
    (
        "passwords and recovery codes changed",
        "SELECT COUNT(*) AS v FROM audit_log WHERE action IN \
         ('password.changed', 'password.reset', 'totp.recovery_codes_regenerated')",
    ),
];

fn snapshot(app: &TestApp) -> BTreeMap<&'static str, i64> {
    STATE.iter().map(|(name, sql)| (*name, app.number(sql))).collect()
}

fn assert_unchanged(app: &TestApp, before: &BTreeMap<&'static str, i64>, walk: &str) {
    let after = snapshot(app);
    let changed: Vec<String> = before
        .iter()
        .filter(|(name, value)| after[*name] != **value)
        .map(|(name, value)| format!("{name}: {value} → {}", after[name]))
        .collect();
    assert!(
        changed.is_empty(),
        "the {walk} changed data: {}",
        changed.join(", ")
    );
}

fn user_sql(hash: &str, email: &str, name: &str, workspace: &str, role: &str) -> String {
    format!(
        "INSERT INTO users (email, name, password_hash, is_owner, recovery_codes, disabled, created_at) \
         VALUES ('{email}', '{name}', '{hash}', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
         INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT u.id, w.id, r.id, '2026-01-01 00:00:00' FROM users u, workspaces w, roles r \
         WHERE u.email = '{email}' AND w.slug = '{workspace}' AND {role};"
    )
}

fn customer_sql(workspace: &str, external_id: &str, events: usize) -> String {
    let mut sql = format!(
        "INSERT INTO customers (workspace_id, external_id, email, name, country, attributes, created_at, last_seen_at) \
         SELECT id, '{external_id}', '{external_id}@example.com', 'Person {external_id}', 'GB', '{{}}', \
         '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM workspaces WHERE slug = '{workspace}';"
    );
    for n in 0..events {
        sql.push_str(&format!(
            "INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
             SELECT workspace_id, id, 'order_{n}', '{{}}', '2026-10-01 00:00:00' FROM customers \
             WHERE external_id = '{external_id}';"
        ));
    }
    sql
}

/// The number at the end of a redirect such as `/w/acme-shop/jobs/12`.
fn trailing_id(location: &str) -> i64 {
    location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id at the end of {location:?}"))
}

async fn arrange(backend: Backend) -> World {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let owner = app.client.clone();

    // A workspace none of the users is a member of, with a customer of its own.
    app.sql(
        "INSERT INTO workspaces (name, slug, site_id, identifier_mode, pii_keys, created_at) \
         VALUES ('Other Shop', 'other-shop', 'othersiteid', 'id', '[]', '2026-01-01 00:00:00');",
    );
    app.sql(&customer_sql(OTHER_WS, "o-1", 1));
    app.sql(&customer_sql(WS, "c-main", 2));
    app.sql(&customer_sql(WS, "c-gone", 1));

    // One user per role; one hash for all of them. The custom role is this workspace's.
    app.sql(&format!(
        "INSERT INTO roles (name, builtin, permissions, created_at, workspace_id) \
         SELECT 'Viewer', NULL, 'customers.view', '2026-01-01 00:00:00', id FROM workspaces WHERE slug = '{WS}';"
    ));
    let hash = ::erasure::password::hash(PASSWORD).unwrap();
    for (email, name, role) in [
        ("admin@example.com", "Ada Admin", "r.builtin = 'admin'"),
        ("reviewer@example.com", "Cy Reviewer", "r.builtin = 'compliance'"),
        ("member@example.com", "Mia Member", "r.builtin = 'member'"),
        (
            "viewer@example.com",
            "Vic Viewer",
            "r.builtin IS NULL AND r.name = 'Viewer'",
        ),
    ] {
        app.sql(&user_sql(&hash, email, name, WS, role));
    }
    // The other workspace's own member, so that it is a real, inhabited workspace.
    app.sql(&user_sql(
        &hash,
        "stranger@example.com",
        "Sam Stranger",
        OTHER_WS,
        "r.builtin = 'owner'",
    ));

    let customer = app.number("SELECT id AS v FROM customers WHERE external_id = 'c-main'");
    let gone = app.number("SELECT id AS v FROM customers WHERE external_id = 'c-gone'");
    let other_customer = app.number("SELECT id AS v FROM customers WHERE external_id = 'o-1'");

    // A finished job with a receipt: the owner deletes a customer.
    let deleted = app
        .post_form(&format!("/w/{WS}/customers/{gone}/delete"), &[])
        .await;
    assert_eq!(
        deleted.status(),
        StatusCode::SEE_OTHER,
        "the owner deletes a customer"
    );
    let receipt = text(
        &app,
        "SELECT receipt_id AS v FROM jobs WHERE kind = 'delete' AND state = 'done' ORDER BY id LIMIT 1",
    );
    assert!(!receipt.is_empty(), "the deletion has a receipt");

    // A delete job in preview.
    let previewed = app
        .post_form(
            &format!("/w/{WS}/customers/bulk"),
            &[("intent", "delete_selected"), ("ids", &customer.to_string())],
        )
        .await;
    assert_eq!(
        previewed.status(),
        StatusCode::SEE_OTHER,
        "the owner previews a deletion"
    );
    let preview_job = trailing_id(&location(&previewed));

    // An import in preview.
    let token = app.csrf_token().await;
    let file = Form::new().part(
        "file",
        Part::bytes(b"id,name\nnew-1,Nia New\n".to_vec())
            .file_name("customers.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let uploaded = owner
        .post(app.url(&format!("/w/{WS}/customers/import?csrf_token={token}")))
        .multipart(file)
        .send()
        .await
        .unwrap();
    assert_eq!(
        uploaded.status(),
        StatusCode::SEE_OTHER,
        "the owner uploads an import"
    );
    let import_job = trailing_id(&location(&uploaded));

    // A suppression, of an identifier the API rows can name.
    let digest = ::erasure::erasure::suppress::id_digest(&app.state.secret, "suppressed-1");
    app.sql(&format!(
        "INSERT INTO suppressions (workspace_id, kind, digest, reason, created_at, created_by) \
         SELECT id, 'id', '{digest}', 'manual', '2026-01-01 00:00:00', 'user:1' FROM workspaces WHERE slug = '{WS}';"
    ));
    let suppression = app.number("SELECT id AS v FROM suppressions");

    // API keys: one in use, one revoked.
    let (api_key, key) = issue_key(&app, "Backend");
    let (revoked_id, revoked_key) = issue_key(&app, "Old backend");
    app.sql(&format!(
        "UPDATE api_keys SET revoked_at = '2026-01-01 00:00:00' WHERE id = {revoked_id}"
    ));

    // A paused destination, with one event waiting for it.
    app.sql(&format!(
        "INSERT INTO destinations (workspace_id, name, url, events, secret_nonce, paused_reason, created_by, created_at) \
         SELECT id, 'Warehouse', 'http://127.0.0.1:9/events', 'customer.deleted', 'nonce', 'owner', 1, '2026-01-01 00:00:00' \
         FROM workspaces WHERE slug = '{WS}';"
    ));
    let destination = app.number("SELECT id AS v FROM destinations");
    app.sql(&format!(
        "INSERT INTO outbox (workspace_id, destination_id, message_id, event_type, body, state, next_attempt_at, retry_from, created_at) \
         SELECT workspace_id, id, 'msg_matrix', 'customer.deleted', '{{}}', 'pending', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00' \
         FROM destinations WHERE id = {destination};"
    ));
    let delivery = app.number("SELECT id AS v FROM outbox");

    // An open data-subject request, with an export to download.
    app.sql(&format!(
        "INSERT INTO requests (workspace_id, kind, external_id, verification, received_at, due_at, state, created_by, created_at, export_expires_at) \
         SELECT id, 'both', 'requested-1', 'letter', '2026-01-01 00:00:00', '2999-01-01 00:00:00', 'open', 1, '2026-01-01 00:00:00', '2999-01-01 00:00:00' \
         FROM workspaces WHERE slug = '{WS}';"
    ));
    let request = app.number("SELECT id AS v FROM requests");
    let exports = app.data_dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    for extension in ["json", "html"] {
        std::fs::write(exports.join(format!("request-{request}.{extension}")), "{}").unwrap();
    }
    // A paused retention policy (so that no run of it starts meanwhile).
    app.sql(&format!(
        "INSERT INTO retention_policies (workspace_id, action, days, filter, paused, created_by, created_at, next_run_at, confirmed_big_run) \
         SELECT id, 'archive', 3650, '', TRUE, 1, '2026-01-01 00:00:00', '2999-01-01 00:00:00', FALSE FROM workspaces WHERE slug = '{WS}';"
    ));
    let retention_policy = app.number("SELECT id AS v FROM retention_policies");

    // An open invitation, for an address that has no account yet.
    let token_digest = app.state.secret.digest("invitation", INVITATION_TOKEN.as_bytes());
    app.sql(&format!(
        "INSERT INTO invitations (workspace_id, email, role_id, token_digest, invited_by, created_at, expires_at) \
         SELECT w.id, 'newcomer@example.com', r.id, '{token_digest}', 1, '2026-01-01 00:00:00', '2999-01-01 00:00:00' \
         FROM workspaces w, roles r WHERE w.slug = '{WS}' AND r.builtin = 'member';"
    ));

    // One client per role, signed in once, with its form token read once.
    let mut clients = Vec::new();
    for role in ROLES {
        let client = match role {
            Role::Owner => owner.clone(),
            _ => new_client(),
        };
        let email = match role {
            Role::Admin => Some("admin@example.com"),
            Role::ComplianceReviewer => Some("reviewer@example.com"),
            Role::Member => Some("member@example.com"),
            Role::Viewer => Some("viewer@example.com"),
            Role::Owner | Role::Anonymous => None,
        };
        if let Some(email) = email {
            let signed_in = app.login_with(&client, email, PASSWORD).await;
            assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{role:?} signs in");
            assert_eq!(location(&signed_in), "/", "{role:?} signs in");
        }
        let token = app.csrf_token_for(&client).await;
        clients.push((client, std::sync::Mutex::new(token)));
    }

    World {
        customer,
        other_customer,
        receipt,
        preview_job,
        import_job,
        suppression,
        api_key,
        destination,
        delivery,
        request,
        retention_policy,
        viewer_role: app.number("SELECT id AS v FROM roles WHERE name = 'Viewer' AND builtin IS NULL"),
        member_role: app.number("SELECT id AS v FROM roles WHERE builtin = 'member'"),
        admin_role: app.number("SELECT id AS v FROM roles WHERE builtin = 'admin'"),
        member_user: app.number("SELECT id AS v FROM users WHERE email = 'member@example.com'"),
        key,
        revoked_key,
        clients,
        app,
    }
}

impl World {
    /// The route's path with real values: this workspace's (or the other one's) slug, and
    /// for `{id}` the thing the segment before it names.
    fn path(&self, pattern: &str, workspace: &str, customer: i64) -> String {
        let mut previous = "";
        let mut filled = Vec::new();
        for segment in pattern.split('/') {
            let value = match segment.find('{') {
                None => segment.to_owned(),
                Some(open) => {
                    let close = segment.find('}').expect("a closing brace");
                    let value = match (&segment[open + 1..close], previous) {
                        ("workspace", _) => workspace.to_owned(),
                        ("id", "customers") => customer.to_string(),
                        ("id", "jobs") => self.preview_job.to_string(),
                        ("id", "imports") => self.import_job.to_string(),
                        ("id", "suppressions") => self.suppression.to_string(),
                        ("id", "api-keys") => self.api_key.to_string(),
                        ("id", "destinations") => self.destination.to_string(),
                        ("id", "requests") => self.request.to_string(),
                        ("id", "retention") => self.retention_policy.to_string(),
                        ("event", _) => self.delivery.to_string(),
                        ("receipt", _) => self.receipt.clone(),
                        ("user", _) => self.member_user.to_string(),
                        ("role", _) => self.viewer_role.to_string(),
                        ("token", _) => INVITATION_TOKEN.to_owned(),
                        // Only refused requests are sent (the row skips the others).
                        ("invitation", _) => "1".to_owned(),
                        (name, previous) => {
                            panic!(
                                "{pattern}: the walk has no value for {{{name}}} after /{previous}/: add one"
                            )
                        }
                    };
                    format!("{}{value}{}", &segment[..open], &segment[close + 1..])
                }
            };
            previous = segment;
            filled.push(value);
        }
        filled.join("/")
    }

    fn fields(&self, fields: Fields, customer: i64) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(key, value)| {
                let value = match *value {
                    "{customer}" => customer.to_string(),
                    "{member_user}" => self.member_user.to_string(),
                    "{member_role}" => self.member_role.to_string(),
                    "{admin_role}" => self.admin_role.to_string(),
                    other => {
                        assert!(
                            !other.starts_with('{'),
                            "no value for the form placeholder {other}"
                        );
                        other.to_owned()
                    }
                };
                ((*key).to_owned(), value)
            })
            .collect()
    }

    async fn send(&self, role: Role, method: &str, path: &str, fields: &[(String, String)]) -> Response {
        let (client, token) = &self.clients[role as usize];
        let url = self.app.url(path);
        let request = match method {
            "GET" => client.get(url),
            "POST" => {
                let token = token.lock().unwrap().clone();
                let mut form = vec![("csrf_token".to_owned(), token)];
                form.extend_from_slice(fields);
                client.post(url).form(&form)
            }
            other => panic!("the walk sends no {other}"),
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if method == "POST" && SESSION_ENDERS.contains(&path) {
            // The session, and its form token, are gone: the client's next form needs the new one.
            let fresh = self.app.csrf_token_for(client).await;
            *token.lock().unwrap() = fresh;
        }
        response
    }

    async fn call_api(&self, credential: Credential, method: &str, pattern: &str, call: Call) -> Response {
        let (identifier, body) = call;
        // Every path parameter takes the call's value (`{identifier}`, `{segment}`, …).
        let mut path = pattern.to_owned();
        while let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
            path.replace_range(open..=close, identifier);
        }
        let url = self.app.url(&path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let plain = reqwest::Client::new();
        let site = &self.key.site_id;
        let mut request = match credential {
            Credential::ValidKey => plain.request(method, url).basic_auth(site, Some(&self.key.key)),
            Credential::NoCredentials => plain.request(method, url),
            Credential::WrongSecret => plain
                .request(method, url)
                .basic_auth(site, Some("not-a-key-at-all")),
            Credential::RevokedKey => plain
                .request(method, url)
                .basic_auth(&self.revoked_key.site_id, Some(&self.revoked_key.key)),
            Credential::OwnerSession => self.clients[Role::Owner as usize].0.request(method, url),
        };
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        request.send().await.expect("an API response")
    }
}

/// Why a response is not what the row expects, if it is not.
async fn mismatch(expect: Expect, response: Response) -> Option<String> {
    let status = response.status();
    let location = location(&response);
    let to_sign_in = status.is_redirection() && location.starts_with("/login");
    let ok = match expect {
        Expect::Allowed => !(matches!(status.as_u16(), 403..=405) || status.is_server_error() || to_sign_in),
        Expect::Forbidden => {
            status == StatusCode::FORBIDDEN && {
                let body = response.text().await.unwrap_or_default();
                // The form-token refusal is a 403 too, and would hide a missing check.
                !body.contains("The form had expired")
            }
        }
        Expect::SignIn => status == StatusCode::SEE_OTHER && location == "/login",
        Expect::NotFound => status == StatusCode::NOT_FOUND,
    };
    if ok {
        return None;
    }
    Some(if location.is_empty() {
        format!("expected {expect:?}, got {status}")
    } else {
        format!("expected {expect:?}, got {status} → {location}")
    })
}

async fn every_route_answers_each_role_as_the_matrix_says(backend: Backend) {
    let started = Instant::now();
    let world = arrange(backend).await;
    let app = &world.app;
    let arranged = started.elapsed();
    let mut failures = Vec::new();
    let mut sent = 0;

    // 1. Every refusal (Forbidden, SignIn, NotFound), with the real action's form.
    let before = snapshot(app);
    for route in WEB_ROUTES {
        let path = world.path(route.pattern, WS, world.customer);
        let fields = world.fields(route.form, world.customer);
        for role in ROLES {
            let expect = route.expect[role as usize];
            if expect == Expect::Allowed {
                continue;
            }
            let response = world.send(role, route.method, &path, &fields).await;
            sent += 1;
            if let Some(why) = mismatch(expect, response).await {
                failures.push(format!("{role:?} {} {path}: {why}", route.method));
            }
        }
    }
    assert_unchanged(app, &before, "walk of refused requests");
    let denials = app.number("SELECT COUNT(*) AS v FROM audit_log WHERE action = 'permission.denied'");
    assert!(denials > 0, "refusals by permission are written to the audit log");

    // 2. The owner, with another workspace's slug (and its customer): 404 everywhere.
    let before = snapshot(app);
    for route in WEB_ROUTES
        .iter()
        .filter(|r| r.pattern.starts_with("/w/{workspace}/"))
    {
        let path = world.path(route.pattern, OTHER_WS, world.other_customer);
        let fields = world.fields(route.form, world.other_customer);
        let response = world.send(Role::Owner, route.method, &path, &fields).await;
        sent += 1;
        if let Some(why) = mismatch(Expect::NotFound, response).await {
            failures.push(format!(
                "Owner in another workspace, {} {path}: {why}",
                route.method
            ));
        }
    }
    assert_unchanged(app, &before, "walk of another workspace's routes");

    // 3. Every allowed request, with its probe; skipped ones are listed in the table.
    let before = snapshot(app);
    for route in WEB_ROUTES {
        let path = world.path(route.pattern, WS, world.customer);
        let fields = match route.allowed {
            Probe::Same => world.fields(route.form, world.customer),
            Probe::Harmless(fields) => world.fields(fields, world.customer),
            Probe::Skip(_) => continue,
        };
        for role in ROLES {
            if route.expect[role as usize] != Expect::Allowed {
                continue;
            }
            let response = world.send(role, route.method, &path, &fields).await;
            sent += 1;
            if let Some(why) = mismatch(Expect::Allowed, response).await {
                failures.push(format!("{role:?} {} {path}: {why}", route.method));
            }
        }
    }
    assert_unchanged(app, &before, "walk of allowed probes");

    // 4. The Track API: refused credentials send the real call, the valid key a probe.
    let before = snapshot(app);
    for route in API_ROUTES {
        for credential in CREDENTIALS {
            let expect = route.expect[credential as usize];
            let call = match expect {
                ApiExpect::Accepted => route.probe,
                ApiExpect::Unauthorized => route.real,
            };
            let response = world
                .call_api(credential, route.method, route.pattern, call)
                .await;
            sent += 1;
            let status = response.status();
            let challenged = response.headers().contains_key("www-authenticate");
            let ok = match expect {
                ApiExpect::Accepted => !(matches!(status.as_u16(), 401 | 403) || status.is_server_error()),
                ApiExpect::Unauthorized => status == StatusCode::UNAUTHORIZED && challenged,
            };
            if !ok {
                failures.push(format!(
                    "{credential:?} {} {} ({}): expected {expect:?}, got {status}{}",
                    route.method,
                    route.pattern,
                    call.0,
                    if challenged { " with a challenge" } else { "" }
                ));
            }
        }
    }
    assert_unchanged(app, &before, "walk of the Track API");

    eprintln!(
        "authorization matrix: {} rows, {sent} requests, arranged in {arranged:?}, walked in {:?}",
        WEB_ROUTES.len() + API_ROUTES.len(),
        started.elapsed() - arranged
    );
    assert!(
        failures.is_empty(),
        "{} of {sent} requests did not get what the matrix says:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A path, a form, and the status it must get.
type CrossCase<'a> = (String, Vec<(&'a str, &'a str)>, StatusCode);

/// The cross-workspace cases: Bo administers the other workspace (built-in Admin role,
/// no account-wide power), which Mia, a member of this one, belongs to as well. Every
/// role edit, member change and workspace action Bo can attempt, through the other
/// workspace's pages with this workspace's ids or through this workspace's pages, is
/// refused and changes nothing, and Mia's session keeps working.
async fn an_admin_of_another_workspace_reaches_nothing_of_this_one(backend: Backend) {
    let world = arrange(backend).await;
    let app = &world.app;
    let hash = ::erasure::password::hash(PASSWORD).unwrap();
    app.sql(&user_sql(
        &hash,
        "bo@example.com",
        "Bo Other",
        OTHER_WS,
        "r.builtin = 'admin'",
    ));
    app.sql(&format!(
        "INSERT INTO memberships (user_id, workspace_id, role_id, created_at) \
         SELECT {}, w.id, r.id, '2026-01-01 00:00:00' FROM workspaces w, roles r \
         WHERE w.slug = '{OTHER_WS}' AND r.builtin = 'member';",
        world.member_user
    ));
    let bo = new_client();
    assert_eq!(
        location(&app.login_with(&bo, "bo@example.com", PASSWORD).await),
        "/"
    );
    let token = app.csrf_token_for(&bo).await;
    let mia = &world.clients[Role::Member as usize].0;
    let (mia_user, this_role, other) = (world.member_user, world.viewer_role, format!("/w/{OTHER_WS}"));
    let this = format!("/w/{WS}");
    let every_permission: Vec<(&str, &str)> = [
        "customers.view",
        "customers.view_pii",
        "customers.archive",
        "customers.delete",
        "customers.delete_all",
        "suppressions.manage",
        "audit.view",
        "team.manage",
        "settings.manage",
    ]
    .into_iter()
    .map(|p| ("permission", p))
    .collect();
    let mut all_of_them = vec![("name", "Viewer")];
    all_of_them.extend(every_permission.iter().copied());
    let role = this_role.to_string();
    let admin_role = world.admin_role.to_string();
    let mia_id = mia_user.to_string();
    use StatusCode as C;
    // What Bo sends, and the status the server must answer.
    let cases: Vec<CrossCase> = vec![
        // This workspace's custom role, through the other workspace's pages: not there.
        (
            format!("{other}/settings/roles/{role}"),
            all_of_them.clone(),
            C::NOT_FOUND,
        ),
        (
            format!("{other}/settings/roles/{role}/delete"),
            vec![],
            C::NOT_FOUND,
        ),
        // Nor can it be handed out there: the change is refused, the invitation's form
        // says to choose a role from the list.
        (
            format!("{other}/settings/team/{mia_id}/role"),
            vec![("role", &role)],
            C::SEE_OTHER,
        ),
        (
            format!("{other}/settings/team/invite"),
            vec![("email", "newcomer2@example.com"), ("role", &role)],
            C::UNPROCESSABLE_ENTITY,
        ),
        // Account-wide changes of someone who is also in this workspace.
        (
            format!("{other}/settings/team/{mia_id}/disable"),
            vec![],
            C::FORBIDDEN,
        ),
        (
            format!("{other}/settings/team/{mia_id}/enable"),
            vec![],
            C::FORBIDDEN,
        ),
        (
            format!("{other}/settings/team/{mia_id}/sign-out"),
            vec![],
            C::FORBIDDEN,
        ),
        (
            format!("{other}/settings/team/{mia_id}/account-admin"),
            vec![("account_admin", "grant")],
            C::FORBIDDEN,
        ),
        (
            format!("{other}/settings/team/transfer"),
            vec![("user", &mia_id), ("password", PASSWORD)],
            C::FORBIDDEN,
        ),
        // A new workspace, which Bo would administer.
        (
            "/settings/workspaces".to_owned(),
            vec![("name", "Bo Shop")],
            C::FORBIDDEN,
        ),
        // This workspace's own pages: Bo is no member.
        (
            format!("{this}/settings/roles/{role}"),
            all_of_them.clone(),
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/roles/{role}/delete"),
            vec![],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/roles"),
            all_of_them.clone(),
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/team/{mia_id}/role"),
            vec![("role", &admin_role)],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/team/{mia_id}/disable"),
            vec![],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/team/{mia_id}/sign-out"),
            vec![],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/team/{mia_id}/remove"),
            vec![],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/team/invite"),
            vec![("email", "bo2@example.com"), ("role", &admin_role)],
            C::NOT_FOUND,
        ),
        (
            format!("{this}/settings/workspace"),
            vec![
                ("name", "Taken Over"),
                ("identifier_mode", "id"),
                ("pii_keys", ""),
            ],
            C::NOT_FOUND,
        ),
    ];
    let before = snapshot(app);
    let mut failures = Vec::new();
    for (path, fields, expected) in &cases {
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend(fields.iter().copied());
        let response = bo.post(app.url(path)).form(&form).send().await.unwrap();
        if response.status() != *expected {
            failures.push(format!(
                "POST {path}: expected {expected}, got {}",
                response.status()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_unchanged(app, &before, "walk of another workspace's admin");
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM roles WHERE workspace_id IS NOT NULL AND id = {this_role}"
        )),
        1
    );
    assert_eq!(
        text(
            app,
            &format!("SELECT permissions AS v FROM roles WHERE id = {this_role}")
        ),
        "customers.view"
    );
    assert_eq!(
        app.get_with(mia, &format!("{this}/customers")).await.status(),
        StatusCode::OK,
        "Mia's session still works"
    );
    // What Bo may do: take Mia out of the workspace Bo runs, and of that one only.
    let removed = bo
        .post(app.url(&format!("{other}/settings/team/{mia_id}/remove")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), format!("{other}/settings/team"));
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) AS v FROM memberships WHERE user_id = {mia_user}"
        )),
        1,
        "Mia is still in this workspace"
    );
    assert_eq!(
        app.get_with(mia, &format!("{this}/customers")).await.status(),
        StatusCode::OK,
        "and still signed in"
    );
}
