//! The client itself: where the server is, the key it sends, and the one
//! path every request takes (authorization, status check, decoding). The
//! endpoints are in the modules of their resources.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A connection to one Integrity server with one API key.
///
/// Cloning is cheap and shares the connection pool, so one client can
/// serve a whole program.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
}

impl Client {
    /// A client of the server at `base_url` (such as
    /// `https://acme.integrity.example` or, as the original product served
    /// it, `https://acme.integrity.example/api/integrations/integrity`),
    /// authenticating with the API key `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Client> {
        // Without a connect timeout a server that drops packets holds a
        // call for minutes; a whole-request timeout is left to the caller,
        // as a call-center document may take long to upload.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("integrity-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Client::with_http_client(http, base_url, token)
    }

    /// As [`Client::new`], with an HTTP client configured by the caller
    /// (timeouts, proxies, root certificates).
    pub fn with_http_client(http: reqwest::Client, base_url: &str, token: &str) -> Result<Client> {
        let base = parse_base(base_url)?;
        let token = token.trim();
        // The server reads the key up to the first space: one with a space
        // inside could never authenticate.
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(Error::Config("the API key is empty or holds spaces".into()));
        }
        let mut authorization = HeaderValue::from_str(&format!("Token {token}"))
            .map_err(|_| Error::Config("the API key holds characters a header cannot".into()))?;
        // Keeps the key out of debug output of requests.
        authorization.set_sensitive(true);
        Ok(Client {
            http,
            base,
            authorization,
        })
    }

    /// The server's base URL, as given.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of `segments` under the base URL, each segment
    /// percent-encoded: a ticket number may hold `/` or `#`.
    pub(crate) fn url<I>(&self, segments: I) -> Url
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The URL of one ticket, or of `more` segments under it.
    pub(crate) fn ticket_url(&self, call_center_id: i64, number: &str, more: &[&str]) -> Url {
        let center = call_center_id.to_string();
        let path = ["tickets", "by_center", center.as_str(), "by_number", number];
        self.url(path.iter().chain(more))
    }

    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, self.authorization.clone());
        self.http.request(method, url).headers(headers)
    }

    /// Sends a request and reads the whole answer; an error status becomes
    /// [`Error::Api`] with the server's messages.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Answer> {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        if status.is_client_error() || status.is_server_error() {
            return Err(Error::from_response(status, body));
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends a request and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        self.send(request).await?.json()
    }
}

/// A successful answer, read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            status: self.status,
            source,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn parse_base(text: &str) -> Result<Url> {
    let url =
        Url::parse(text.trim()).map_err(|e| Error::Config(format!("base URL {text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Config(format!(
            "base URL {text:?} is not an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {text:?} must not carry a query or fragment"
        )));
    }
    let mut url = url;
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base, "itg_key").unwrap()
    }

    #[test]
    fn paths_go_under_the_base_with_or_without_the_legacy_prefix() {
        let root = client("http://127.0.0.1:3000/");
        assert_eq!(root.base_url().as_str(), "http://127.0.0.1:3000/");
        assert_eq!(
            root.url(["call_centers"]).as_str(),
            "http://127.0.0.1:3000/call_centers"
        );
        let legacy = client("https://acme.example/api/integrations/integrity/");
        assert_eq!(
            legacy.ticket_url(3, "2401-7", &["history"]).as_str(),
            "https://acme.example/api/integrations/integrity/tickets/by_center/3/by_number/2401-7/history"
        );
    }

    #[test]
    fn ticket_numbers_are_one_path_segment_whatever_they_hold() {
        let c = client("http://h");
        assert_eq!(
            c.ticket_url(1, "A/B #1?", &[]).path(),
            "/tickets/by_center/1/by_number/A%2FB%20%231%3F"
        );
    }

    #[test]
    fn refuses_what_it_cannot_send() {
        for base in ["ftp://h", "not a url", "http://h/?x=1", "mailto:a@b"] {
            assert!(
                matches!(Client::new(base, "k"), Err(Error::Config(_))),
                "{base}"
            );
        }
        for token in ["", "two words", "line\nbreak"] {
            assert!(
                matches!(Client::new("http://h", token), Err(Error::Config(_))),
                "{token:?}"
            );
        }
    }
}
