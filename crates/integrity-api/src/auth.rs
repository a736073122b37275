//! Who is calling: the API key in `Authorization`, checked against the Host's
//! account when a base domain is set, and the account's API switch.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use integrity_domain::permission::Permission;
use integrity_store::Principal;

use crate::{ApiError, AppState};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// 403 unless the caller's role grants `permission`. Handlers call it
    /// once they know the resource exists, so a missing resource is a 404
    /// whatever the caller may do.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.0.may(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(permission))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing API token"))?;
        let token =
            header
                .to_str()
                .ok()
                .and_then(token_from_header)
                .ok_or(ApiError::Unauthorized(
                    "malformed Authorization header; expected Token token=\"…\"",
                ))?;
        let principal = state
            .store
            .authenticate(token)
            .await?
            .ok_or(ApiError::Unauthorized("invalid API token"))?;
        if let Some(base_domain) = &state.base_domain {
            if let Some(subdomain) = subdomain_of(&parts.headers, base_domain) {
                if subdomain != principal.subdomain {
                    return Err(ApiError::Unauthorized("invalid API token"));
                }
            }
        }
        if !principal.api_enabled {
            return Err(ApiError::PaymentRequired(
                "API access is disabled for this account".into(),
            ));
        }
        Ok(Caller(principal))
    }
}

/// Accepts `Token token="KEY"` (the documented form), `Token token=KEY`,
/// `Token KEY` and `Bearer KEY`. As with the original's Rails token
/// parsing, `token=` may be one of several comma-separated options
/// (`Token token="KEY", nonce="…"`); the others are ignored.
pub(crate) fn token_from_header(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    let token = if scheme.eq_ignore_ascii_case("token") {
        rest.split(',')
            .map(str::trim)
            .find_map(|option| option.strip_prefix("token="))
            .map(|token| {
                token
                    .strip_prefix('"')
                    .and_then(|quoted| quoted.strip_suffix('"'))
                    .unwrap_or(token)
            })
            .unwrap_or(rest)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        rest
    } else {
        return None;
    };
    (!token.is_empty() && !token.contains(char::is_whitespace)).then_some(token)
}

/// The first label of a Host under the base domain (`acme` of
/// `acme.example.com:443`), lower-cased.
fn subdomain_of(headers: &axum::http::HeaderMap, base_domain: &str) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let label = host.strip_suffix(&format!(
        ".{}",
        base_domain.trim_start_matches('.').to_ascii_lowercase()
    ))?;
    Some(label.rsplit('.').next_back().unwrap_or(label).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_header_form() {
        assert_eq!(token_from_header("Token token=\"abc\""), Some("abc"));
        assert_eq!(token_from_header("Token token=abc"), Some("abc"));
        assert_eq!(token_from_header("token abc"), Some("abc"));
        assert_eq!(token_from_header("Bearer abc"), Some("abc"));
        assert_eq!(token_from_header("Basic abc"), None);
        assert_eq!(token_from_header("Token"), None);
        assert_eq!(token_from_header("Token token=\"\""), None);
    }

    #[test]
    fn takes_the_first_label_under_the_base_domain() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::HOST, "Acme.integrity.example:8443".parse().unwrap());
        assert_eq!(
            subdomain_of(&headers, "integrity.example").as_deref(),
            Some("acme")
        );
        headers.insert(header::HOST, "integrity.example".parse().unwrap());
        assert_eq!(subdomain_of(&headers, "integrity.example"), None);
        headers.insert(header::HOST, "a.b.integrity.example".parse().unwrap());
        assert_eq!(
            subdomain_of(&headers, "integrity.example").as_deref(),
            Some("a")
        );
    }
}
