//! A strict simulator of a one-call center's side of the Open Positive
//! Response API, so that the relay can be tested and demonstrated against
//! something that refuses what a real center would refuse.
//!
//! It is deliberately stricter than lenient, because the standard is: any
//! unknown field, missing required field or wrong type is a 400, an explicit
//! `null` included, so a serializer that emits `null` for an absent optional
//! field is caught here rather than by a center in production.
//!
//! What the simulated center decides, in order:
//! 1. the configured latency is waited out;
//! 2. while "down" (the first `down_for_secs` after [`Simulator::new`]) or on
//!    an injected fault, 503 — before authorization, as a gateway in front of
//!    a dead center would answer;
//! 3. a wrong or missing `Authorization`, 401;
//! 4. a document that breaks the schema, 400 listing every problem;
//! 5. validation issues (an action not allowed, a facility named twice), 409
//!    listing every issue;
//! 6. nothing respondable (a blank ticket number, a member the center does
//!    not know, a blank facility), 422 listing every issue;
//! 7. a duplicate of an accepted response, 409 — whatever its `session`;
//! 8. otherwise accepted: 201, or 202 when attachments were discarded.
//!
//! `GET /responses` and `GET /stats` are the simulator's own windows for
//! tests and demos, not part of the standard: they skip latency, faults and
//! authorization so that a test can look at a center that is "down".

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use integrity_domain::time::{format_millis, now_millis};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// How the simulated center behaves.
#[derive(Debug, Clone, Default)]
pub struct SimulatorConfig {
    /// Fraction (0.0–1.0) of requests answered 503 (fault injection).
    pub fail_rate: f64,
    /// Delay added before answering each request.
    pub latency_ms: u64,
    /// Answer every request 503 for this long after start ("the center is down").
    pub down_for_secs: u64,
    /// Member codes the center knows; `None`: every member code is known.
    /// A response for an unknown member → 422.
    pub members: Option<Vec<String>>,
    /// Valid actions; `None`: any non-empty action is valid.
    /// An invalid action → 409 "invalid action".
    pub actions: Option<Vec<String>>,
    /// When set, requests must carry exactly this `Authorization` header
    /// value, else 401.
    pub authorization: Option<String>,
}

/// One response the center accepted, in order of acceptance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AcceptedResponse {
    pub ticket_number: String,
    pub member_code: String,
    /// As sent, in the sender's order.
    pub facilities: Vec<String>,
    pub action: String,
    pub comment: Option<String>,
    /// From `session` or its misspelling `session:`.
    pub session: Option<String>,
    /// When the center accepted it, RFC 3339 in UTC.
    pub received_at: String,
}

/// What the center has seen since it started, as `GET /stats` shows it.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SimulatorStats {
    /// POSTs that arrived, counted before the configured latency: a test
    /// can tell that a request is in flight while `requests` lags behind.
    pub received: u64,
    /// POSTs to `/response` and `/response/batch`, whatever their outcome,
    /// counted once the latency has passed.
    pub requests: u64,
    /// Responses accepted; each entry of a batch counts on its own.
    pub accepted: u64,
    /// Refusals other than injected faults: a single response or a whole
    /// batch refused (400, 401, 409, 422) counts once, and so does each
    /// entry of a batch that is not accepted.
    pub rejected: u64,
    /// Requests answered 503, whether the center was down or a fault was
    /// injected.
    pub faults: u64,
}

/// The simulated center. Clones share one state, so a test can keep a
/// handle while the router (or [`Simulator::serve`]) owns another.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimulatorConfig,
    started: Instant,
    ledger: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    accepted: Vec<AcceptedResponse>,
    seen: HashSet<DuplicateKey>,
    stats: SimulatorStats,
}

/// What makes two responses the same response for the standard. Facilities
/// are kept sorted because their order carries no meaning, so a resend that
/// lists them differently is still the same response; `session` is left
/// out because a resend after a crash carries the same session and must
/// still be refused.
#[derive(Hash, PartialEq, Eq)]
struct DuplicateKey {
    ticket_number: String,
    member_code: String,
    facilities: Vec<String>,
    action: String,
}

const DUPLICATE: &str = "Duplicate responses are not allowed";
const ATTACHMENTS_DISCARDED: &str = "Response accepted, but file attachments are not supported by this center.  File attachments have been discarded.";
const REFERENCES_DISCARDED: &str = "Response accepted, but references are not supported by this center.  References have been discarded.";
const UNKNOWN_MEMBER: &str = "memberCode does not exist on the indicated ticket";

