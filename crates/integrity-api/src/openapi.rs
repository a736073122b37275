//! The API's OpenAPI 3.1 document, generated from the handlers' annotations
//! and the response types. Served at `GET /openapi.json`, printed by
//! `integrity openapi`, and committed as `openapi.json`; a test fails when
//! the committed file and this document differ.
//!
//! Request bodies are read by hand (so that errors follow the documented
//! order of checks), so their schemas are written here, next to nothing
//! else: each names the handler whose parser it describes.

use std::collections::BTreeMap;

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use crate::routes;

/// Every error: attribute (or `base`) → messages.
#[derive(ToSchema)]
#[schema(example = json!({"errors": {"code": ["can't be blank"]}}))]
pub struct ErrorBody {
    #[allow(dead_code)]
    errors: BTreeMap<String, Vec<String>>,
}

/// The path of one ticket.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TicketKey {
    /// The call center's id (GET /call_centers)
    call_center_id: i64,
    /// The call center's ticket number
    number: String,
}

/// The refusals of every operation that needs a key, and the limits any
/// request can meet.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Refusals {
    #[response(
        status = 401,
        description = "No API key, or one that is unknown, revoked or of another account than the Host"
    )]
    Unauthorized(ErrorBody),
    #[response(status = 402, description = "The account's API access is disabled")]
    PaymentRequired(ErrorBody),
    #[response(
        status = 403,
        description = "The key's user lacks the permission, or the request came over plain HTTP to a server that requires TLS"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 429,
        description = "The key has spent its allowance (when the operator sets a rate limit); see Retry-After",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    TooManyRequests(ErrorBody),
    #[response(
        status = 503,
        description = "The request took longer than the server allows; nothing was written"
    )]
    Timeout(ErrorBody),
}

/// The limits any request can meet, for operations whose other refusals
/// are their own.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Limits {
    #[response(
        status = 429,
        description = "The key has spent its allowance (when the operator sets a rate limit); see Retry-After",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    TooManyRequests(ErrorBody),
    #[response(
        status = 503,
        description = "The request took longer than the server allows; nothing was written"
    )]
    Timeout(ErrorBody),
}

/// What a request that needs no key can meet: a server that requires TLS,
/// or one too busy to answer in time.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum PublicRefusals {
    #[response(
        status = 403,
        description = "The request came over plain HTTP to a server that requires TLS"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 503,
        description = "The server could not answer within its request timeout"
    )]
    Timeout(ErrorBody),
}

#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Missing {
    #[response(status = 404, description = "No such resource in this account")]
    NotFound(ErrorBody),
}

/// The answers to a request body the server cannot take.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BadBody {
    #[response(
        status = 400,
        description = "The body is not JSON, not UTF-8, or lacks its root key"
    )]
    Malformed(ErrorBody),
    #[response(status = 413, description = "The body is larger than the limit")]
    TooLarge(ErrorBody),
    #[response(
        status = 422,
        description = "The request fails validation; the body names each attribute at fault"
    )]
    Invalid(ErrorBody),
}

#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Invalid {
    #[response(
        status = 422,
        description = "The request fails validation; the body names each attribute at fault"
    )]
    Invalid(ErrorBody),
}

/// `POST /tickets`: the ticket in the shape `GET` shows; server-owned keys
/// (`id`, `status`, `created_at`, …) may be sent back and are ignored.
#[derive(ToSchema)]
#[schema(example = json!({"ticket": {
    "ticket_number": "1606290001", "call_center": {"id": 1},
    "ticket_type": "Normal", "service_area": "EXMPL01",
    "taken_at": "2016-06-29T15:26:47.000Z",
    "remarks": "Locate the entire lot"}}))]
