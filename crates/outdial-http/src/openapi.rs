//! The OpenAPI 3.1 description of the admin API, generated from the handlers by utoipa.
//!
//! Every admin handler carries `#[utoipa::path]` (its path, parameters, body and the
//! statuses it answers) and is registered through utoipa-axum's `routes!` in its module's
//! `routes()` ([`crate::routes`]), so the router and the description are built from the same
//! list: a route cannot be served without being described. [`spec`] adds what every
//! operation shares ([`add_shared_responses`]): the bearer scheme, `401`, `503`, and for the
//! operations with a body `400`, `408` and `413`.
//!
//! The description is served at `GET /api/v1/openapi.json` ([`SPEC_PATH`], no API key
//! needed: it holds no data). The provider webhooks, `/healthz` and `/metrics` are not in it.
//! A snapshot is committed as `crates/outdial-http/openapi.json`; the test
//! `openapi::the_snapshot_is_current` (in `tests/it/openapi.rs`) fails when the API changes
//! without it, and `OUTDIAL_UPDATE_OPENAPI=1 cargo nextest run -p outdial-http openapi`
//! writes it anew. A handler without `#[utoipa::path]` cannot be given to `routes!` (it does
//! not compile), `openapi::admin_routes_are_registered_only_with_their_description` refuses
//! a plain `.route(` in an admin module, and
//! `openapi::every_described_operation_is_routed_behind_the_key` checks the other direction:
//! each operation of the description is served, behind the API key.
//!
//! The enums of other crates appear as the schemas of this module ([`LeadStatusSchema`], …):
//! each lists the JSON names its type's every variant serializes to.

use outdial_core::{AnsweredBy, AttemptState, CallStatus, LeadStatus};
use outdial_engine::intake::MatchedBy;
use outdial_engine::reports::ReportName;
use outdial_engine::DispositionOutcome;
use std::borrow::Cow;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// Where the description is served.
pub const SPEC_PATH: &str = "/api/v1/openapi.json";

/// Name of the bearer security scheme in the description.
pub const BEARER: &str = "bearer";

/// The document's fixed parts: info, tags, the security scheme; the paths come from the
/// router ([`crate::routes::admin`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "outdial admin API",
        description = "The admin API of outdial, an outbound-call orchestrator. Every \
                       operation needs `Authorization: Bearer <api key>` (a key of the \
                       config's `api_keys`). Errors answer `{\"error\": \"…\"}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    // The answers named only by `IntoResponses` types (the others come with their paths).
    components(schemas(
        ErrorBody,
        crate::routes::dialer::DialerAnswer,
        crate::routes::killswitch::SwitchChange,
    )),
    tags(
        (name = "status", description = "The dialer's position and counts"),
        (name = "dialer", description = "Start, stop, and why it is not dialing"),
        (name = "leads", description = "Leads: read, explain, search, pause, resume, remove"),
        (name = "campaigns", description = "Campaigns and lead intake"),
        (name = "dnc", description = "Do-Not-Call lists"),
        (name = "attempts", description = "Attempts: business dispositions"),
        (name = "compliance", description = "Whether a number may be called"),
        (name = "killswitch", description = "Kill switches"),
        (name = "jobs", description = "Durable jobs"),
        (name = "alerts", description = "Alerts"),
        (name = "reports", description = "Reports from the attempt log"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` HTTP security scheme (`Authorization: Bearer <api key>`).
#[derive(Debug)]
pub struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key of the config's `api_keys`."))
                    .build(),
            ),
        );
    }
}

/// The body of every error answer (`ApiError`).
#[derive(Debug, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, safe to show.
    pub error: String,
}

/// An error response of `description` with an [`ErrorBody`].
fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Adds `status` answering `description` to `op` unless the handler's own
/// `#[utoipa::path]` documents it already.
fn add_if_absent(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description).into());
}