impl Simulator {
    /// A center that starts now: `down_for_secs` counts from this call.
    pub fn new(config: SimulatorConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                started: Instant::now(),
                ledger: Mutex::new(Ledger::default()),
            }),
        }
    }

    /// `POST /response`, `POST /response/batch`, `GET /responses` (the
    /// accepted responses as a JSON array) and `GET /stats`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/response", post(post_response))
            .route("/response/batch", post(post_batch))
            .route("/responses", get(get_responses))
            .route("/stats", get(get_stats))
            .with_state(self.clone())
    }

    /// Every response accepted so far, in order of acceptance.
    pub fn accepted(&self) -> Vec<AcceptedResponse> {
        self.ledger().accepted.clone()
    }

    /// The counters `GET /stats` shows.
    pub fn stats(&self) -> SimulatorStats {
        self.ledger().stats
    }

    /// Answers on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // Nothing panics while the lock is held, and a simulator that kept
        // failing after one panicking test would only hide the real error.
        self.inner
            .ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Steps 1 to 3 of the module's order: what happens before the body is
    /// even read.
    async fn admit(&self, headers: &HeaderMap) -> Result<(), Response> {
        let config = &self.inner.config;
        self.ledger().stats.received += 1;
        if config.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
        }
        let mut ledger = self.ledger();
        ledger.stats.requests += 1;

        let down_for = Duration::from_secs(config.down_for_secs);
        let up_in = down_for.saturating_sub(self.inner.started.elapsed());
        if !up_in.is_zero() {
            ledger.stats.faults += 1;
            // Rounded up so that a client honouring it never comes back
            // while the center is still down.
            let retry_after = up_in.as_secs() + u64::from(up_in.subsec_nanos() > 0);
            return Err(unavailable(Some(retry_after)));
        }
        // A NaN or non-positive rate never fires and one of 1.0 or more
        // always does, because `random` is in [0, 1).
        if config.fail_rate > 0.0 && rand::random::<f64>() < config.fail_rate {
            ledger.stats.faults += 1;
            return Err(unavailable(None));
        }
        if let Some(expected) = &config.authorization {
            let given = headers.get(header::AUTHORIZATION);
            if given.map(HeaderValue::as_bytes) != Some(expected.as_bytes()) {
                ledger.stats.rejected += 1;
                return Err(reply(
                    StatusCode::UNAUTHORIZED,
                    "failed",
                    vec!["missing or invalid Authorization header".to_owned()],
                ));
            }
        }
        Ok(())
    }

    /// Steps 5 to 8 of the module's order for one schema-valid response,
    /// recording it when accepted.
    fn judge(&self, ledger: &mut Ledger, candidate: Candidate) -> Verdict {
        let config = &self.inner.config;

        let mut invalid = Vec::new();
        let action_allowed = match &config.actions {
            Some(actions) => actions.contains(&candidate.action),
            None => !candidate.action.trim().is_empty(),
        };
        if !action_allowed {
            invalid.push("invalid action".to_owned());
        }
        let mut named = HashSet::new();
        for facility in &candidate.facilities {
            if !named.insert(facility.as_str()) {
                invalid.push(format!("facilityList names {facility} more than once"));
            }
        }
        if !invalid.is_empty() {
            ledger.stats.rejected += 1;
            return Verdict::Invalid(invalid);
        }

        let mut unprocessable = Vec::new();
        if candidate.ticket_number.trim().is_empty() {
            unprocessable.push("ticketNumber does not refer to a ticket".to_owned());
        }
        let member_known = !candidate.member_code.trim().is_empty()
            && config
                .members
                .as_ref()
                .is_none_or(|members| members.contains(&candidate.member_code));
        if !member_known {
            unprocessable.push(UNKNOWN_MEMBER.to_owned());
        }
        if candidate.facilities.iter().any(|f| f.trim().is_empty()) {
            unprocessable
                .push("facilityList is not valid for this memberCode on this ticket".to_owned());
        }
        if !unprocessable.is_empty() {
            ledger.stats.rejected += 1;
            return Verdict::Unprocessable(unprocessable);
        }

        let mut facilities = candidate.facilities.clone();
        facilities.sort();
        let key = DuplicateKey {
            ticket_number: candidate.ticket_number.clone(),
            member_code: candidate.member_code.clone(),
            facilities,
            action: candidate.action.clone(),
        };
        if !ledger.seen.insert(key) {
            ledger.stats.rejected += 1;
            return Verdict::Duplicate;
        }

        ledger.stats.accepted += 1;
        ledger.accepted.push(AcceptedResponse {
            ticket_number: candidate.ticket_number,
            member_code: candidate.member_code,
            facilities: candidate.facilities,
            action: candidate.action,
            comment: candidate.comment,
            session: candidate.session,
            received_at: format_millis(now_millis()),
        });
        Verdict::Accepted(candidate.remarks)
    }
}

