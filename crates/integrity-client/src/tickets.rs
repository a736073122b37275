//! Finding and taking in tickets: `GET /tickets` with its pages, one
//! ticket, `POST /tickets`, a call center's own documents, and the
//! documents kept with a ticket.

use reqwest::header::{CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;

use crate::client::Answer;
use crate::error::Result;
use crate::ticket::{NewTicket, Ticket, TicketStatus};
use crate::Client;

/// What `GET /tickets` looks for; every criterion is optional and they
/// combine.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_center_id: Option<i64>,
    /// Tickets naming this code as `service_area` or among
    /// `additional_service_areas`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_area: Option<String>,
    /// ISO 8601: tickets changed at or after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_since: Option<String>,
    /// A ticket number, or words of the remarks, excavator, work type or
    /// address.
    #[serde(rename = "q", skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// 1 to 500; the server's default is 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Where the page starts: a [`TicketPage::next`] cursor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// One page of `GET /tickets`, newest change first.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    /// The cursor of the next page, when more tickets follow: put it in
    /// [`TicketFilter::page`].
    pub next: Option<String>,
}

/// Whether `POST /tickets` (or a call center's document) made a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// 201: the number was new to the call center.
    Created,
    /// 200: the call center has the number already. The ticket is a new
    /// version when its content differed (`version_number` went up), and
    /// unchanged for a retransmission.
    Existing,
}

/// What intake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub outcome: IntakeOutcome,
    pub ticket: Ticket,
}

/// A document kept with a ticket, as the call center sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The server's SHA-256 of the bytes (hex), to check them against.
    pub sha256: Option<String>,
}

impl Client {
    /// `GET /tickets`: one page of the tickets `filter` selects.
    pub async fn tickets(&self, filter: &TicketFilter) -> Result<TicketPage> {
        let request = self
            .request(Method::GET, self.url(["tickets"]))
            .query(filter);
        let answer = self.send(request).await?;
        Ok(TicketPage {
            tickets: answer.json()?,
            next: answer.header(LINK.as_str()).and_then(next_cursor),
        })
    }

    /// Every ticket `filter` selects, following the pages to the end.
    /// `filter.page` is where to start; `filter.per_page` sets how many
    /// come per request.
    pub async fn all_tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let mut filter = filter.clone();
        let mut tickets = Vec::new();
        loop {
            let page = self.tickets(&filter).await?;
            tickets.extend(page.tickets);
            match page.next {
                // A server that hands back the cursor it was given would
                // send this loop round forever.
                Some(next) if filter.page.as_deref() != Some(next.as_str()) => {
                    filter.page = Some(next)
                }
                _ => return Ok(tickets),
            }
        }
    }

    /// `GET /tickets/by_center/:call_center_id/by_number/:number`.
    pub async fn ticket(&self, call_center_id: i64, number: &str) -> Result<Ticket> {
        let url = self.ticket_url(call_center_id, number, &[]);
        self.json(self.request(Method::GET, url)).await
    }

    /// `POST /tickets`: takes a ticket in, as a call center sends it.
    pub async fn intake_ticket(&self, ticket: &NewTicket) -> Result<Intake> {
        #[derive(Serialize)]
        struct Body<'a> {
            ticket: &'a NewTicket,
        }
        let request = self
            .request(Method::POST, self.url(["tickets"]))
            .json(&Body { ticket });
        intake_of(self.send(request).await?)
    }

    /// `POST /call_centers/:id/intake`: takes in a document in the call
    /// center's own format (Open Ticket JSON, USA North 811 XML or text, an
    /// e-mail). `content_type` helps the server recognise it; `format`
    /// (`open-ticket`, `usan-xml`, `usan-text`, `usan-legacy`, `eml`) names
    /// it outright.
    pub async fn intake_document(
        &self,
        call_center_id: i64,
        body: impl Into<Vec<u8>>,
        content_type: &str,
        format: Option<&str>,
    ) -> Result<Intake> {
        let center = call_center_id.to_string();
        let mut request = self
            .request(
                Method::POST,
                self.url(["call_centers", center.as_str(), "intake"]),
            )
            .header(CONTENT_TYPE, content_type)
            .body(body.into());
        if let Some(format) = format {
            request = request.query(&[("format", format)]);
        }
        intake_of(self.send(request).await?)
    }

    /// `GET …/documents/:document`: a document kept with the ticket; its
    /// id is in the ticket's history (`details.documents`).
    pub async fn document(
        &self,
        call_center_id: i64,
        number: &str,
        document_id: i64,
    ) -> Result<Document> {
        let id = document_id.to_string();
        let url = self.ticket_url(call_center_id, number, &["documents", id.as_str()]);
        let answer = self.send(self.request(Method::GET, url)).await?;
        Ok(Document {
            content_type: answer
                .header(CONTENT_TYPE.as_str())
                .unwrap_or("application/octet-stream")
                .to_string(),
            sha256: answer
                .header("x-content-sha256")
                .map(|v| v.strip_prefix("sha-256=").unwrap_or(v).to_string()),
            bytes: answer.body,
        })
    }
}

fn intake_of(answer: Answer) -> Result<Intake> {
    let outcome = if answer.status == StatusCode::CREATED {
        IntakeOutcome::Created
    } else {
        IntakeOutcome::Existing
    };
    Ok(Intake {
        outcome,
        ticket: answer.json()?,
    })
}

/// The `page` cursor of a `Link: <…>; rel="next"` header.
///
/// Only the cursor is taken, not the whole target: the server writes the
/// path as it saw it, which is not the client's path behind a proxy that
/// rewrites paths, and the other parameters are the filter's own.
fn next_cursor(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if !is_next {
            return None;
        }
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        // Any base will do: the target is relative and only its query is
        // read.
        let url = Url::parse("http://link.invalid/").ok()?.join(target).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v.into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_is_read_from_the_link_header() {
        assert_eq!(
            next_cursor(r#"</tickets?status=closed&per_page=2&page=MTIz%3D>; rel="next""#)
                .as_deref(),
            Some("MTIz=")
        );
        assert_eq!(
            next_cursor(
                r#"<https://h/api/integrations/integrity/tickets?page=a>; rel="prev", </x?page=b>; rel=next"#
            )
            .as_deref(),
            Some("b")
        );
        assert_eq!(next_cursor(r#"</tickets?per_page=2>; rel="next""#), None);
        assert_eq!(next_cursor("garbage"), None);
    }

    #[test]
    fn a_filter_becomes_the_documented_parameters() {
        let filter = TicketFilter {
            status: Some(TicketStatus::Unassigned),
            call_center_id: Some(2),
            service_area: Some("DEMOGA01".into()),
            updated_since: Some("2026-01-01T00:00:00Z".into()),
            text: Some("fence".into()),
            per_page: Some(5),
            page: Some("abc".into()),
        };
        let client = Client::new("http://h", "k").unwrap();
        let request = client
            .request(Method::GET, client.url(["tickets"]))
            .query(&filter)
            .build()
            .unwrap();
        assert_eq!(
            request.url().query(),
            Some(
                "status=unassigned&call_center_id=2&service_area=DEMOGA01\
                 &updated_since=2026-01-01T00%3A00%3A00Z&q=fence&per_page=5&page=abc"
            )
        );
        let empty = client
            .request(Method::GET, client.url(["tickets"]))
            .query(&TicketFilter::default())
            .build()
            .unwrap();
        assert_eq!(empty.url().query(), None);
    }
}
