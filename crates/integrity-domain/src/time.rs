//! Timestamps as the API writes them: ISO 8601, UTC, milliseconds, `Z`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A point in time, held as milliseconds since the Unix epoch so that both
/// storage backends keep it in a plain 64-bit integer and order it alike.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

/// Renders `2016-06-29T15:29:36.947Z`.
pub fn format_millis(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        // Out of chrono's range only through a corrupted row; render the raw
        // number rather than panic inside a response.
        None => ms.to_string(),
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp with an offset (`Z`, `-05:00`),
/// or a date-time without one, which is taken as UTC.
pub fn parse_timestamp(text: &str) -> Option<Millis> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// A date alone (`2026-12-04`) as its first millisecond, UTC: what a
/// filter such as `updated_since` means by it.
pub fn start_of_day_utc(text: &str) -> Option<Millis> {
    let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Serde adapter for optional timestamps in the API's format.
pub mod serde_opt_millis {
    use super::{format_millis, parse_timestamp, Millis};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(ms) => s.serialize_str(&format_millis(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => parse_timestamp(t).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!("is not an ISO 8601 timestamp: {t:?}"))
            }),
        }
    }
}

/// Serde adapter for required timestamps in the API's format.
pub mod serde_millis {
    use super::{format_millis, Millis};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_millis(*value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        let ms = parse_timestamp("2016-06-29T15:29:36.947Z").unwrap();
        assert_eq!(format_millis(ms), "2016-06-29T15:29:36.947Z");
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let ms = parse_timestamp("2024-02-22T16:35:37.193-05:00").unwrap();
        assert_eq!(format_millis(ms), "2024-02-22T21:35:37.193Z");
    }

    #[test]
    fn rejects_garbage_and_impossible_dates() {
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2016-02-30T00:00:00Z"), None);
    }
}
