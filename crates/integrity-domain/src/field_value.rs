//! Custom field values: what a client sends (form strings or typed JSON),
//! parsed into the typed value a ticket stores and shows.
//!
//! Messages are Rails' defaults because clients written against the original
//! product match on them (contract, section 2 and decision 8).

use std::collections::HashSet;

use chrono::NaiveDate;
use serde_json::{Number, Value};
use url::Url;

use crate::custom_field::{FieldType, OptionNode};
use crate::errors::msg;

const NOT_A_NUMBER: &str = "is not a number";
const NOT_AN_INTEGER: &str = "must be an integer";
const SINGLE_LINE_MAX: usize = 255;
const MULTI_LINE_MAX: usize = 65_535;
/// 2^63: every integral f64 with a smaller magnitude fits an i64.
const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;

/// What a value is checked against.
#[derive(Debug, Clone, Copy)]
pub struct FieldDefinition<'a> {
    pub field_type: FieldType,
    pub options: &'a [OptionNode],
}

/// Ok(None): the value clears the field (JSON null, "" or, for the multiselect types, an empty array).
/// Ok(Some(v)): the typed value to store and show. Err(message): the Rails message to show under `custom_fields[<id>]`.
pub fn parse_field_value(
    field: &FieldDefinition<'_>,
    raw: &serde_json::Value,
) -> Result<Option<serde_json::Value>, String> {
    if is_blank(raw) {
        return Ok(None);
    }
    let options = field.options;
    match field.field_type {
        FieldType::SingleLine => parse_single_line(raw).map(Some),
        FieldType::MultiLine => parse_multi_line(raw).map(Some),
        FieldType::Url => parse_url(raw).map(Some),
        FieldType::Integer => parse_integer(raw).map(Some),
        FieldType::Float => parse_float(raw).map(Some),
        FieldType::Date => parse_date(raw).map(Some),
        FieldType::Boolean => parse_boolean(raw).map(Some),
        FieldType::Dropdown => parse_dropdown(raw, options, false).map(Some),
        FieldType::CascadingDropdown => parse_dropdown(raw, options, true).map(Some),
        FieldType::Multiselect => parse_multiselect(raw, options, false),
        FieldType::CascadingMultiselect => parse_multiselect(raw, options, true),
    }
}

/// A form sends "" for an untouched input, and padding alone carries no
/// value, so both clear the field like `null` does.
fn is_blank(raw: &Value) -> bool {
    match raw {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn invalid() -> String {
    msg::INVALID.to_owned()
}

fn too_long(max: usize) -> String {
    format!("is too long (maximum is {max} characters)")
}

/// Rails counts characters, not bytes.
fn check_length(s: &str, max: usize) -> Result<(), String> {
    if s.chars().count() > max {
        Err(too_long(max))
    } else {
        Ok(())
    }
}

fn parse_single_line(raw: &Value) -> Result<Value, String> {
    let Value::String(s) = raw else {
        return Err(invalid());
    };
    if s.contains(['\n', '\r']) {
        return Err(invalid());
    }
    check_length(s, SINGLE_LINE_MAX)?;
    Ok(Value::String(s.clone()))
}

fn parse_multi_line(raw: &Value) -> Result<Value, String> {
    let Value::String(s) = raw else {
        return Err(invalid());
    };
    check_length(s, MULTI_LINE_MAX)?;
    Ok(Value::String(s.clone()))
}

fn parse_url(raw: &Value) -> Result<Value, String> {
    let Value::String(s) = raw else {
        return Err(invalid());
    };
    let trimmed = s.trim();
    // The parser silently drops tabs and line breaks and escapes spaces; since
    // the input is stored as given, it must be exactly what was checked.
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let url = Url::parse(trimmed).map_err(|_| invalid())?;
    let web = matches!(url.scheme(), "http" | "https");
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    if web && has_host {
        Ok(Value::String(trimmed.to_owned()))
    } else {
        Err(invalid())
    }
}

/// An optional sign and ASCII digits: the form an integer takes in a form.
fn is_integer_literal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// serde_json holds an integer literal beyond the i64/u64 range as a float;
/// such a value is a whole number too large for the field, not a fraction.
fn is_integral_beyond_i64(f: f64) -> bool {
    f.fract() == 0.0 && f.abs() >= I64_BOUND
}

fn parse_finite_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_integer(raw: &Value) -> Result<Value, String> {
    match raw {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Value::from(i))
            } else if n.is_u64() || n.as_f64().is_some_and(is_integral_beyond_i64) {
                Err(NOT_A_NUMBER.to_owned())
            } else {
                // Rails checks the written form, so 7.0 is no integer either.
                Err(NOT_AN_INTEGER.to_owned())
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if is_integer_literal(t) {
                t.parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| NOT_A_NUMBER.to_owned())
            } else if parse_finite_f64(t).is_some() {
                Err(NOT_AN_INTEGER.to_owned())
            } else {
                Err(NOT_A_NUMBER.to_owned())
            }
        }
        _ => Err(NOT_A_NUMBER.to_owned()),
    }
}