/// The responses every operation shares: `401` (the API key), `503` (the store unavailable
/// or the request timeout), and for an operation with a body `400` (not JSON of the body's
/// shape), `408` (not received in time) and `413` (over the size bound).
pub fn add_shared_responses(openapi: &mut Spec) {
    for item in openapi.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            add_if_absent(op, "401", "Missing or unknown API key");
            add_if_absent(
                op,
                "503",
                "Storage unavailable (nothing was saved) or no answer within the request \
                 timeout: retry later",
            );
            if op.request_body.is_some() {
                add_if_absent(op, "400", "The body is not JSON of the documented shape");
                add_if_absent(
                    op,
                    "408",
                    "The body was not received within the read timeout",
                );
                add_if_absent(op, "413", "The body is over the size bound");
            }
        }
    }
}

/// The description of the admin API, as served at [`SPEC_PATH`].
pub fn spec() -> Spec {
    crate::routes::admin().1
}

/// The route `GET` [`SPEC_PATH`], answering `spec` as JSON (no API key).
pub(crate) fn route(spec: Spec) -> axum::Router<crate::AppState> {
    let body = spec.to_json().expect("the OpenAPI description serializes");
    axum::Router::new().route(
        SPEC_PATH,
        axum::routing::get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    )
}

/// [`spec`] as pretty-printed JSON (keys in a stable order), as committed in the snapshot.
pub fn spec_json() -> String {
    let mut text = spec()
        .to_pretty_json()
        .expect("the OpenAPI description serializes");
    text.push('\n');
    text
}

/// The JSON string each of `all` serializes to.
fn serde_names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
    all.iter()
        .map(|v| match serde_json::to_value(v) {
            Ok(serde_json::Value::String(name)) => name,
            other => panic!("an enum of names serializes to a string, not {other:?}"),
        })
        .collect()
}

/// Every variant of a field-less enum, `all_of!(Type: A, B)`; a variant added to the type
/// fails to compile here, so that the schema cannot miss it.
macro_rules! all_of {
    ($t:ident: $($v:ident),+ $(,)?) => {{
        let _exhaustive = |x: $t| match x {
            $($t::$v => ()),+
        };
        [$($t::$v),+]
    }};
}

/// A schema of another crate's enum of names: the schema is named after the enum `$name`
/// (its type name, so the two cannot drift apart) and `$values` is every value (serialized
/// by serde, so the names are the JSON's own).
macro_rules! names_schema {
    ($(#[$doc:meta])* $ty:ident = $name:ident, $values:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(serde_names(&$values)))
                    .into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

names_schema!(
    /// Schema of [`outdial_core::LeadStatus`].
    LeadStatusSchema = LeadStatus,
    all_of!(LeadStatus: Active, Dialing, Done, Paused)
);
names_schema!(
    /// Schema of [`outdial_core::AttemptState`].
    AttemptStateSchema = AttemptState,
    AttemptState::ALL
);
names_schema!(
    /// Schema of [`outdial_core::CallStatus`].
    CallStatusSchema = CallStatus,
    CallStatus::ALL
);
names_schema!(
    /// Schema of [`outdial_core::AnsweredBy`].
    AnsweredBySchema = AnsweredBy,
    all_of!(AnsweredBy: Human, MachineStart, MachineEndBeep, MachineEndSilence, MachineEndOther, Fax, Unknown)
);
names_schema!(
    /// Schema of [`outdial_engine::intake::MatchedBy`].
    MatchedBySchema = MatchedBy,
    all_of!(MatchedBy: ExternalId, Phone)
);
names_schema!(
    /// Schema of [`outdial_engine::DispositionOutcome`].
    DispositionOutcomeSchema = DispositionOutcome,
    all_of!(DispositionOutcome: Pending, Applied)
);
names_schema!(
    /// Schema of [`outdial_engine::reports::ReportName`] (the path of `GET /api/v1/reports/{name}`).
    ReportNameSchema = ReportName,
    ReportName::ALL.map(ReportName::as_str)
);

// The schema of `outdial_core::LeadContact`, written by hand:
// `openapi::the_lead_contact_schema_names_every_field` checks it names every field the type
// serializes.
/// Contact data kept with a lead: every field optional, absent ones left out.
#[derive(Debug, ToSchema)]
#[schema(as = LeadContact)]
pub struct LeadContactSchema {
    /// Outside id (a CRM's).
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province, two letters.
    pub state: Option<String>,
    /// Postal (ZIP) code.
    pub postal_code: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Free-form comments.
    pub comments: Option<String>,
}