enum Verdict {
    /// With the remarks that turn a 201 into a 202.
    Accepted(Vec<String>),
    Invalid(Vec<String>),
    Unprocessable(Vec<String>),
    Duplicate,
}

/// A response that passed the schema, in either endpoint's field names.
struct Candidate {
    ticket_number: String,
    member_code: String,
    facilities: Vec<String>,
    action: String,
    comment: Option<String>,
    session: Option<String>,
    remarks: Vec<String>,
}

/// The single and the batch endpoints describe the same response with
/// different field names and different extras.
struct Dialect {
    ticket: &'static str,
    member: &'static str,
    facilities: &'static str,
    action: &'static str,
    /// `attachmentList` or `references`: accepted by the schema, then
    /// discarded with a remark because this center keeps no files.
    attachments: &'static str,
    attachment_fields: &'static [&'static str],
    attachments_discarded: &'static str,
    /// `geometry` or `locatedWkt`: accepted and not recorded.
    geometry: &'static str,
    check_geometry: fn(&Value, &str, &mut Vec<String>),
}

const SINGLE: Dialect = Dialect {
    ticket: "ticketNumber",
    member: "memberCode",
    facilities: "facilityList",
    action: "action",
    attachments: "attachmentList",
    attachment_fields: &["name", "mimeType", "url", "value"],
    attachments_discarded: ATTACHMENTS_DISCARDED,
    geometry: "geometry",
    check_geometry: check_geometry_object,
};

const BATCH: Dialect = Dialect {
    ticket: "ticket",
    member: "code",
    facilities: "facilities",
    action: "action",
    attachments: "references",
    attachment_fields: &["name", "value"],
    attachments_discarded: REFERENCES_DISCARDED,
    geometry: "locatedWkt",
    check_geometry: check_string,
};

/// The standard's own example spells the key `session:`; senders that
/// copied it must not be refused for it.
const SESSION_KEYS: [&str; 2] = ["session", "session:"];

/// Reads one response against `dialect`, appending every schema problem to
/// `problems` (field names prefixed with `at`, so a batch can say which
/// entry). Returns a candidate only when there were none.
fn read_response(
    doc: &Value,
    dialect: &Dialect,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<Candidate> {
    let Some(fields) = doc.as_object() else {
        problems.push(if at.is_empty() {
            "malformed document".to_owned()
        } else {
            format!("Field {} must be an object", at.trim_end_matches('.'))
        });
        return None;
    };
    let before = problems.len();

    let known = [
        dialect.ticket,
        dialect.member,
        dialect.facilities,
        dialect.action,
        "comment",
        SESSION_KEYS[0],
        SESSION_KEYS[1],
        dialect.attachments,
        dialect.geometry,
    ];
    for name in fields.keys() {
        if !known.contains(&name.as_str()) {
            problems.push(format!("Unknown field {at}{name}"));
        }
    }

    let ticket = required_string(fields, dialect.ticket, at, problems);
    let member = required_string(fields, dialect.member, at, problems);
    let action = required_string(fields, dialect.action, at, problems);
    let facilities = match fields.get(dialect.facilities) {
        None => {
            problems.push(format!("Missing required field {at}{}", dialect.facilities));
            None
        }
        Some(value) => string_list(value, &format!("{at}{}", dialect.facilities), problems),
    };
    let comment = optional_string(fields, "comment", at, problems);

    let session = match (fields.get(SESSION_KEYS[0]), fields.get(SESSION_KEYS[1])) {
        (Some(_), Some(_)) => {
            problems.push(format!(
                "Field {at}session given twice, as session and as session:"
            ));
            None
        }
        (Some(_), None) => optional_string(fields, SESSION_KEYS[0], at, problems),
        (None, Some(_)) => optional_string(fields, SESSION_KEYS[1], at, problems),
        (None, None) => None,
    };

    let mut remarks = Vec::new();
    if let Some(value) = fields.get(dialect.attachments) {
        let path = format!("{at}{}", dialect.attachments);
        if check_attachments(value, &path, dialect.attachment_fields, problems) {
            remarks.push(dialect.attachments_discarded.to_owned());
        }
    }
    if let Some(value) = fields.get(dialect.geometry) {
        (dialect.check_geometry)(value, &format!("{at}{}", dialect.geometry), problems);
    }

    if problems.len() > before {
        return None;
    }
    Some(Candidate {
        ticket_number: ticket?,
        member_code: member?,
        facilities: facilities?,
        action: action?,
        comment,
        session,
        remarks,
    })
}

fn required_string(
    fields: &Map<String, Value>,
    name: &str,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    match fields.get(name) {
        None => {
            problems.push(format!("Missing required field {at}{name}"));
            None
        }
        Some(value) => as_string(value, &format!("{at}{name}"), problems),
    }
}

fn optional_string(
    fields: &Map<String, Value>,
    name: &str,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    fields
        .get(name)
        .and_then(|value| as_string(value, &format!("{at}{name}"), problems))
}

fn as_string(value: &Value, path: &str, problems: &mut Vec<String>) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        other => {
            problems.push(format!(
                "Field {path} must be a string, not {}",
                type_name(other)
            ));
            None
        }
    }
}