/// Always stored as an f64 so the field shows one JSON type whatever the
/// client sent (`7` and `"7"` both become `7.0`).
fn parse_float(raw: &Value) -> Result<Value, String> {
    let f = match raw {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_finite_f64(s.trim()),
        _ => None,
    };
    f.and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| NOT_A_NUMBER.to_owned())
}

fn parse_date(raw: &Value) -> Result<Value, String> {
    let Value::String(s) = raw else {
        return Err(invalid());
    };
    let t = s.trim();
    // chrono's %Y, %m and %d also take signs and short numbers ("2016-7-3"),
    // so the exact shape is checked before the calendar.
    let shaped = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if shaped && NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
        Ok(Value::String(t.to_owned()))
    } else {
        Err(invalid())
    }
}

fn parse_boolean(raw: &Value) -> Result<Value, String> {
    let b = match raw {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    };
    b.map(Value::Bool).ok_or_else(invalid)
}

/// How a value reads as an option id.
enum IdForm {
    Id(i64),
    /// A whole number, but one no option can have: not in the list, rather
    /// than "is invalid", since it has the form of an id.
    OutOfRange,
    NotAnId,
}

fn id_form(raw: &Value) -> IdForm {
    match raw {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                IdForm::Id(i)
            } else if n.is_u64() || n.as_f64().is_some_and(is_integral_beyond_i64) {
                IdForm::OutOfRange
            } else {
                IdForm::NotAnId
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if is_integer_literal(t) {
                t.parse().map_or(IdForm::OutOfRange, IdForm::Id)
            } else {
                IdForm::NotAnId
            }
        }
        _ => IdForm::NotAnId,
    }
}

/// The ids a value may take. Iterative so that a deep option tree cannot
/// exhaust the stack.
fn allowed_ids(options: &[OptionNode], any_depth: bool) -> HashSet<i64> {
    let mut ids = HashSet::new();
    let mut pending: Vec<&OptionNode> = options.iter().collect();
    while let Some(node) = pending.pop() {
        ids.insert(node.id);
        if any_depth {
            pending.extend(&node.options);
        }
    }
    ids
}

fn parse_dropdown(raw: &Value, options: &[OptionNode], any_depth: bool) -> Result<Value, String> {
    match id_form(raw) {
        IdForm::NotAnId => Err(invalid()),
        IdForm::Id(id) if allowed_ids(options, any_depth).contains(&id) => Ok(Value::from(id)),
        IdForm::Id(_) | IdForm::OutOfRange => Err(msg::NOT_IN_LIST.to_owned()),
    }
}