#[allow(dead_code)]
pub struct TicketIntakeRequest {
    ticket: TicketIntakeBody,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TicketIntakeBody {
    /// Required; at most 100 characters.
    ticket_number: String,
    /// The call center, by id (`{"id": 1}`).
    call_center: CallCenterIdRef,
    reference_ticket_number: Option<String>,
    sequence_number: Option<i64>,
    ticket_type: Option<String>,
    ticket_action: Option<String>,
    ticket_source: Option<String>,
    service_area: Option<String>,
    additional_service_areas: Option<Vec<String>>,
    /// ISO 8601.
    taken_at: Option<String>,
    work_start_at: Option<String>,
    response_due_at: Option<String>,
    remarks: Option<String>,
    excavator: Option<integrity_domain::ticket::Excavator>,
    work: Option<integrity_domain::ticket::Work>,
    /// -90 to 90.
    lat: Option<f64>,
    /// -180 to 180.
    lng: Option<f64>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CallCenterIdRef {
    id: i64,
}

/// `PATCH` of a ticket (and the optional body of `close`).
#[derive(ToSchema)]
#[schema(example = json!({"ticket": {"custom_fields": {"1": "2016-07-01", "5": "7"}, "assignee_id": 2}}))]
#[allow(dead_code)]
pub struct TicketPatchRequest {
    ticket: TicketPatchBody,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TicketPatchBody {
    /// Custom field id → value in its type's format; null clears it.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// A user of the account, or null to unassign.
    assignee_id: Option<i64>,
}

#[derive(ToSchema)]
#[schema(example = json!({"ticket_response": {"service_area": "FOR01", "code": "1A", "facility": "Water", "comment": "Resolved"}}))]
#[allow(dead_code)]
pub struct TicketResponseRequest {
    ticket_response: TicketResponseBody,
}

#[derive(ToSchema)]
#[schema(example = json!({"ticket_responses": [{"service_area": "FOR01", "code": "1A"}]}))]
#[allow(dead_code)]
pub struct TicketResponsesRequest {
    ticket_responses: Vec<TicketResponseBody>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TicketResponseBody {
    /// Required: one of the ticket's service areas.
    service_area: String,
    /// Required: a response code of the ticket's call center.
    code: String,
    /// Required for call centers that require facilities.
    facility: Option<String>,
    comment: Option<String>,
}

#[derive(ToSchema)]
#[schema(example = json!({"user": {"name": "Ann Locator", "email": "ann@example.com", "role": "locator"}}))]
#[allow(dead_code)]
pub struct UserRequest {
    user: UserBody,
}

/// On creation `name` and `email` are required and `role` defaults to
/// `viewer`; on change every key is optional.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserBody {
    #[schema(nullable = false, min_length = 1, max_length = 255)]
    name: Option<String>,
    #[schema(nullable = false, format = Email)]
    email: Option<String>,
    #[schema(nullable = false)]
    role: Option<RoleName>,
    #[schema(nullable = false)]
    active: Option<bool>,
    /// Permissions granted beyond the role's.
    #[schema(nullable = false)]
    grant: Option<Vec<PermissionName>>,
    /// Permissions of the role taken away.
    #[schema(nullable = false)]
    revoke: Option<Vec<PermissionName>>,
}

#[derive(ToSchema)]
#[schema(example = json!({"relay": {"enabled": true, "url": "https://center.example/api", "authorization": "[hidden]", "actions": {"1A": "Marked"}, "mode": "single"}}))]
#[allow(dead_code)]
pub struct RelayRequest {
    relay: integrity_domain::relay::RelaySettings,
}

/// A ticket's status, as `GET /tickets?status=` filters by it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TicketStatusName {
    Unassigned,
    Assigned,
    Closed,
    Cancelled,
}

/// A delivery's state, as `GET /relay/deliveries?status=` filters by it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DeliveryStatusName {
    Queued,
    Sent,
    Failed,
    Cancelled,
}

/// A call center's document format.
#[derive(ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum FormatName {
    OpenTicket,
    UsanXml,
    UsanText,
    UsanLegacy,
    Eml,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RoleName {
    Admin,
    Manager,
    Locator,
    Viewer,
}

/// The permissions of docs/permissions.md.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum PermissionName {
    #[schema(rename = "call_centers:read")]
    CallCentersRead,
    #[schema(rename = "custom_fields:read")]
    CustomFieldsRead,
    #[schema(rename = "tickets:read")]
    TicketsRead,
    #[schema(rename = "tickets:create")]
    TicketsCreate,
    #[schema(rename = "tickets:update")]
    TicketsUpdate,
    #[schema(rename = "tickets:close")]
    TicketsClose,
    #[schema(rename = "responses:write")]
    ResponsesWrite,
    #[schema(rename = "users:read")]
    UsersRead,
    #[schema(rename = "users:write")]
    UsersWrite,
    #[schema(rename = "tokens:write")]
    TokensWrite,
    #[schema(rename = "relay:manage")]
    RelayManage,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// Always `ok`.
    status: String,
}

/// The `Token` scheme: `Authorization: Token token="<key>"` (also
/// `Token <key>` and `Bearer <key>`).
struct TokenScheme;

impl Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "Token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token token=\"<key>\"`; `Token <key>` and `Bearer <key>` are accepted too.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Integrity",
        description = "Locate tickets of 811 call centers: read them, work them, record positive responses. \
            Every path is also served under `/api/integrations/integrity`, the original product's prefix.",
        license(name = "Apache-2.0")
    ),
    servers((url = "/"), (url = "/api/integrations/integrity")),
    modifiers(&TokenScheme),
    security(("Token" = [])),
    // The endpoints come from the router (`routes::all`); `/metrics` is
    // routed only when the server is given a renderer (`Policy::metrics`),
    // so it is listed here rather than there.
    paths(metrics),
    components(schemas(ErrorBody, TicketStatusName, DeliveryStatusName, FormatName))
)]
pub struct ApiDoc;

/// The document, as served and committed.
/// What the document says beyond the endpoints: title, servers, security
/// scheme, shared schemas.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document: the base and every routed endpoint.
pub fn document() -> utoipa::openapi::OpenApi {
    routes::all().into_openapi()
}

/// The document as the pretty JSON that is committed.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object),
        PublicRefusals
    ))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// Prometheus metrics: rendered by `integrity serve`, which holds the
/// recorder, and routed by this crate under the API's policy.
#[utoipa::path(get, path = "/metrics", tag = "meta", security(()),
    summary = "Prometheus metrics (counts and timings, never account data)",
    responses(
        (status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain", body = String),
        (status = 404, description = "The operator serves metrics on a listener of their own (--metrics-listen)", body = ErrorBody)
    ))]
#[allow(dead_code)]
fn metrics() {}
