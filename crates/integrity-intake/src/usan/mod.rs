//! USA North 811 tickets, as Pelican's OneCallAccess system delivers them:
//!
//! - [`parse_xml`]: the XML attachment of "Option 3" (`onecall:OneCallReferral`);
//! - [`parse_text`]: the plain-text body of "Option 2" (and 3): `[SECTION]`
//!   headers and `KEY=   value` lines;
//! - [`parse_legacy`]: the "Legacy" fixed layout inherited from Newtin.
//!
//! The XML and Option 2 carry the same fields under two spellings (the
//! center's data structure guide pairs them), so both feed one `Field`
//! vocabulary; the legacy layout has its own labels but lands in the same
//! `Builder`. See `docs/intake-usan.md` for the field maps.
//!
//! Dates: XML and Option 2 dates carry their offset and are converted to UTC
//! as written; a date without one, and every legacy date, is Pacific local
//! time (USA North 811 serves California and Nevada) and is converted with
//! the US daylight-saving rule by `pacific_to_utc`.

mod legacy;
mod text;
mod xml;

pub use legacy::parse_legacy;
pub use text::parse_text;
pub use xml::parse_xml;

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use integrity_domain::time::{format_millis, Millis};
use serde_json::{Map, Value};

use crate::{IntakeError, Parsed};

/// The bytes as UTF-8 text, without a byte-order mark, and a builder to
/// read it into. Invalid UTF-8 is reported at the line where it starts.
/// U+0000 characters, which PostgreSQL cannot store, are removed with a
/// note.
fn document(bytes: &[u8]) -> Result<(Cow<'_, str>, Builder), IntakeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        IntakeError::new(
            format!("line {line}"),
            format!(
                "invalid UTF-8 at byte {}: expected UTF-8 text",
                e.valid_up_to()
            ),
        )
    })?;
    let mut builder = Builder::default();
    let Some(first) = text.find('\0') else {
        return Ok((Cow::Borrowed(text), builder));
    };
    let line = text[..first].matches('\n').count() + 1;
    let count = text.matches('\0').count();
    builder.note(format!(
        "line {line}: removed {count} U+0000 character(s), which cannot be stored"
    ));
    Ok((Cow::Owned(text.replace('\0', "")), builder))
}

/// A trimmed value, `None` when blank.
fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

// ---------------------------------------------------------------------------
// Time

/// Local Pacific time (America/Los_Angeles) to UTC milliseconds.
///
/// Daylight time (PDT, −07:00) runs from the second Sunday of March at 02:00
/// to the first Sunday of November at 02:00 (the rule since 2007; from 1987
/// to 2006 the first Sunday of April to the last Sunday of October, which
/// also serves for earlier years); otherwise standard time (PST, −08:00).
///
/// Returns the instant and whether the local time was impossible: a time in
/// the skipped hour of the spring change (02:00–02:59) is read as standard
/// time, i.e. one hour later on the clock (02:30 → 03:30 PDT), the way a
/// clock that was not yet changed would read it. In the repeated hour of the
/// autumn change (01:00–01:59 twice) the first, daylight, one is taken.
pub(crate) fn pacific_to_utc(local: NaiveDateTime) -> Option<(Millis, bool)> {
    let year = local.year();
    let (start, end) = if year >= 2007 {
        (nth_sunday(year, 3, 2)?, nth_sunday(year, 11, 1)?)
    } else {
        (nth_sunday(year, 4, 1)?, last_sunday(year, 10)?)
    };
    let two = chrono::NaiveTime::from_hms_opt(2, 0, 0)?;
    let spring = start.and_time(two);
    let autumn = end.and_time(two);
    let gap = local >= spring && local < spring + Duration::hours(1);
    let daylight = local >= spring + Duration::hours(1) && local < autumn;
    let offset_hours = if daylight { 7 } else { 8 };
    let utc = local.checked_add_signed(Duration::hours(offset_hours))?;
    Some((utc.and_utc().timestamp_millis(), gap))
}

fn nth_sunday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n)
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