fn parse_multiselect(
    raw: &Value,
    options: &[OptionNode],
    any_depth: bool,
) -> Result<Option<Value>, String> {
    let Value::Array(items) = raw else {
        return Err(invalid());
    };
    let forms: Vec<IdForm> = items.iter().map(id_form).collect();
    // A malformed element outranks an unknown one wherever each sits, so the
    // message does not depend on the order of the elements.
    if forms.iter().any(|f| matches!(f, IdForm::NotAnId)) {
        return Err(invalid());
    }
    let allowed = allowed_ids(options, any_depth);
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for form in forms {
        match form {
            IdForm::Id(id) if allowed.contains(&id) => {
                if seen.insert(id) {
                    ids.push(Value::from(id));
                }
            }
            _ => return Err(msg::NOT_IN_LIST.to_owned()),
        }
    }
    if ids.is_empty() {
        Ok(None)
    } else {
        Ok(Some(Value::Array(ids)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    use FieldType::*;

    fn node(id: i64, children: Vec<OptionNode>) -> OptionNode {
        OptionNode {
            id,
            name: format!("Option {id}"),
            options: children,
        }
    }

    /// 10 ─┬─ 11 ── 111
    ///     └─ 12
    /// 20
    fn tree() -> Vec<OptionNode> {
        vec![
            node(
                10,
                vec![node(11, vec![node(111, vec![])]), node(12, vec![])],
            ),
            node(20, vec![]),
        ]
    }

    const TOP_IDS: [i64; 2] = [10, 20];
    const ALL_IDS: [i64; 5] = [10, 11, 111, 12, 20];

    fn parse(t: FieldType, raw: Value) -> Result<Option<Value>, String> {
        let options = tree();
        let field = FieldDefinition {
            field_type: t,
            options: &options,
        };
        parse_field_value(&field, &raw)
    }

    #[track_caller]
    fn accepts(t: FieldType, raw: Value, expected: Value) {
        assert_eq!(
            parse(t, raw.clone()),
            Ok(Some(expected)),
            "{t:?} should accept {raw}"
        );
    }

    #[track_caller]
    fn rejects(t: FieldType, raw: Value, message: &str) {
        assert_eq!(
            parse(t, raw.clone()),
            Err(message.to_owned()),
            "{t:?} should reject {raw}"
        );
    }

    #[track_caller]
    fn clears(t: FieldType, raw: Value) {
        assert_eq!(
            parse(t, raw.clone()),
            Ok(None),
            "{t:?} should clear on {raw}"
        );
    }

    const INVALID: &str = "is invalid";
    const NOT_IN_LIST: &str = "is not included in the list";

    // --- every type -------------------------------------------------------

    #[test]
    fn null_empty_and_whitespace_clear_every_type() {
        for t in FieldType::ALL {
            for raw in [json!(null), json!(""), json!("   "), json!(" \t\r\n ")] {
                clears(t, raw);
            }
        }
    }

    #[test]
    fn an_empty_array_clears_only_the_multiselect_types() {
        clears(Multiselect, json!([]));
        clears(CascadingMultiselect, json!([]));
        for t in FieldType::ALL {
            if !matches!(t, Multiselect | CascadingMultiselect) {
                assert!(parse(t, json!([])).is_err(), "{t:?} accepted []");
            }
        }
    }

    #[test]
    fn documented_example() {
        // {"custom_fields": {"1": "1", "5": "7"}}: field 1 boolean, field 5 date.
        accepts(Boolean, json!("1"), json!(true));
        rejects(Date, json!("7"), INVALID);
    }

    #[test]
    fn objects_are_rejected_by_every_type() {
        for t in FieldType::ALL {
            assert!(
                parse(t, json!({"a": 1})).is_err(),
                "{t:?} accepted an object"
            );
        }
    }

    // --- 1 single line ----------------------------------------------------

    #[test]
    fn single_line_accepts_strings_as_given() {
        accepts(SingleLine, json!("abc"), json!("abc"));
        accepts(SingleLine, json!("  padded  "), json!("  padded  "));
        accepts(SingleLine, json!("tab\tinside"), json!("tab\tinside"));
        accepts(SingleLine, json!("7"), json!("7"));
    }

    #[test]
    fn single_line_counts_characters_not_bytes() {
        let at_limit = "é".repeat(255);
        accepts(SingleLine, json!(at_limit), json!(at_limit));
        rejects(
            SingleLine,
            json!("é".repeat(256)),
            "is too long (maximum is 255 characters)",
        );
        rejects(
            SingleLine,
            json!("a".repeat(256)),
            "is too long (maximum is 255 characters)",
        );
    }

    #[test]
    fn single_line_rejects_line_breaks_and_non_strings() {
        for raw in [
            json!("a\nb"),
            json!("a\rb"),
            json!("a\r\nb"),
            json!("trailing\n"),
            json!(7),
            json!(2.5),
            json!(true),
            json!(["a"]),
            json!({"a": "b"}),
        ] {
            rejects(SingleLine, raw, INVALID);
        }
    }

    #[test]
    fn single_line_reports_a_line_break_before_length() {
        rejects(SingleLine, json!(format!("{}\n", "a".repeat(300))), INVALID);
    }

    // --- 2 multi line -----------------------------------------------------

    #[test]
    fn multi_line_accepts_line_breaks() {
        accepts(MultiLine, json!("a\nb\r\nc"), json!("a\nb\r\nc"));
        accepts(MultiLine, json!(" x "), json!(" x "));
    }

    #[test]
    fn multi_line_limit_is_65535_characters() {
        let at_limit = "a".repeat(65_535);
        accepts(MultiLine, json!(at_limit), json!(at_limit));
        rejects(
            MultiLine,
            json!("a".repeat(65_536)),
            "is too long (maximum is 65535 characters)",
        );
    }

    #[test]
    fn multi_line_rejects_non_strings() {
        for raw in [json!(7), json!(false), json!(["a"]), json!({})] {
            rejects(MultiLine, raw, INVALID);
        }
    }

    // --- 3 URL ------------------------------------------------------------

    #[test]
    fn url_accepts_http_and_https_and_keeps_the_input() {
        for s in [
            "http://example.com",
            "https://example.com/path?q=1#frag",
            "https://user:pw@example.com:8443/a/b",
            "http://127.0.0.1:3000",
            "http://[::1]/",
            "HTTPS://Example.COM/X",
        ] {
            accepts(Url, json!(s), json!(s));
        }
        accepts(
            Url,
            json!("  https://example.com/  "),
            json!("https://example.com/"),
        );
    }

    #[test]
    fn url_rejects_other_schemes_missing_hosts_and_non_strings() {
        for raw in [
            json!("example.com"),
            json!("www.example.com/path"),
            json!("ftp://example.com"),
            json!("mailto:someone@example.com"),
            json!("javascript:alert(1)"),
            json!("file:///etc/passwd"),
            json!("http://"),
            json!("https://"),
            json!("not a url"),
            json!("http://exa mple.com"),
            json!("http://exa\tmple.com"),
            json!("http://example.com/\nx"),
            json!(7),
            json!(true),
            json!(["http://example.com"]),
        ] {
            rejects(Url, raw, INVALID);
        }
    }

    // --- 4 integer --------------------------------------------------------

    #[test]
    fn integer_accepts_json_integers_and_integer_strings() {
        accepts(Integer, json!(7), json!(7));
        accepts(Integer, json!(-7), json!(-7));
        accepts(Integer, json!(0), json!(0));
        accepts(Integer, json!("7"), json!(7));
        accepts(Integer, json!(" 7 "), json!(7));
        accepts(Integer, json!("+7"), json!(7));
        accepts(Integer, json!("-7"), json!(-7));
        accepts(Integer, json!("007"), json!(7));
        accepts(Integer, json!(i64::MAX), json!(i64::MAX));
        accepts(Integer, json!(i64::MIN), json!(i64::MIN));
        accepts(Integer, json!(i64::MAX.to_string()), json!(i64::MAX));
        accepts(Integer, json!(i64::MIN.to_string()), json!(i64::MIN));
    }

    #[test]
    fn integer_stores_a_json_integer() {
        let stored = parse(Integer, json!("7")).unwrap().unwrap();
        assert!(stored.is_i64());
    }

    #[test]
    fn integer_rejects_fractions_with_must_be_an_integer() {
        for raw in [
            json!("7.5"),
            json!(7.5),
            json!(7.0),
            json!("7.0"),
            json!("1e3"),
            json!(-0.5),
            json!(" -2.25 "),
        ] {
            rejects(Integer, raw, "must be an integer");
        }
    }

    #[test]
    fn integer_rejects_non_numbers() {
        for raw in [
            json!("abc"),
            json!("7a"),
            json!("0x10"),
            json!("1_000"),
            json!("+"),
            json!("-"),
            json!("7 7"),
            json!("NaN"),
            json!("inf"),
            json!(true),
            json!(false),
            json!([7]),
            json!({"v": 7}),
        ] {
            rejects(Integer, raw, "is not a number");
        }
    }

    #[test]
    fn integer_out_of_i64_range_is_not_a_number() {
        rejects(Integer, json!("9223372036854775808"), "is not a number");
        rejects(Integer, json!("-9223372036854775809"), "is not a number");
        rejects(Integer, json!(u64::MAX), "is not a number");
        rejects(
            Integer,
            json!(9_223_372_036_854_775_808_u64),
            "is not a number",
        );
        // Literals beyond u64 reach us as floats.
        let huge: Value = serde_json::from_str("99999999999999999999").unwrap();
        rejects(Integer, huge, "is not a number");
        let huge_negative: Value = serde_json::from_str("-99999999999999999999").unwrap();
        rejects(Integer, huge_negative, "is not a number");
    }

    // --- 5 float ----------------------------------------------------------

    #[test]
    fn float_accepts_numbers_and_numeric_strings_as_f64() {
        accepts(Float, json!(2.5), json!(2.5));
        accepts(Float, json!("2.5"), json!(2.5));
        accepts(Float, json!(" 2.5 "), json!(2.5));
        accepts(Float, json!("-3"), json!(-3.0));
        accepts(Float, json!("1e3"), json!(1000.0));
        accepts(Float, json!("1E-2"), json!(0.01));
        accepts(Float, json!("+.5"), json!(0.5));
        accepts(Float, json!(7), json!(7.0));
        accepts(Float, json!(-7), json!(-7.0));
        for raw in [json!(7), json!("-3"), json!(2.5)] {
            let stored = parse(Float, raw).unwrap().unwrap();
            assert!(stored.is_f64(), "{stored} is not stored as a float");
        }
    }

    #[test]
    fn float_rejects_non_finite_and_non_numbers() {
        for raw in [
            json!("NaN"),
            json!("nan"),
            json!("inf"),
            json!("-Infinity"),
            json!("1e400"),
            json!("abc"),
            json!("2,5"),
            json!("2.5.1"),
            json!("0x10"),
            json!(true),
            json!([2.5]),
            json!({"v": 2.5}),
        ] {
            rejects(Float, raw, "is not a number");
        }
    }

    // --- 6 date -----------------------------------------------------------

    #[test]
    fn date_accepts_real_calendar_dates() {
        for s in [
            "2016-07-03",
            "2016-02-29",
            "2000-02-29",
            "1999-12-31",
            "0001-01-01",
        ] {
            accepts(Date, json!(s), json!(s));
        }
        accepts(Date, json!(" 2016-07-03 "), json!("2016-07-03"));
    }

    #[test]
    fn date_rejects_other_shapes_and_impossible_dates() {
        for raw in [
            json!("2016-02-30"),
            json!("2015-02-29"),
            json!("1900-02-29"),
            json!("2016-13-01"),
            json!("2016-00-10"),
            json!("2016-07-00"),
            json!("2016-07-32"),
            json!("2016-7-3"),
            json!("2016-07-3"),
            json!("7"),
            json!("2016-07-03T00:00:00Z"),
            json!("2016-07-03 00:00"),
            json!("2016/07/03"),
            json!("03-07-2016"),
            json!("16-07-03"),
            json!("+2016-07-03"),
            json!("+016-07-03"),
            json!("２０１６-07-03"),
            json!(20_160_703),
            json!(true),
            json!(["2016-07-03"]),
        ] {
            rejects(Date, raw, INVALID);
        }
    }

    // --- 7 boolean --------------------------------------------------------

    #[test]
    fn boolean_accepts_form_strings_json_bools_and_one_zero() {
        for (raw, b) in [
            (json!("1"), true),
            (json!("0"), false),
            (json!("true"), true),
            (json!("false"), false),
            (json!("TRUE"), true),
            (json!(" False "), false),
            (json!(" 1 "), true),
            (json!(true), true),
            (json!(false), false),
            (json!(1), true),
            (json!(0), false),
        ] {
            accepts(Boolean, raw, json!(b));
        }
    }

    #[test]
    fn boolean_rejects_everything_else() {
        for raw in [
            json!("yes"),
            json!("no"),
            json!("t"),
            json!("on"),
            json!("2"),
            json!("01"),
            json!(2),
            json!(-1),
            json!(1.0),
            json!(0.0),
            json!([true]),
            json!({"v": true}),
        ] {
            rejects(Boolean, raw, INVALID);
        }
    }

    // --- 8 dropdown -------------------------------------------------------

    #[test]
    fn dropdown_accepts_top_level_option_ids() {
        accepts(Dropdown, json!(10), json!(10));
        accepts(Dropdown, json!(20), json!(20));
        accepts(Dropdown, json!("10"), json!(10));
        accepts(Dropdown, json!(" 20 "), json!(20));
    }

    #[test]
    fn dropdown_rejects_ids_that_are_not_top_level_options() {
        for raw in [
            json!(11),
            json!(111),
            json!("12"),
            json!(999),
            json!("999"),
            json!(0),
            json!(-10),
            json!("-10"),
            json!(u64::MAX),
            json!("99999999999999999999"),
        ] {
            rejects(Dropdown, raw, NOT_IN_LIST);
        }
    }

    #[test]
    fn dropdown_rejects_values_that_are_no_ids() {
        for raw in [
            json!("abc"),
            json!("Option 10"),
            json!("10.0"),
            json!(10.0),
            json!(10.5),
            json!(true),
            json!([10]),
            json!({"id": 10}),
        ] {
            rejects(Dropdown, raw, INVALID);
        }
    }

    #[test]
    fn dropdown_without_options_lists_nothing() {
        let field = FieldDefinition {
            field_type: Dropdown,
            options: &[],
        };
        assert_eq!(
            parse_field_value(&field, &json!(10)),
            Err(NOT_IN_LIST.to_owned())
        );
    }

    // --- 9 cascading dropdown ---------------------------------------------

    #[test]
    fn cascading_dropdown_accepts_ids_at_any_depth() {
        for id in ALL_IDS {
            accepts(CascadingDropdown, json!(id), json!(id));
            accepts(CascadingDropdown, json!(id.to_string()), json!(id));
        }
    }

    #[test]
    fn cascading_dropdown_rejects_unknown_ids_and_non_ids() {
        rejects(CascadingDropdown, json!(999), NOT_IN_LIST);
        rejects(CascadingDropdown, json!("1111"), NOT_IN_LIST);
        rejects(CascadingDropdown, json!("abc"), INVALID);
        rejects(CascadingDropdown, json!([111]), INVALID);
    }

    // --- 10 multiselect ---------------------------------------------------

    #[test]
    fn multiselect_accepts_arrays_of_top_level_ids_in_order_without_duplicates() {
        accepts(Multiselect, json!([20, "10"]), json!([20, 10]));
        accepts(Multiselect, json!([10]), json!([10]));
        accepts(
            Multiselect,
            json!([10, 10, "10", " 20 ", 20]),
            json!([10, 20]),
        );
    }

    #[test]
    fn multiselect_rejects_ids_that_are_not_top_level_options() {
        rejects(Multiselect, json!([11]), NOT_IN_LIST);
        rejects(Multiselect, json!([10, 999]), NOT_IN_LIST);
        rejects(Multiselect, json!(["20", "111"]), NOT_IN_LIST);
        rejects(Multiselect, json!([u64::MAX]), NOT_IN_LIST);
    }

    #[test]
    fn multiselect_rejects_non_arrays_and_non_id_elements() {
        for raw in [
            json!(10),
            json!("10"),
            json!("10,20"),
            json!(true),
            json!({"10": true}),
            json!(["abc"]),
            json!([10, "abc"]),
            json!([null]),
            json!([""]),
            json!([10.5]),
            json!([[10]]),
            json!([{"id": 10}]),
        ] {
            rejects(Multiselect, raw, INVALID);
        }
    }

    #[test]
    fn multiselect_malformed_element_outranks_unknown_id_in_any_order() {
        rejects(Multiselect, json!([999, "abc"]), INVALID);
        rejects(Multiselect, json!(["abc", 999]), INVALID);
    }

    // --- 11 cascading multiselect -----------------------------------------

    #[test]
    fn cascading_multiselect_accepts_ids_at_any_depth() {
        accepts(
            CascadingMultiselect,
            json!([111, "12", 20, 10, 111]),
            json!([111, 12, 20, 10]),
        );
    }

    #[test]
    fn cascading_multiselect_rejects_unknown_ids_and_non_ids() {
        rejects(CascadingMultiselect, json!([111, 999]), NOT_IN_LIST);
        rejects(CascadingMultiselect, json!([111, "x"]), INVALID);
        rejects(CascadingMultiselect, json!(111), INVALID);
    }

    #[test]
    fn a_deep_option_tree_does_not_overflow_the_stack() {
        let mut deep = node(0, vec![]);
        for id in 1..100_000 {
            deep = node(id, vec![deep]);
        }
        let options = vec![deep];
        let field = FieldDefinition {
            field_type: CascadingDropdown,
            options: &options,
        };
        assert_eq!(parse_field_value(&field, &json!(0)), Ok(Some(json!(0))));
        // Dropping a 100 000-deep tree recurses; take it apart iteratively.
        let mut pending = options;
        while let Some(mut n) = pending.pop() {
            pending.append(&mut n.options);
        }
    }

    // --- properties -------------------------------------------------------

    fn any_field_type() -> impl Strategy<Value = FieldType> {
        prop::sample::select(FieldType::ALL.to_vec())
    }

    /// JSON of every kind, weighted towards the shapes the parsers branch on.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            prop::sample::select(ALL_IDS.to_vec()).prop_map(Value::from),
            prop::sample::select(ALL_IDS.to_vec()).prop_map(|i| Value::from(i.to_string())),
            ".*".prop_map(Value::from),
            "[ +-]?[0-9]{0,20}[.eE]?[0-9]{0,3} ?".prop_map(Value::from),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::from),
            "(?i)(https?|ftp)://[a-z.]{0,10}(/[a-z ]{0,5})?".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(".{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_i64_round_trips_as_json_and_as_string(i in any::<i64>()) {
            prop_assert_eq!(parse(Integer, json!(i)), Ok(Some(json!(i))));
            prop_assert_eq!(parse(Integer, json!(i.to_string())), Ok(Some(json!(i))));
            prop_assert_eq!(parse(Integer, json!(format!(" {i}\t"))), Ok(Some(json!(i))));
        }

        #[test]
        fn any_finite_f64_round_trips_as_json_and_as_string(
            f in any::<f64>().prop_filter("finite", |f| f.is_finite())
        ) {
            let expected = Value::Number(Number::from_f64(f).unwrap());
            prop_assert_eq!(parse(Float, expected.clone()), Ok(Some(expected.clone())));
            prop_assert_eq!(parse(Float, json!(f.to_string())), Ok(Some(expected.clone())));
            prop_assert_eq!(parse(Float, json!(format!("{f:e}"))), Ok(Some(expected)));
        }

        #[test]
        fn any_valid_date_is_returned_unchanged(
            // 0001-01-01 ..= 9999-12-31: the years %Y writes with four digits.
            days in 1..=3_652_059_i32
        ) {
            let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            let s = date.format("%Y-%m-%d").to_string();
            prop_assert_eq!(parse(Date, json!(s)), Ok(Some(json!(s))));
        }

        #[test]
        fn single_line_strings_within_the_limit_are_kept_as_given(s in "[^\r\n]{0,255}") {
            let expected = if s.trim().is_empty() { None } else { Some(json!(s)) };
            prop_assert_eq!(parse(SingleLine, json!(s)), Ok(expected));
        }

        /// ASCII case only: proptest's `(?i)` would also fold "ſ" into "s".
        #[test]
        fn boolean_words_are_case_insensitive(
            truth in any::<bool>(),
            upper in prop::collection::vec(any::<bool>(), 5),
        ) {
            let word: String = truth
                .to_string()
                .chars()
                .zip(&upper)
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert_eq!(parse(Boolean, json!(word)), Ok(Some(json!(truth))));
        }

        #[test]
        fn multiselect_keeps_first_occurrences_in_order(
            picks in prop::collection::vec(prop::sample::select(ALL_IDS.to_vec()), 1..12),
            as_strings in prop::collection::vec(any::<bool>(), 12),
        ) {
            let raw: Vec<Value> = picks
                .iter()
                .zip(&as_strings)
                .map(|(id, s)| if *s { json!(id.to_string()) } else { json!(id) })
                .collect();
            let mut expected = Vec::new();
            for id in &picks {
                if !expected.contains(id) {
                    expected.push(*id);
                }
            }
            prop_assert_eq!(
                parse(CascadingMultiselect, Value::Array(raw.clone())),
                Ok(Some(json!(expected)))
            );
            let top_only = picks.iter().all(|id| TOP_IDS.contains(id));
            let top = parse(Multiselect, Value::Array(raw));
            if top_only {
                prop_assert_eq!(top, Ok(Some(json!(expected))));
            } else {
                prop_assert_eq!(top, Err(NOT_IN_LIST.to_owned()));
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(t in any_field_type(), s in any::<String>()) {
            let _ = parse(t, json!(s));
        }

        /// Whatever a field stores, sent back as is, is stored unchanged: a
        /// client can GET a ticket and PATCH its values back.
        #[test]
        fn stored_values_are_accepted_back_unchanged(t in any_field_type(), raw in any_json()) {
            if let Ok(Some(stored)) = parse(t, raw) {
                prop_assert_eq!(parse(t, stored.clone()), Ok(Some(stored)));
            }
        }

        /// Errors are always one of the documented Rails messages.
        #[test]
        fn errors_are_rails_messages(t in any_field_type(), raw in any_json()) {
            if let Err(message) = parse(t, raw) {
                let known = [
                    INVALID,
                    NOT_IN_LIST,
                    "is not a number",
                    "must be an integer",
                    "is too long (maximum is 255 characters)",
                    "is too long (maximum is 65535 characters)",
                ];
                prop_assert!(known.contains(&message.as_str()), "unexpected message {}", message);
            }
        }

        /// Stored values have the JSON type the field shows.
        #[test]
        fn stored_values_have_the_type_of_the_field(t in any_field_type(), raw in any_json()) {
            if let Ok(Some(stored)) = parse(t, raw) {
                let typed = match t {
                    SingleLine | MultiLine | Url | Date => stored.is_string(),
                    Integer | Dropdown | CascadingDropdown => stored.is_i64(),
                    Float => stored.is_f64(),
                    Boolean => stored.is_boolean(),
                    Multiselect | CascadingMultiselect => stored
                        .as_array()
                        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_i64)),
                };
                prop_assert!(typed, "{:?} stored {}", t, stored);
            }
        }
    }
}
