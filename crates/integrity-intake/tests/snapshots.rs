//! Every real sample, read by its format's parser, against a reviewed
//! snapshot of everything the parser produced. A change in what any parser
//! reads shows up here as a diff to review.

use integrity_intake::{detect, parse, Format};
use serde_json::json;

fn snapshot(file: &str, format: Format) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        detect(&bytes, None),
        Some(format),
        "{file} is detected as {}",
        format.name()
    );
    let parsed = parse(format, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    json!({
        "content": parsed.content,
        "revision": parsed.revision,
        "cancelled": parsed.cancelled,
        "notes": parsed.notes,
        "extra": parsed.extra,
        "attachments": parsed.attachments.iter()
            .map(|a| json!({"name": a.name, "content_type": a.content_type, "bytes": a.bytes.len()}))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn georgia_811_open_ticket() {
    insta::assert_json_snapshot!(snapshot(
        "ga811_open_ticket_normal_240222-001001.json",
        Format::OpenTicket
    ));
}

#[test]
fn pa811_open_ticket_with_swapped_coordinates() {
    insta::assert_json_snapshot!(snapshot(
        "pa811_open_ticket_emergency_20241231234.json",
        Format::OpenTicket
    ));
}

#[test]
fn usa_north_xml() {
    insta::assert_json_snapshot!(snapshot(
        "usan_ca_option3_2022041100005.xml",
        Format::UsanXml
    ));
}

#[test]
fn usa_north_option_2_text() {
    insta::assert_json_snapshot!(snapshot(
        "usan_nv_option2_2022041400001-000.txt",
        Format::UsanText
    ));
}

#[test]
fn usa_north_legacy_text() {
    insta::assert_json_snapshot!(snapshot(
        "usan_ca_legacy_2022041900001-000.txt",
        Format::UsanLegacy
    ));
}

#[test]
fn an_email_with_the_ticket_as_body_and_two_attachments() {
    insta::assert_json_snapshot!(snapshot("eml/usan_option2_body_gif_gml.eml", Format::Eml));
}

#[test]
fn an_email_with_the_ticket_as_an_xml_attachment() {
    insta::assert_json_snapshot!(snapshot("eml/usan_xml_attachment.eml", Format::Eml));
}