/// An ISO 8601 date-time as the XML and Option 2 write it
/// (`2022-04-11T11:13:39.018116-07:00`). Without an offset it is Pacific
/// local time. Returns the instant and whether a note is due (local time in
/// the skipped spring hour).
fn parse_iso(value: &str) -> Result<(Millis, bool), String> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok((t.timestamp_millis(), false));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(value, format) {
            return pacific_to_utc(local).ok_or_else(|| format!("date out of range: {value:?}"));
        }
    }
    Err(format!(
        "expected an ISO 8601 date-time like 2022-04-11T11:13:39-07:00, found {value:?}"
    ))
}

/// A legacy date-time, `MM/DD/YY HH:MM` (or `HH:MM:SS`), Pacific local time.
fn parse_legacy_time(value: &str) -> Result<(Millis, bool), String> {
    let value = value.trim();
    for format in [
        "%m/%d/%y %H:%M",
        "%m/%d/%y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(value, format) {
            return pacific_to_utc(local).ok_or_else(|| format!("date out of range: {value:?}"));
        }
    }
    Err(format!(
        "expected a date and time like 04/19/22 07:48 (MM/DD/YY HH:MM, Pacific time), found {value:?}"
    ))
}

// ---------------------------------------------------------------------------
// Values

/// Yes/No as the formats spell it: `true`/`false`, `Yes`/`No`, `Y`/`N`,
/// `1`/`0`, any case. `Ok(None)` when blank, `Err(())` when something else.
fn parse_flag(value: &str) -> Result<Option<bool>, ()> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "no" | "n" | "0" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// A ticket status that means the center cancelled the ticket.
fn is_cancel(status: &str) -> bool {
    let status = status.trim().to_ascii_lowercase();
    status.starts_with("cancel") || status == "cncl" || status == "canc"
}

/// `Some(n)` for a whole number of digits (`"000"` → 0).
fn parse_count(value: &str) -> Option<i64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A coordinate in decimal degrees.
fn parse_degrees(value: &str) -> Option<f64> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'));
    value.parse::<f64>().ok().filter(|v| ok && v.is_finite())
}

/// `a, b, c` with the blank parts left out.
fn join(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .flatten()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

// ---------------------------------------------------------------------------
// The shared vocabulary of the XML and Option 2 formats

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Referral,
    Customer,
    Location,
}