fn check_string(value: &Value, path: &str, problems: &mut Vec<String>) {
    as_string(value, path, problems);
}

/// A non-empty array of strings, as `facilityList` must be.
fn string_list(value: &Value, path: &str, problems: &mut Vec<String>) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        problems.push(format!(
            "Field {path} must be an array of strings, not {}",
            type_name(value)
        ));
        return None;
    };
    if items.is_empty() {
        problems.push(format!("Field {path} must not be empty"));
        return None;
    }
    let before = problems.len();
    let strings: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| as_string(item, &format!("{path}[{i}]"), problems))
        .collect();
    (problems.len() == before).then_some(strings)
}

/// Checks an attachment (or reference) list; true when it holds at least
/// one, i.e. when something will be discarded.
fn check_attachments(
    value: &Value,
    path: &str,
    allowed: &[&str],
    problems: &mut Vec<String>,
) -> bool {
    let Value::Array(items) = value else {
        problems.push(format!(
            "Field {path} must be an array of objects, not {}",
            type_name(value)
        ));
        return false;
    };
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let Some(fields) = item.as_object() else {
            problems.push(format!(
                "Field {item_path} must be an object, not {}",
                type_name(item)
            ));
            continue;
        };
        for (name, field) in fields {
            if allowed.contains(&name.as_str()) {
                as_string(field, &format!("{item_path}.{name}"), problems);
            } else {
                problems.push(format!("Unknown field {item_path}.{name}"));
            }
        }
        for name in ["name", "mimeType"] {
            if allowed.contains(&name) && !fields.contains_key(name) {
                problems.push(format!("Missing required field {item_path}.{name}"));
            }
        }
        // An attachment is either linked or inline; with both or neither
        // there is no telling what the sender meant.
        let linked = allowed.contains(&"url");
        let has_url = fields.contains_key("url");
        let has_value = fields.contains_key("value");
        if linked && has_url == has_value {
            problems.push(format!(
                "Field {item_path} must have exactly one of url and value"
            ));
        } else if !linked && !has_value {
            problems.push(format!("Missing required field {item_path}.value"));
        }
    }
    !items.is_empty()
}