/// A field of the XML / Option 2 data structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    TicketNumber,
    TicketRevision,
    PreviousTicket,
    Sequence,
    Submitted,
    WorkBegin,
    LegalStart,
    Expiration,
    TicketStatus,
    TicketType,
    TicketMedium,
    StationCode,
    StationList,
    WorkType,
    WorkActivity,
    WorkDuration,
    DelineatedMethod,
    Boring,
    Blasting,
    ProjectOwner,
    // Caller details
    CallerName,
    Company,
    CallerStreet,
    CallerCity,
    CallerState,
    CallerZip,
    UserType,
    Phone,
    Email,
    // Location details
    WorkAddress,
    WorkCity,
    WorkCounty,
    WorkState,
    WorkZip,
    CrossStreet,
    Subdivision,
    OnsiteName,
    OnsitePhone,
    Latitude,
    Longitude,
    Remarks,
    /// Kept in `extra` under this key, as text.
    Extra(&'static str),
    /// Kept in `extra` under this key, as a boolean where it reads as one.
    ExtraFlag(&'static str),
}

/// (section, Option 2 key, XML element names, field). The XML names are
/// compared without regard to case; the first is the one the samples use.
#[rustfmt::skip]
const FIELDS: &[(Section, &str, &[&str], Field)] = {
    use Field::*;
    use Section::*;
    &[
        (Referral, "MESSAGE VERSION NO", &["MessageVersionNumber"], Extra("message_version")),
        (Referral, "FROM", &["From"], Extra("from")),
        (Referral, "TICKET MEDIUM", &["TicketMedium"], TicketMedium),
        (Referral, "UTILITY ID", &["UtilityID"], Extra("utility_id")),
        (Referral, "STATION CODE", &["StationCode"], StationCode),
        (Referral, "UTILITY NAME", &["UtilityName"], Extra("utility_name")),
        (Referral, "TO", &["To"], Extra("to")),
        (Referral, "JOB NO", &["JobNumber"], Extra("job_number")),
        (Referral, "TICKET NO", &["TicketNumber"], TicketNumber),
        (Referral, "TICKET REVISION NO", &["TicketRevisionNumber"], TicketRevision),
        (Referral, "PREVIOUS TICKET NO", &["PreviousTicketNumber"], PreviousTicket),
        (Referral, "PREVIOUS TICKET REV NO", &["PreviousTicketRevNumber"], Extra("previous_ticket_revision")),
        (Referral, "SEQUENCE NO", &["SequenceNumber"], Sequence),
        (Referral, "TRANSMISSION ID", &["TransmissionID"], Extra("transmission_id")),
        (Referral, "SUBMITTED DATE", &["SubmittedDate"], Submitted),
        (Referral, "WORK BEGIN DATE", &["WorkBeginDate"], WorkBegin),
        (Referral, "LEGAL START DATE", &["LegalStartDate"], LegalStart),
        (Referral, "TICKET EXPIRATION", &["TicketExpirationDate", "TicketExpiration"], Expiration),
        (Referral, "WORK DURATION", &["WorkDuration"], WorkDuration),
        (Referral, "EMERGENCY", &["IsEmergency", "Emergency"], ExtraFlag("emergency")),
        (Referral, "TICKET STATUS", &["TicketStatus"], TicketStatus),
        (Referral, "TICKET TYPE", &["TicketType"], TicketType),
        (Referral, "WORK TYPE", &["WorkType"], WorkType),
        (Referral, "WORK ACTIVITY", &["WorkActivity"], WorkActivity),
        (Referral, "DELINEATED METHOD", &["DelineatedMethod"], DelineatedMethod),
        (Referral, "EXCAVATION SIZE", &["ExcavationSize"], Extra("excavation_size")),
        (Referral, "EXCAVATION METHOD", &["ExcavationMethod"], Extra("excavation_method")),
        (Referral, "VACUUM EXCAVATION", &["VacuumExcavation"], ExtraFlag("vacuum_excavation")),
        (Referral, "ANTICIPATED DEPTH", &["AnticipatedDepth"], Extra("anticipated_depth")),
        (Referral, "RESPONSE REQUIRED", &["ResponseRequired"], ExtraFlag("response_required")),
        (Referral, "BORING REQUIRED", &["BoringRequired", "Boring"], Boring),
        (Referral, "BORING", &[], Boring),
        (Referral, "BLASTING REQUIRED", &["BlastingRequired", "Explosives"], Blasting),
        (Referral, "EXPLOSIVES", &[], Blasting),
        (Referral, "PROJECT OWNER", &["ProjectOwner"], ProjectOwner),
        (Referral, "PERMIT", &["Permit"], Extra("permit")),
        (Referral, "JOB NO/NAME", &["JobNoName"], Extra("job_name")),
        (Referral, "STATION LIST", &["StationList"], StationList),
        (Customer, "EXCAVATOR ID", &["ExcavatorID"], Extra("excavator_id")),
        (Customer, "CONTACT", &["Name", "Contact"], CallerName),
        (Customer, "COMPANY", &["Company"], Company),
        (Customer, "STREET ADDRESS", &["StreetAddress"], CallerStreet),
        (Customer, "CITY/TOWN/PLACE", &["CityTownPlace"], CallerCity),
        (Customer, "STATE", &["State"], CallerState),
        (Customer, "ZIPCODE", &["Zipcode"], CallerZip),
        (Customer, "USER TYPE", &["UserType"], UserType),
        (Customer, "USER INDUSTRY", &["UserIndustry"], Extra("user_industry")),
        (Customer, "PHONE", &["Phone"], Phone),
        (Customer, "MOBILE", &["Mobile"], Extra("mobile")),
        (Customer, "EMAIL", &["Email"], Email),
        (Customer, "LANGUAGE", &["Language"], Extra("language")),
        (Location, "ADDRESS/LOCATION", &["AddressLocation"], WorkAddress),
        (Location, "CITY/TOWN/PLACE", &["CityTownPlace"], WorkCity),
        (Location, "COUNTY", &["County"], WorkCounty),
        (Location, "STATE", &["State"], WorkState),
        (Location, "ZIPCODE", &["Zipcode"], WorkZip),
        (Location, "NEARBY CROSS STREET", &["NearbyCrossStreet"], CrossStreet),
        (Location, "STREET/SIDEWALK", &["StreetSidewalk"], ExtraFlag("street_sidewalk")),
        (Location, "SUBDIVISION/LOT", &["SubdivisionLot"], Subdivision),
        (Location, "ONSITE CONTACT NAME", &["OnsiteContactName"], OnsiteName),
        (Location, "ONSITE CONTACT PHONE", &["OnsiteContactPhone"], OnsitePhone),
        (Location, "LATITUDE", &["Latitude"], Latitude),
        (Location, "LONGITUDE", &["Longitude"], Longitude),
        (Location, "WKT", &["WKT"], Extra("polygon")),
        (Location, "EXCAVATOR REMARKS", &["ExcavatorRemarks"], Remarks),
        (Location, "TICKET EDIT REASON", &["TicketEditReason"], Extra("edit_reason")),
    ]
};

fn field_by_text_key(section: Section, key: &str) -> Option<Field> {
    FIELDS
        .iter()
        .find(|(s, k, _, _)| *s == section && *k == key)
        .map(|f| f.3)
}

fn field_by_xml_name(section: Section, name: &str) -> Option<Field> {
    FIELDS
        .iter()
        .find(|(s, _, names, _)| {
            *s == section && names.iter().any(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|f| f.3)
}

// ---------------------------------------------------------------------------
// Building the ticket

/// What a parser has read so far; `Builder::finish` turns it into a
/// [`Parsed`].
#[derive(Default)]
struct Builder {
    parsed: ParsedParts,
    stations: Vec<String>,
    work_type: Option<String>,
    work_activity: Option<String>,
    company: Option<String>,
    caller_address: [Option<String>; 4],
    work_address: [Option<String>; 5],
    /// (value, where it was read)
    lat: Option<(f64, String)>,
    lng: Option<(f64, String)>,
}

#[derive(Default)]
struct ParsedParts {
    content: integrity_domain::ticket::TicketContent,
    revision: Option<i64>,
    cancelled: bool,
    notes: Vec<String>,
    extra: Map<String, Value>,
}

impl Builder {
    fn extra(&mut self, key: &str, value: Value) {
        self.parsed.extra.insert(key.to_string(), value);
    }

    fn extra_text(&mut self, key: &str, value: &str) {
        if let Some(v) = non_empty(value) {
            self.extra(key, Value::String(v));
        }
    }

    fn note(&mut self, note: String) {
        self.parsed.notes.push(note);
    }

    /// A Yes/No value; an unreadable one is kept as text in `extra` (under
    /// `key`) with a note rather than failing the whole ticket.
    fn flag(&mut self, key: &str, value: &str, at: &str) -> Option<bool> {
        match parse_flag(value) {
            Ok(flag) => flag,
            Err(()) => {
                self.note(format!(
                    "{at}: {key} {:?} is not Yes or No; kept as text",
                    value.trim()
                ));
                self.extra(key, Value::String(value.trim().to_string()));
                None
            }
        }
    }

    fn time(
        &mut self,
        value: &str,
        at: &str,
        read: fn(&str) -> Result<(Millis, bool), String>,
    ) -> Result<Option<Millis>, IntakeError> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        let (ms, gap) = read(value).map_err(|m| IntakeError::new(at, m))?;
        if gap {
            self.note(format!(
                "{at}: {:?} falls in the hour skipped when Pacific clocks spring forward; read as standard time ({})",
                value.trim(),
                format_millis(ms)
            ));
        }
        Ok(Some(ms))
    }

    fn revision(&mut self, value: &str, at: &str) -> Result<(), IntakeError> {
        if value.trim().is_empty() {
            return Ok(());
        }
        let n = parse_count(value)
            .filter(|n| crate::is_revision(*n))
            .ok_or_else(|| {
                IntakeError::new(
                    at,
                    format!(
                        "expected a revision number like 000 (at most {}), found {:?}",
                        crate::MAX_REVISION,
                        value.trim()
                    ),
                )
            })?;
        self.parsed.revision = Some(n);
        Ok(())
    }

    fn sequence(&mut self, value: &str, at: &str) -> Result<(), IntakeError> {
        if value.trim().is_empty() {
            return Ok(());
        }
        let n = parse_count(value).ok_or_else(|| {
            IntakeError::new(
                at,
                format!(
                    "expected a sequence number (digits), found {:?}",
                    value.trim()
                ),
            )
        })?;
        self.parsed.content.sequence_number = Some(n);
        Ok(())
    }

    fn status(&mut self, value: &str) {
        if let Some(v) = non_empty(value) {
            if is_cancel(&v) {
                self.parsed.cancelled = true;
            }
            self.parsed.content.ticket_action = Some(v);
        }
    }

    fn station(&mut self, code: &str) {
        let code = code.trim().trim_matches('"').trim();
        if !code.is_empty() && !self.stations.iter().any(|s| s == code) {
            self.stations.push(code.to_string());
        }
    }

    fn delineated(&mut self, value: &str, at: &str) {
        let Some(v) = non_empty(value) else { return };
        let lower = v.to_ascii_lowercase();
        self.parsed.content.work.white_painted = if lower.starts_with("yes") || lower == "y" {
            Some(true)
        } else if lower.starts_with("no") || lower == "n" {
            Some(false)
        } else {
            self.note(format!(
                "{at}: delineated method {v:?} is neither Yes nor No"
            ));
            None
        };
        self.extra("delineated_method", Value::String(v));
    }

    fn coordinate(&mut self, value: &str, at: &str, latitude: bool) -> Result<(), IntakeError> {
        if value.trim().is_empty() {
            return Ok(());
        }
        let v = parse_degrees(value).ok_or_else(|| {
            IntakeError::new(
                at,
                format!(
                    "expected a {} in decimal degrees, found {:?}",
                    if latitude { "latitude" } else { "longitude" },
                    value.trim()
                ),
            )
        })?;
        if latitude {
            self.lat = Some((v, at.to_string()));
        } else {
            self.lng = Some((v, at.to_string()));
        }
        Ok(())
    }

    /// One field of the XML / Option 2 vocabulary.
    fn apply(&mut self, field: Field, value: &str, at: &str) -> Result<(), IntakeError> {
        use Field::*;
        let c = &mut self.parsed.content;
        let text = non_empty(value);
        match field {
            TicketNumber => c.ticket_number = text.unwrap_or_default(),
            TicketRevision => self.revision(value, at)?,
            PreviousTicket => {
                // Option 2 may write the revision along: `2022041800002-000`.
                let split =
                    text.as_deref()
                        .and_then(|t| t.rsplit_once('-'))
                        .filter(|(number, rev)| {
                            !number.is_empty()
                                && (1..=3).contains(&rev.len())
                                && parse_count(rev).is_some()
                        });
                match split {
                    Some((number, rev)) => {
                        let rev = rev.to_string();
                        c.reference_ticket_number = Some(number.to_string());
                        if !self.parsed.extra.contains_key("previous_ticket_revision") {
                            self.extra("previous_ticket_revision", Value::String(rev));
                        }
                    }
                    None => c.reference_ticket_number = text,
                }
            }
            Sequence => self.sequence(value, at)?,
            Submitted => self.parsed.content.taken_at = self.time(value, at, parse_iso)?,
            WorkBegin => self.parsed.content.work_start_at = self.time(value, at, parse_iso)?,
            LegalStart => self.parsed.content.response_due_at = self.time(value, at, parse_iso)?,
            Expiration => {
                if let Some(ms) = self.time(value, at, parse_iso)? {
                    self.extra("expires_at", Value::String(format_millis(ms)));
                }
            }
            TicketStatus => self.status(value),
            TicketType => c.ticket_type = text,
            TicketMedium => c.ticket_source = text,
            StationCode => c.service_area = text,
            StationList => {
                for code in value.split([',', ';', ' ', '\t', '\n']) {
                    self.station(code);
                }
            }
            WorkType => self.work_type = text,
            WorkActivity => self.work_activity = text,
            WorkDuration => c.work.duration = text,
            DelineatedMethod => self.delineated(value, at),
            Boring => self.parsed.content.work.tunneling_or_boring = self.flag("boring", value, at),
            Blasting => self.parsed.content.work.explosives = self.flag("explosives", value, at),
            ProjectOwner => c.work.done_for = text,
            CallerName => c.excavator.caller.name = text,
            Company => self.company = text,
            CallerStreet => self.caller_address[0] = text,
            CallerCity => self.caller_address[1] = text,
            CallerState => self.caller_address[2] = text,
            CallerZip => self.caller_address[3] = text,
            UserType => c.excavator.kind = text,
            Phone => c.excavator.phone = text,
            Email => c.excavator.caller.email = text.map(strip_mailto),
            WorkAddress => self.work_address[0] = text,
            WorkCity => self.work_address[1] = text,
            WorkCounty => self.work_address[2] = text,
            WorkState => self.work_address[3] = text,
            WorkZip => self.work_address[4] = text,
            CrossStreet => c.work.nearby_street = text,
            Subdivision => c.work.subdivision = text,
            OnsiteName => c.excavator.contact.name = text,
            OnsitePhone => c.excavator.contact.phone = text,
            Latitude => self.coordinate(value, at, true)?,
            Longitude => self.coordinate(value, at, false)?,
            Remarks => c.remarks = text,
            Extra(key) => {
                if let Some(v) = text {
                    self.extra(key, Value::String(strip_mailto(v)));
                }
            }
            ExtraFlag(key) => {
                if let Some(flag) = self.flag(key, value, at) {
                    self.extra(key, Value::Bool(flag));
                }
            }
        }
        Ok(())
    }

    /// The ticket, once every field is read. `number_at` is where a missing
    /// ticket number is reported.
    fn finish(mut self, number_at: &str, number_expected: &str) -> Result<Parsed, IntakeError> {
        if self.parsed.content.ticket_number.trim().is_empty() {
            return Err(IntakeError::new(number_at, number_expected));
        }
        self.finish_coordinates()?;
        self.area_from_polygon();
        let c = &mut self.parsed.content;

        // Service areas: the receiving station first, then the others.
        if c.service_area.is_none() && !self.stations.is_empty() {
            c.service_area = Some(self.stations.remove(0));
        }
        let primary = c.service_area.clone();
        c.additional_service_areas = self
            .stations
            .into_iter()
            .filter(|s| Some(s) != primary.as_ref())
            .collect();

        c.work.kind = match (self.work_type, self.work_activity) {
            (Some(t), Some(a)) => Some(format!("{t}: {a}")),
            (t, a) => t.or(a),
        };

        // A homeowner or unlisted company: the caller is the excavator.
        match self.company {
            Some(company) if !is_not_listed(&company) => c.excavator.name = Some(company),
            company => {
                c.excavator.name = c.excavator.caller.name.clone();
                if let Some(company) = company {
                    self.parsed
                        .extra
                        .insert("company".into(), Value::String(company));
                }
            }
        }
        if c.excavator.caller.phone.is_none() {
            c.excavator.caller.phone = c.excavator.phone.clone();
        }
        let [street, city, state, zip] = &self.caller_address;
        let state_zip = join_state_zip(state.as_deref(), zip.as_deref());
        c.excavator.address = join(&[street.as_deref(), city.as_deref(), state_zip.as_deref()]);
        let [address, city, county, state, zip] = &self.work_address;
        let state_zip = join_state_zip(state.as_deref(), zip.as_deref());
        c.work.address = join(&[
            address.as_deref(),
            city.as_deref(),
            county.as_deref(),
            state_zip.as_deref(),
        ]);

        let ParsedParts {
            content,
            revision,
            cancelled,
            notes,
            extra,
        } = self.parsed;
        Ok(Parsed {
            content,
            revision,
            cancelled,
            notes,
            extra: Value::Object(extra),
            attachments: Vec::new(),
        })
    }

    /// The work area from the ticket's WKT polygon, when it reads as one in
    /// range; otherwise the polygon stays text in `extra` with a note, since
    /// the ticket is still worth having without its drawing.
    fn area_from_polygon(&mut self) {
        let Some(Value::String(wkt)) = self.parsed.extra.get("polygon") else {
            return;
        };
        if wkt.trim().is_empty() {
            return;
        }
        let problem = match crate::geometry::parse_wkt(wkt) {
            Ok(polygons)
                if polygons
                    .iter()
                    .flatten()
                    .flatten()
                    .all(|p| crate::geometry::in_range(*p)) =>
            {
                match crate::geometry::to_geojson(&polygons) {
                    Some(area) if integrity_domain::ticket::validate_area(&area).is_ok() => {
                        let c = &mut self.parsed.content;
                        if c.lat.is_none() && c.lng.is_none() {
                            if let Some([lng, lat]) = crate::geometry::centroid(&polygons) {
                                c.lat = Some(crate::geometry::round6(lat));
                                c.lng = Some(crate::geometry::round6(lng));
                            }
                        }
                        c.work.area = Some(area);
                        return;
                    }
                    _ => "is not a valid polygon".to_string(),
                }
            }
            Ok(_) => "has coordinates out of range".to_string(),
            Err(e) => e.to_string(),
        };
        let note = format!("polygon {problem}; kept as text only");
        self.parsed.notes.push(note);
    }

    /// Checks the latitude and longitude ranges, and swaps a pair that was
    /// clearly written the wrong way round (a "latitude" beyond ±90 that is
    /// a valid longitude, with a "longitude" that is a valid latitude).
    fn finish_coordinates(&mut self) -> Result<(), IntakeError> {
        let (lat, lng) = match (self.lat.take(), self.lng.take()) {
            (None, None) => return Ok(()),
            (Some((v, at)), None) | (None, Some((v, at))) => {
                self.note(format!(
                    "{at}: a coordinate ({v}) without its pair; the ticket's position is left empty"
                ));
                self.extra("unpaired_coordinate", serde_json::json!(v));
                return Ok(());
            }
            (Some(lat), Some(lng)) => (lat, lng),
        };
        let ((mut la, lat_at), (mut lo, lng_at)) = (lat, lng);
        if la == 0.0 && lo == 0.0 {
            self.note(format!("{lat_at}: position 0, 0 read as no position"));
            return Ok(());
        }
        if la.abs() > 90.0 && la.abs() <= 180.0 && lo.abs() <= 90.0 {
            std::mem::swap(&mut la, &mut lo);
            self.note(format!(
                "{lat_at}: latitude and longitude were swapped ({lo}, {la}); read as latitude {la}, longitude {lo}"
            ));
        }
        if la.abs() > 90.0 {
            return Err(IntakeError::new(
                lat_at,
                format!("latitude {la} is out of range: expected -90 to 90"),
            ));
        }
        if lo.abs() > 180.0 {
            return Err(IntakeError::new(
                lng_at,
                format!("longitude {lo} is out of range: expected -180 to 180"),
            ));
        }
        self.parsed.content.lat = Some(la);
        self.parsed.content.lng = Some(lo);
        Ok(())
    }
}

fn join_state_zip(state: Option<&str>, zip: Option<&str>) -> Option<String> {
    match (state, zip) {
        (Some(s), Some(z)) => Some(format!("{s} {z}")),
        (s, z) => s.or(z).map(str::to_string),
    }
}

/// `--Not Listed--`: the caller chose no company.
fn is_not_listed(company: &str) -> bool {
    company
        .trim_matches(|c: char| c == '-' || c.is_whitespace())
        .eq_ignore_ascii_case("not listed")
}

/// `a@b.c<mailto:a@b.c>` (how Outlook writes addresses in plain text) → `a@b.c`.
fn strip_mailto(value: String) -> String {
    match value.find("<mailto:") {
        Some(i) if i > 0 => value[..i].trim_end().to_string(),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use integrity_domain::time::parse_timestamp;

    fn pacific(text: &str) -> (String, bool) {
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        let (ms, gap) = pacific_to_utc(local).unwrap();
        (format_millis(ms), gap)
    }

    #[test]
    fn pacific_time_follows_the_us_rule_since_2007() {
        // 2022: PDT from 13 March 02:00 to 6 November 02:00.
        assert_eq!(pacific("2022-03-13 01:59").0, "2022-03-13T09:59:00.000Z");
        assert_eq!(
            pacific("2022-03-13 02:30"),
            ("2022-03-13T10:30:00.000Z".into(), true)
        );
        assert_eq!(pacific("2022-03-13 03:00").0, "2022-03-13T10:00:00.000Z");
        assert_eq!(pacific("2022-11-06 00:59").0, "2022-11-06T07:59:00.000Z");
        assert_eq!(pacific("2022-11-06 01:30").0, "2022-11-06T08:30:00.000Z");
        assert_eq!(pacific("2022-11-06 02:00").0, "2022-11-06T10:00:00.000Z");
        assert_eq!(pacific("2022-12-31 23:59").0, "2023-01-01T07:59:00.000Z");
        // 2024: 10 March and 3 November.
        assert_eq!(pacific("2024-03-10 03:00").0, "2024-03-10T10:00:00.000Z");
        assert_eq!(pacific("2024-03-09 12:00").0, "2024-03-09T20:00:00.000Z");
        assert_eq!(pacific("2024-11-03 02:00").0, "2024-11-03T10:00:00.000Z");
    }

    #[test]
    fn pacific_time_before_2007_used_april_to_october() {
        // 2006: 2 April and 29 October.
        assert_eq!(pacific("2006-03-20 12:00").0, "2006-03-20T20:00:00.000Z");
        assert_eq!(pacific("2006-04-02 03:00").0, "2006-04-02T10:00:00.000Z");
        assert_eq!(pacific("2006-10-29 01:30").0, "2006-10-29T08:30:00.000Z");
        assert_eq!(pacific("2006-10-29 02:00").0, "2006-10-29T10:00:00.000Z");
    }

    #[test]
    fn iso_dates_keep_their_offset_and_bare_ones_are_pacific() {
        let (ms, _) = parse_iso("2022-04-11T11:13:39.018116-07:00").unwrap();
        assert_eq!(format_millis(ms), "2022-04-11T18:13:39.018Z");
        let (ms, _) = parse_iso("2022-01-11T11:13:39").unwrap();
        assert_eq!(Some(ms), parse_timestamp("2022-01-11T19:13:39Z"));
        assert!(parse_iso("2022-02-30T00:00:00-08:00").is_err());
    }

    #[test]
    fn flags_and_counts() {
        assert_eq!(parse_flag(" YES "), Ok(Some(true)));
        assert_eq!(parse_flag("False"), Ok(Some(false)));
        assert_eq!(parse_flag(""), Ok(None));
        assert_eq!(parse_flag("maybe"), Err(()));
        assert_eq!(parse_count("000"), Some(0));
        assert_eq!(parse_count("-1"), None);
        assert_eq!(parse_count("99999999999999999999"), None);
        assert_eq!(parse_degrees("-119.681675"), Some(-119.681675));
        assert_eq!(parse_degrees("NaN"), None);
        assert_eq!(parse_degrees("1e5"), None);
    }

    #[test]
    fn not_listed_and_mailto() {
        assert!(is_not_listed("--Not Listed--"));
        assert!(!is_not_listed("PelicanCorp"));
        assert_eq!(
            strip_mailto("a@example.com<mailto:a@example.com>".into()),
            "a@example.com"
        );
    }
}