/// `geometry`: `wkt` a string; `geoJson` a string (as in the standard's
/// example) or a GeoJSON object, since both are reasonable readings.
fn check_geometry_object(value: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(fields) = value.as_object() else {
        problems.push(format!(
            "Field {path} must be an object, not {}",
            type_name(value)
        ));
        return;
    };
    for (name, field) in fields {
        let field_path = format!("{path}.{name}");
        match name.as_str() {
            "wkt" => check_string(field, &field_path, problems),
            "geoJson" if field.is_string() || field.is_object() => {}
            "geoJson" => problems.push(format!(
                "Field {field_path} must be a string or an object, not {}",
                type_name(field)
            )),
            _ => problems.push(format!("Unknown field {field_path}")),
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_document(body: &[u8]) -> Result<Value, Vec<String>> {
    serde_json::from_slice(body).map_err(|_| vec!["malformed document".to_owned()])
}

fn reply(status: StatusCode, word: &str, messages: Vec<String>) -> Response {
    let body = if messages.is_empty() {
        json!({ "status": word })
    } else {
        json!({ "status": word, "messageList": messages })
    };
    (status, Json(body)).into_response()
}

fn unavailable(retry_after_secs: Option<u64>) -> Response {
    let mut response = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        "failed",
        vec!["center unavailable (simulated)".to_owned()],
    );
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn post_response(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = sim.admit(&headers).await {
        return refusal;
    }
    let mut problems = Vec::new();
    let candidate = match parse_document(&body) {
        Ok(doc) => read_response(&doc, &SINGLE, "", &mut problems),
        Err(malformed) => {
            problems = malformed;
            None
        }
    };
    let Some(candidate) = candidate else {
        sim.ledger().stats.rejected += 1;
        return reply(StatusCode::BAD_REQUEST, "failed", problems);
    };

    let mut ledger = sim.ledger();
    match sim.judge(&mut ledger, candidate) {
        Verdict::Accepted(remarks) if remarks.is_empty() => {
            reply(StatusCode::CREATED, "success", remarks)
        }
        Verdict::Accepted(remarks) => reply(StatusCode::ACCEPTED, "success", remarks),
        Verdict::Invalid(messages) => reply(StatusCode::CONFLICT, "invalid", messages),
        Verdict::Duplicate => reply(StatusCode::CONFLICT, "invalid", vec![DUPLICATE.to_owned()]),
        Verdict::Unprocessable(messages) => {
            reply(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", messages)
        }
    }
}

/// The whole batch is refused (400) when any entry breaks the schema, as
/// the standard's 400 covers unknown and missing fields; only entries that
/// are well-formed but refused get a per-entry result.
async fn post_batch(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = sim.admit(&headers).await {
        return refusal;
    }
    let candidates = match parse_document(&body).and_then(|doc| read_batch(&doc)) {
        Ok(candidates) => candidates,
        Err(problems) => {
            sim.ledger().stats.rejected += 1;
            return reply(StatusCode::BAD_REQUEST, "failed", problems);
        }
    };

    // One lock for the whole batch so that no other request interleaves and
    // duplicates within the batch are judged in the sender's order.
    let mut ledger = sim.ledger();
    let mut all_accepted = true;
    let results: Vec<Value> = candidates
        .into_iter()
        .map(|candidate| {
            let echo = json!({
                "ticket": candidate.ticket_number,
                "code": candidate.member_code,
                "facilities": candidate.facilities,
                "action": candidate.action,
            });
            let (result, messages) = match sim.judge(&mut ledger, candidate) {
                Verdict::Accepted(remarks) => ("accepted", remarks),
                Verdict::Duplicate => ("duplicate", vec![DUPLICATE.to_owned()]),
                Verdict::Invalid(messages) => ("invalid", messages),
                Verdict::Unprocessable(messages) => ("unprocessable", messages),
            };
            all_accepted &= result == "accepted";
            let mut entry = echo;
            entry["result"] = json!(result);
            entry["messageList"] = json!(messages);
            entry
        })
        .collect();
    // The standard names 207 for a mix; a batch refused entirely is a mix
    // of outcomes too as far as the sender's parsing goes, so anything but
    // all-accepted gets 207 and the sender always reads per-entry results.
    let status = if all_accepted {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, Json(json!({ "responses": results }))).into_response()
}

fn read_batch(doc: &Value) -> Result<Vec<Candidate>, Vec<String>> {
    let Some(fields) = doc.as_object() else {
        return Err(vec!["malformed document".to_owned()]);
    };
    let mut problems: Vec<String> = fields
        .keys()
        .filter(|name| name.as_str() != "responses")
        .map(|name| format!("Unknown field {name}"))
        .collect();
    let mut candidates = Vec::new();
    match fields.get("responses") {
        None => problems.push("Missing required field responses".to_owned()),
        Some(Value::Array(entries)) if entries.is_empty() => {
            problems.push("Field responses must not be empty".to_owned());
        }
        Some(Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                let at = format!("responses[{i}].");
                candidates.extend(read_response(entry, &BATCH, &at, &mut problems));
            }
        }
        Some(other) => problems.push(format!(
            "Field responses must be an array of objects, not {}",
            type_name(other)
        )),
    }
    if problems.is_empty() {
        Ok(candidates)
    } else {
        Err(problems)
    }
}

async fn get_responses(State(sim): State<Simulator>) -> Json<Vec<AcceptedResponse>> {
    Json(sim.accepted())
}

async fn get_stats(State(sim): State<Simulator>) -> Json<SimulatorStats> {
    Json(sim.stats())
}
