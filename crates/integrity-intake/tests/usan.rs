//! USA North 811 parsers: the published samples, their errors, Pacific
//! time, and that no input makes them panic.

use integrity_domain::time::format_millis;
use integrity_intake::usan::{parse_legacy, parse_text, parse_xml};
use integrity_intake::{IntakeError, Parsed};
use proptest::prelude::*;

const XML: &str = include_str!("fixtures/usan_ca_option3_2022041100005.xml");
const TEXT: &str = include_str!("fixtures/usan_nv_option2_2022041400001-000.txt");
const LEGACY: &str = include_str!("fixtures/usan_ca_legacy_2022041900001-000.txt");

fn utc(ms: Option<i64>) -> Option<String> {
    ms.map(format_millis)
}

fn ok(result: Result<Parsed, IntakeError>) -> Parsed {
    match result {
        Ok(parsed) => parsed,
        Err(e) => panic!("expected a ticket, got {e}"),
    }
}

fn err(result: Result<Parsed, IntakeError>) -> IntakeError {
    match result {
        Ok(parsed) => panic!("expected an error, got {:?}", parsed.content.ticket_number),
        Err(e) => e,
    }
}

/// `text` with the one occurrence of `from` replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once");
    text.replace(from, to)
}

// ---------------------------------------------------------------------------
// The samples

#[test]
fn xml_sample() {
    let p = ok(parse_xml(XML.as_bytes()));
    let c = &p.content;
    assert_eq!(c.ticket_number, "2022041100005");
    assert_eq!(p.revision, Some(0));
    assert!(!p.cancelled);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(c.reference_ticket_number, None); // xsi:nil
    assert_eq!(c.sequence_number, Some(4));
    assert_eq!(c.ticket_type.as_deref(), Some("Short Notice"));
    assert_eq!(c.ticket_action.as_deref(), Some("Original"));
    assert_eq!(c.ticket_source.as_deref(), Some("Web"));
    assert_eq!(c.service_area.as_deref(), Some("CNSA12"));
    assert!(c.additional_service_areas.is_empty());
    // Microseconds are cut to milliseconds; -07:00 is PDT.
    assert_eq!(utc(c.taken_at).as_deref(), Some("2022-04-11T18:13:39.018Z"));
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2022-04-11T18:12:00.000Z")
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2022-04-13T18:13:39.000Z")
    );
    assert_eq!(c.remarks.as_deref(), Some("test ticket"));

    // "--Not Listed--" company: the caller is the excavator.
    let x = &c.excavator;
    assert_eq!(x.name.as_deref(), Some("Jane Doe"));
    assert_eq!(x.kind.as_deref(), Some("Agriculture"));
    assert_eq!(x.address.as_deref(), Some("123, Clovis, CA 33564"));
    assert_eq!(x.phone.as_deref(), Some("555-555-0100"));
    assert_eq!(x.caller.name.as_deref(), Some("Jane Doe"));
    assert_eq!(x.caller.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(x.contact.name.as_deref(), Some("Jane"));
    assert_eq!(x.contact.phone.as_deref(), Some("5555550105"));

    let w = &c.work;
    assert_eq!(w.kind.as_deref(), Some("Environmental: Fuel Tank(s) Work"));
    assert_eq!(
        w.address.as_deref(),
        Some("1055 Fowler Ave, Clovis, Fresno, CA")
    );
    assert_eq!(w.nearby_street.as_deref(), Some("Barstow ave"));
    assert_eq!(w.subdivision, None); // xsi:nil
    assert_eq!(w.done_for.as_deref(), Some("Fresno County"));
    assert_eq!(w.duration.as_deref(), Some("2-4 Days"));
    assert_eq!(w.tunneling_or_boring, Some(true));
    assert_eq!(w.explosives, Some(false));
    assert_eq!(w.white_painted, Some(false));
    assert_eq!(c.lat, Some(36.817805));
    assert_eq!(c.lng, Some(-119.681675));

    let e = &p.extra;
    assert_eq!(e["utility_id"], "10504");
    assert_eq!(e["utility_name"], "California North State Authority");
    assert_eq!(e["job_number"], "11");
    assert_eq!(e["transmission_id"], "123456789012");
    assert_eq!(e["expires_at"], "2022-05-10T06:59:59.000Z");
    assert_eq!(e["excavation_size"], "105891 Sq Ft");
    assert_eq!(e["excavation_method"], "Boring - vertical");
    assert_eq!(e["anticipated_depth"], ">84 inches"); // &gt; resolved
    assert_eq!(e["vacuum_excavation"], true);
    assert_eq!(e["response_required"], true);
    assert_eq!(e["emergency"], false);
    assert_eq!(e["permit"], "County 12345678901234567890");
    assert_eq!(e["company"], "--Not Listed--");
    assert_eq!(e["delineated_method"], "No");
    assert!(e.get("job_name").is_none()); // xsi:nil
    assert!(e.get("mobile").is_none()); // xsi:nil
}

#[test]
fn text_sample() {
    let p = ok(parse_text(TEXT.as_bytes()));
    let c = &p.content;
    assert_eq!(c.ticket_number, "2022041400001");
    assert_eq!(p.revision, Some(0));
    assert!(!p.cancelled);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(c.reference_ticket_number, None);
    assert_eq!(c.sequence_number, Some(1));
    assert_eq!(c.ticket_type.as_deref(), Some("Normal"));
    assert_eq!(c.ticket_action.as_deref(), Some("New"));
    assert_eq!(c.ticket_source.as_deref(), Some("Web"));
    assert_eq!(c.service_area.as_deref(), Some("CNSA12"));
    assert_eq!(c.additional_service_areas, ["NVSA"]);
    assert_eq!(utc(c.taken_at).as_deref(), Some("2022-04-14T15:09:18.000Z"));
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2022-04-18T15:07:00.000Z")
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2022-04-20T15:07:00.000Z")
    );
    assert_eq!(
        c.remarks.as_deref(),
        Some("test ticket please do not process")
    );

    let x = &c.excavator;
    assert_eq!(x.name.as_deref(), Some("Jane Doe"));
    assert_eq!(x.address.as_deref(), Some("123, Las Vegas, CA 33564"));
    assert_eq!(x.phone.as_deref(), Some("555-555-0103"));
    // `<mailto:…>` that Outlook adds is dropped.
    assert_eq!(x.caller.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(x.contact.name.as_deref(), Some("test"));
    assert_eq!(x.contact.phone.as_deref(), Some("5555550104"));

    let w = &c.work;
    assert_eq!(w.kind.as_deref(), Some("Environmental: Fuel Tank(s) Work"));
    assert_eq!(
        w.address.as_deref(),
        Some("3545 S Las Vegas Blvd, Las Vegas, Clark, NV")
    );
    assert_eq!(w.nearby_street.as_deref(), Some("E Flamingo Rd"));
    assert_eq!(w.subdivision.as_deref(), Some("Lot #9"));
    assert_eq!(w.done_for.as_deref(), Some("Municipality"));
    assert_eq!(w.tunneling_or_boring, Some(true));
    assert_eq!(w.explosives, Some(false));
    assert_eq!(w.white_painted, Some(false));
    assert_eq!(c.lat, Some(36.817531));
    assert_eq!(c.lng, Some(-119.681204));

    let e = &p.extra;
    assert_eq!(e["utility_id"], "10504");
    assert_eq!(e["utility_name"], "Nevada State Authority");
    assert_eq!(e["job_number"], "17");
    assert_eq!(e["transmission_id"], "22564");
    assert_eq!(e["expires_at"], "2022-05-17T06:59:59.000Z");
    assert_eq!(e["vacuum_excavation"], true);
    assert_eq!(e["response_required"], true);
    assert_eq!(e["street_sidewalk"], false);
    assert_eq!(e["permit"], "City #AB12-6T");
    assert_eq!(e["job_name"], "1234");
    assert_eq!(e["language"], "Spanish");
    // The banner and the "DO NOT REPLY" footer are not data.
    assert!(e.get("unparsed_lines").is_none(), "{e}");
}

#[test]
fn legacy_sample() {
    let p = ok(parse_legacy(LEGACY.as_bytes()));
    let c = &p.content;
    assert_eq!(c.ticket_number, "2022041900001");
    assert_eq!(p.revision, Some(0));
    assert!(!p.cancelled);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(c.sequence_number, Some(25354));
    assert_eq!(c.ticket_type.as_deref(), Some("NORM"));
    assert_eq!(c.ticket_action.as_deref(), Some("NEW"));
    assert_eq!(c.ticket_source.as_deref(), Some("WEB"));
    assert_eq!(c.service_area.as_deref(), Some("CNSA"));
    assert!(c.additional_service_areas.is_empty());
    // Pacific local time, PDT in April.
    assert_eq!(utc(c.taken_at).as_deref(), Some("2022-04-19T14:48:00.000Z"));
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2022-04-25T15:00:00.000Z")
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2022-04-25T15:00:00.000Z")
    );
    assert_eq!(
        c.remarks.as_deref(),
        Some("This is a test ticket please do not process")
    );

    let x = &c.excavator;
    assert_eq!(x.name.as_deref(), Some("PelicanCorp"));
    assert_eq!(x.address.as_deref(), Some("123, Clovis, CA 33564"));
    assert_eq!(x.phone.as_deref(), Some("555-555-0100"));
    assert_eq!(x.caller.name.as_deref(), Some("Jane Doe"));
    assert_eq!(x.caller.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(x.contact.name.as_deref(), Some("test"));
    assert_eq!(x.contact.phone.as_deref(), Some("555-555-0101 x1234"));
    assert_eq!(x.contact.email.as_deref(), Some("jane.doe@example.com"));

    let w = &c.work;
    assert_eq!(w.kind.as_deref(), Some("Monitoring Wells Work"));
    assert_eq!(
        w.address.as_deref(),
        Some("1055 Fowler Ave, CLOVIS, FRESNO, CA 93619")
    );
    assert_eq!(w.nearby_street.as_deref(), Some("Barstow ave"));
    assert_eq!(w.done_for.as_deref(), Some("City of Albany"));
    assert_eq!(w.tunneling_or_boring, Some(false));
    assert_eq!(w.explosives, Some(false));
    assert_eq!(w.white_painted, Some(true)); // "Yes- See Remarks"
    assert_eq!(c.lat, Some(36.817019));
    assert_eq!(c.lng, Some(-119.681335));

    let e = &p.extra;
    assert_eq!(e["center"], "USAN");
    assert_eq!(
        e["header_codes"],
        serde_json::json!(["NEW", "NORM", "POLY", "LREQ"])
    );
    assert_eq!(e["transmitted_at"], "2022-04-19T14:48:00.000Z");
    assert_eq!(e["expires_at"], "2022-05-20T06:59:00.000Z");
    assert_eq!(e["response_required"], true);
    assert_eq!(e["priority"], "1");
    assert_eq!(e["one_year"], true);
    assert_eq!(e["street_sidewalk"], true);
    assert_eq!(e["vacuum_excavation"], false);
    assert_eq!(e["site_mobile"], "555-555-0102");
    assert_eq!(e["job_name"], "test");
    assert_eq!(e["delineated_method"], "Yes- See Remarks");
    assert_eq!(
        e["excavator_provided"],
        serde_json::json!([[36.817019, -119.681335]])
    );
    assert_eq!(
        e["map_link"],
        "https://onecall.usanorth811.org/map/nativemap?lon=-119.683045&lat=36.816590"
    );
    assert!(e.get("unparsed_lines").is_none(), "{e}");
}

#[test]
fn stations_other_than_the_receiving_one_are_additional_areas() {
    let xml = edit(
        XML,
        "<onecall:StationCode>CNSA12</onecall:StationCode>\n    </onecall:StationList>",
        "<onecall:StationCode>PACBEL</onecall:StationCode>\n      <onecall:StationCode>CNSA12</onecall:StationCode>\n      <onecall:StationCode>COMNCA</onecall:StationCode>\n      <onecall:StationCode>PACBEL</onecall:StationCode>\n    </onecall:StationList>",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert_eq!(p.content.service_area.as_deref(), Some("CNSA12"));
    assert_eq!(p.content.additional_service_areas, ["PACBEL", "COMNCA"]);

    let text = edit(
        TEXT,
        "STATION LIST=            NVSA",
        "STATION LIST=  \"CNSA12, CCOWTR, COMNCA, CCOWTR\"",
    );
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(p.content.additional_service_areas, ["CCOWTR", "COMNCA"]);

    let legacy = edit(
        LEGACY,
        "Members:\nCNSA\n",
        "Members:\nPACBEL CNSA   COMNCA\nATTDSOUTH\n",
    );
    let p = ok(parse_legacy(legacy.as_bytes()));
    assert_eq!(p.content.service_area.as_deref(), Some("CNSA"));
    assert_eq!(
        p.content.additional_service_areas,
        ["PACBEL", "COMNCA", "ATTDSOUTH"]
    );
}

#[test]
fn cancelled_tickets() {
    let xml = edit(
        XML,
        "<onecall:TicketStatus>Original<",
        "<onecall:TicketStatus>Cancel<",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert!(p.cancelled);
    assert_eq!(p.content.ticket_action.as_deref(), Some("Cancel"));

    let text = edit(
        TEXT,
        "TICKET STATUS=           New",
        "TICKET STATUS=           Cancelled",
    );
    assert!(ok(parse_text(text.as_bytes())).cancelled);

    let legacy = edit(LEGACY, "-000 NEW NORM", "-000 CNCL NORM");
    let p = ok(parse_legacy(legacy.as_bytes()));
    assert!(p.cancelled);
    assert_eq!(p.content.ticket_action.as_deref(), Some("CNCL"));
}

#[test]
fn a_revision_number_beyond_a_million_is_refused() {
    let xml = edit(
        XML,
        "<onecall:TicketRevisionNumber>000<",
        "<onecall:TicketRevisionNumber>9223372036854775807<",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert!(e.location.ends_with("TicketRevisionNumber"), "{e}");
    assert!(e.message.contains("at most 999999"), "{e}");
}

#[test]
fn revisions_and_previous_tickets() {
    let xml = edit(
        XML,
        "<onecall:PreviousTicketNumber xsi:nil=\"true\"/>",
        "<onecall:PreviousTicketNumber>2022041100004</onecall:PreviousTicketNumber>",
    );
    let xml = edit(
        &xml,
        "<onecall:TicketRevisionNumber>000<",
        "<onecall:TicketRevisionNumber>005<",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert_eq!(p.revision, Some(5));
    assert_eq!(
        p.content.reference_ticket_number.as_deref(),
        Some("2022041100004")
    );

    // Option 2 may carry the previous revision in the same value.
    let text = edit(
        TEXT,
        "PREVIOUS TICKET NO=\n",
        "PREVIOUS TICKET NO=      2022041800002-003\n",
    );
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(
        p.content.reference_ticket_number.as_deref(),
        Some("2022041800002")
    );
    assert_eq!(p.extra["previous_ticket_revision"], "003");
}

#[test]
fn nil_means_absent_even_with_content() {
    let xml = edit(
        XML,
        "<onecall:ExcavatorRemarks>test ticket</onecall:ExcavatorRemarks>",
        "<onecall:ExcavatorRemarks xsi:nil=\"true\">test ticket</onecall:ExcavatorRemarks>",
    );
    assert_eq!(ok(parse_xml(xml.as_bytes())).content.remarks, None);
}

#[test]
fn unknown_xml_elements_are_kept_in_extra() {
    let xml = edit(
        XML,
        "</onecall:LocationDetails>",
        "<onecall:WKT>POLYGON((-119.1 36.1,-119.2 36.1,-119.2 36.2,-119.1 36.1))</onecall:WKT>\n    <onecall:Surprise>kept</onecall:Surprise>\n  </onecall:LocationDetails>",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert_eq!(
        p.extra["polygon"],
        "POLYGON((-119.1 36.1,-119.2 36.1,-119.2 36.2,-119.1 36.1))"
    );
    assert_eq!(p.extra["unmapped"]["LocationDetails/Surprise"], "kept");
}

#[test]
fn swapped_coordinates_are_corrected_with_a_note() {
    let xml = edit(
        XML,
        "<onecall:Latitude>36.817805<",
        "<onecall:Latitude>-119.681675<",
    );
    let xml = edit(
        &xml,
        "<onecall:Longitude>-119.681675<",
        "<onecall:Longitude>36.817805<",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert_eq!(
        (p.content.lat, p.content.lng),
        (Some(36.817805), Some(-119.681675))
    );
    assert_eq!(p.notes.len(), 1);
    assert!(p.notes[0].contains("swapped"), "{:?}", p.notes);

    let legacy = edit(
        LEGACY,
        "(NAD83): 36.817019/-119.681335",
        "(NAD83): -119.681335/36.817019",
    );
    let p = ok(parse_legacy(legacy.as_bytes()));
    assert_eq!(
        (p.content.lat, p.content.lng),
        (Some(36.817019), Some(-119.681335))
    );
    assert!(p.notes[0].starts_with("line 43: "), "{:?}", p.notes);
}

// ---------------------------------------------------------------------------
// Errors say where and what was expected

#[test]
fn xml_without_ticket_number() {
    let xml = edit(
        XML,
        "    <onecall:TicketNumber>2022041100005</onecall:TicketNumber>\n",
        "",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/ReferralDetails/TicketNumber");
    assert!(e.message.contains("expected the ticket number"), "{e}");

    let xml = edit(
        XML,
        "<onecall:TicketNumber>2022041100005</onecall:TicketNumber>",
        "<onecall:TicketNumber xsi:nil=\"true\"/>",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/ReferralDetails/TicketNumber");
}

#[test]
fn malformed_xml() {
    let xml = edit(
        XML,
        "Short Notice</onecall:TicketType>",
        "Short Notice</onecall:TicketTyp>",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/ReferralDetails/TicketType");
    assert!(e.message.starts_with("malformed XML at line 25: "), "{e}");

    let cut = &XML[..XML.find("<onecall:County>").unwrap()];
    let e = err(parse_xml(cut.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/LocationDetails");
    assert!(e.message.contains("ends inside"), "{e}");

    let e = err(parse_xml(
        b"<Ticket><TicketNumber>1</TicketNumber></Ticket>",
    ));
    assert_eq!(e.location, "/Ticket");
    assert!(
        e.message.contains("expected <onecall:OneCallReferral>"),
        "{e}"
    );

    let xml = edit(XML, "&gt;84 inches", "&deep;84 inches");
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(
        e.location,
        "/OneCallReferral/ReferralDetails/AnticipatedDepth"
    );

    let e = err(parse_xml(b"  \n"));
    assert_eq!(e.location, "/");
    assert!(e.message.starts_with("empty document"), "{e}");
}

#[test]
fn xml_values_are_checked_where_they_are() {
    let xml = edit(
        XML,
        "<onecall:SubmittedDate>2022-04-11T11:13:39.018116-07:00<",
        "<onecall:SubmittedDate>11/04/2022<",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/ReferralDetails/SubmittedDate");
    assert!(e.message.contains("expected an ISO 8601 date-time"), "{e}");

    let xml = edit(
        XML,
        "<onecall:SequenceNumber>4<",
        "<onecall:SequenceNumber>four<",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(
        e.location,
        "/OneCallReferral/ReferralDetails/SequenceNumber"
    );

    let xml = edit(
        XML,
        "<onecall:Latitude>36.817805<",
        "<onecall:Latitude>136.817805<",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/LocationDetails/Latitude");
    assert!(e.message.contains("out of range"), "{e}");

    let xml = edit(
        XML,
        "<onecall:Longitude>-119.681675<",
        "<onecall:Longitude>-219.681675<",
    );
    let e = err(parse_xml(xml.as_bytes()));
    assert_eq!(e.location, "/OneCallReferral/LocationDetails/Longitude");
}

#[test]
fn text_with_a_malformed_date() {
    let text = edit(
        TEXT,
        "2022-04-14T08:09:18-07:00",
        "2022-04-31T08:09:18-07:00",
    );
    let e = err(parse_text(text.as_bytes()));
    assert_eq!(e.location, "line 22");
    assert!(e.message.contains("expected an ISO 8601 date-time"), "{e}");
    assert!(e.message.contains("2022-04-31T08:09:18-07:00"), "{e}");
}

#[test]
fn text_errors() {
    let e = err(parse_text(b""));
    assert_eq!(e.location, "line 1");
    assert!(e.message.starts_with("empty document"), "{e}");

    let text = edit(TEXT, "TICKET NO=               2022041400001\n", "");
    let e = err(parse_text(text.as_bytes()));
    assert_eq!(e.location, "line 7");
    assert!(e.message.contains("no TICKET NO= line"), "{e}");

    let text = edit(TEXT, "TICKET NO=               2022041400001", "TICKET NO=");
    assert_eq!(err(parse_text(text.as_bytes())).location, "line 16");

    let text = edit(
        TEXT,
        "SEQUENCE NO=             1",
        "SEQUENCE NO=             #1",
    );
    assert_eq!(err(parse_text(text.as_bytes())).location, "line 20");

    let e = err(parse_text(LEGACY.as_bytes()));
    assert_eq!(e.location, "line 1");
    assert!(e.message.contains("[REFERRAL DETAILS]"), "{e}");

    let mut bytes = TEXT.as_bytes().to_vec();
    let at = TEXT.find("Jane Doe").unwrap();
    bytes[at] = 0xC3;
    bytes[at + 1] = 0x28;
    let e = err(parse_text(&bytes));
    assert_eq!(e.location, "line 45");
    assert!(e.message.contains("UTF-8"), "{e}");
}

#[test]
fn legacy_errors() {
    let e = err(parse_legacy(b"\n\n"));
    assert_eq!(e.location, "line 1");

    let legacy = edit(
        LEGACY,
        "Ticket: 2022041900001 Rev: 000 Created: 04/19/22 07:48 User: jane.doe@example.com Chan: WEB\n",
        "",
    );
    let e = err(parse_legacy(legacy.as_bytes()));
    assert_eq!(e.location, "line 4");
    assert!(e.message.contains("no `Ticket:` line"), "{e}");

    let legacy = edit(LEGACY, "Created: 04/19/22 07:48", "Created: 19/04/22 07:48");
    let e = err(parse_legacy(legacy.as_bytes()));
    assert_eq!(e.location, "line 3");
    assert!(e.message.contains("MM/DD/YY HH:MM"), "{e}");

    let legacy = edit(LEGACY, "CNSA 25354 USAN", "CNSA 25x54 USAN");
    assert_eq!(err(parse_legacy(legacy.as_bytes())).location, "line 1");

    let legacy = edit(
        LEGACY,
        "Excavator Provided: 36.817019/-119.681335",
        "Excavator Provided: 36.817019,-119.681335",
    );
    let e = err(parse_legacy(legacy.as_bytes()));
    assert_eq!(e.location, "line 45");

    let legacy = edit(
        LEGACY,
        "(NAD83): 36.817019/-119.681335",
        "(NAD83): 96.817019/-119.681335",
    );
    let e = err(parse_legacy(legacy.as_bytes()));
    assert_eq!(e.location, "line 43");
    assert!(
        e.message.contains("latitude 96.817019 is out of range"),
        "{e}"
    );

    let e = err(parse_legacy(TEXT.as_bytes()));
    assert_eq!(e.location, "line 1");
}

// ---------------------------------------------------------------------------
// Pacific time on both sides of the daylight-saving changes

fn legacy_created(local: &str) -> Parsed {
    let legacy = edit(
        LEGACY,
        "Created: 04/19/22 07:48",
        &format!("Created: {local}"),
    );
    ok(parse_legacy(legacy.as_bytes()))
}

#[test]
fn legacy_times_are_pacific_across_daylight_saving_changes() {
    // 2022: PDT from Sunday 13 March 02:00 to Sunday 6 November 02:00.
    let cases = [
        ("03/12/22 12:00", "2022-03-12T20:00:00.000Z"), // PST, −8
        ("03/13/22 01:59", "2022-03-13T09:59:00.000Z"), // last minute of PST
        ("03/13/22 03:00", "2022-03-13T10:00:00.000Z"), // first minute of PDT, −7
        ("07/01/22 12:00", "2022-07-01T19:00:00.000Z"),
        ("11/06/22 00:59", "2022-11-06T07:59:00.000Z"), // PDT
        ("11/06/22 01:30", "2022-11-06T08:30:00.000Z"), // repeated hour: the first (PDT)
        ("11/06/22 02:00", "2022-11-06T10:00:00.000Z"), // PST again
        ("12/31/22 23:59", "2023-01-01T07:59:00.000Z"),
        ("03/10/24 01:59", "2024-03-10T09:59:00.000Z"), // 2024: 10 March
        ("03/10/24 03:00", "2024-03-10T10:00:00.000Z"),
        ("11/03/24 02:00", "2024-11-03T10:00:00.000Z"), // 2024: 3 November
        ("04/19/22 07:48:30", "2022-04-19T14:48:30.000Z"), // with seconds
    ];
    for (local, expected) in cases {
        let p = legacy_created(local);
        assert_eq!(
            utc(p.content.taken_at).as_deref(),
            Some(expected),
            "{local}"
        );
        assert!(p.notes.is_empty(), "{local}: {:?}", p.notes);
    }
}

#[test]
fn a_time_in_the_skipped_spring_hour_is_read_as_standard_time_with_a_note() {
    let p = legacy_created("03/13/22 02:30");
    assert_eq!(
        utc(p.content.taken_at).as_deref(),
        Some("2022-03-13T10:30:00.000Z")
    );
    assert_eq!(p.notes.len(), 1);
    assert!(p.notes[0].starts_with("line 3: "), "{:?}", p.notes);
}

#[test]
fn text_dates_keep_their_own_offsets_across_the_change() {
    let text = edit(
        TEXT,
        "2022-04-14T08:09:18-07:00",
        "2022-11-06T01:30:00-08:00",
    );
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(
        utc(p.content.taken_at).as_deref(),
        Some("2022-11-06T09:30:00.000Z")
    );
    // Without an offset: Pacific local time.
    let text = edit(TEXT, "2022-04-14T08:09:18-07:00", "2022-01-14T08:09:18");
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(
        utc(p.content.taken_at).as_deref(),
        Some("2022-01-14T16:09:18.000Z")
    );
}

// ---------------------------------------------------------------------------
// No input makes a parser panic

fn all_parsers(bytes: &[u8]) {
    let _ = parse_xml(bytes);
    let _ = parse_text(bytes);
    let _ = parse_legacy(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,512}") {
        all_parsers(text.as_bytes());
    }

    #[test]
    fn format_like_strings_never_panic(
        text in "([\\[\\]<>/=:A-Za-z0-9 .\\-]{0,12}(\n| : |=|</?onecall:[A-Za-z]{1,14}>|Ticket: |Rev: |Created: |Members:\n|[0-9]{1,3}\\.[0-9]{1,6}/-?[0-9]{1,3}\\.[0-9]{1,6})){0,40}"
    ) {
        all_parsers(text.as_bytes());
    }

    #[test]
    fn damaged_samples_never_panic(
        which in 0usize..3,
        cut in any::<proptest::sample::Index>(),
        at in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let sample = [XML, TEXT, LEGACY][which].as_bytes();
        let mut bytes = sample[..cut.index(sample.len() + 1)].to_vec();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        all_parsers(&bytes);
    }
}

// ---------------------------------------------------------------------------
// The legacy layout as its specification draws it (Legacy Ticket Format
// Specs 20220520): more labels per line, continuation lines, comments.

const LEGACY_SPEC: &str = "\
CNSA 00017 USAN 04/19/22 07:48:12 A221090123-001 REMK NORM POLY LREQ

Ticket: A221090123 Rev: 001 Created: 04/19/22 07:48 User: JDOE Chan: PHN

Work Start: 04/25/22 08:00 Legal Start: 04/27/22 08:00 Expires: 05/19/22 23:59 Response Required: N Priority: 2 Re-marks Required: PLEASE REMARK THE EAST SIDE
\t\t : OF THE LOT BEFORE FRIDAY

Excavator Information
Company: ACME DIGGING Type: CONT
Co Addr: 1 MAIN ST
City   : FRESNO State: CA Zip: 93701-1234
Created By: JOHN ROE Language: ENGLISH
Office Phone: 559-555-0100 x12 SMS/Cell: 559-555-0199
Office Email: office@example.com

Site Contact: BOB
Site Phone: 559-555-0111   Site SMS/Cell: 559-555-0112
Site Email: bob@example.com

Excavation Area
State: CA County: FRESNO Place: FRESNO
Zip: 93702
Address: 100 Street: E OLIVE AVE
Cross 1: N FIRST ST
Cross 2: N BLACKSTONE AVE
Location: WORK AREA IS THE NORTH CURB
        : FROM CURB TO CURB

Delineated Method: No
Work Type: WATER SERVICE REPAIR
Work For: CITY OF FRESNO
Permit: P-1 Job/Work Order: WO-77
1 Year: N Boring: Y Street/Sidewalk: N Vacuum: Y  Explosives: N

Lat/Long
Center Generated (NAD83): 36.750000/-119.780000 36.751000/-119.781000
           \t\t: 36.752000/-119.782000
Excavator Provided: 36.750100/-119.780100

Map Link:
http://example.org/map?x=1

Comments:
FIRST COMMENT LINE
SECOND COMMENT LINE

Members: 
CNSA PACBEL LONGMBR058    COMNCA
ATTCA

     (C) Copyright 2022 Underground Service Alert of Northern California and Nevada
                          All rights reserved
";

#[test]
fn legacy_spec_layout() {
    let p = ok(parse_legacy(LEGACY_SPEC.as_bytes()));
    let c = &p.content;
    assert_eq!(c.ticket_number, "A221090123");
    assert_eq!(p.revision, Some(1));
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(c.sequence_number, Some(17));
    assert_eq!(c.ticket_action.as_deref(), Some("REMK"));
    assert_eq!(c.ticket_source.as_deref(), Some("PHN"));
    assert_eq!(c.service_area.as_deref(), Some("CNSA"));
    assert_eq!(
        c.additional_service_areas,
        ["PACBEL", "LONGMBR058", "COMNCA", "ATTCA"]
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2022-04-27T15:00:00.000Z")
    );
    assert_eq!(
        c.remarks.as_deref(),
        Some("WORK AREA IS THE NORTH CURB\nFROM CURB TO CURB\nFIRST COMMENT LINE\nSECOND COMMENT LINE")
    );
    let x = &c.excavator;
    assert_eq!(x.name.as_deref(), Some("ACME DIGGING"));
    assert_eq!(x.kind.as_deref(), Some("CONT"));
    assert_eq!(
        x.address.as_deref(),
        Some("1 MAIN ST, FRESNO, CA 93701-1234")
    );
    assert_eq!(x.phone.as_deref(), Some("559-555-0100 x12"));
    assert_eq!(x.caller.name.as_deref(), Some("JOHN ROE"));
    assert_eq!(x.caller.email.as_deref(), Some("office@example.com"));
    assert_eq!(x.contact.name.as_deref(), Some("BOB"));
    assert_eq!(x.contact.phone.as_deref(), Some("559-555-0111"));
    let w = &c.work;
    assert_eq!(
        w.address.as_deref(),
        Some("100 E OLIVE AVE, FRESNO, FRESNO, CA 93702")
    );
    assert_eq!(w.nearby_street.as_deref(), Some("N FIRST ST"));
    assert_eq!(w.kind.as_deref(), Some("WATER SERVICE REPAIR"));
    assert_eq!(w.done_for.as_deref(), Some("CITY OF FRESNO"));
    assert_eq!(w.white_painted, Some(false));
    assert_eq!(w.tunneling_or_boring, Some(true));
    assert_eq!(w.explosives, Some(false));
    assert_eq!((c.lat, c.lng), (Some(36.75), Some(-119.78)));
    let e = &p.extra;
    assert_eq!(e["transmitted_at"], "2022-04-19T14:48:12.000Z");
    assert_eq!(e["response_required"], false);
    assert_eq!(e["priority"], "2");
    assert_eq!(
        e["remarks_required"],
        "PLEASE REMARK THE EAST SIDE\nOF THE LOT BEFORE FRIDAY"
    );
    assert_eq!(e["mobile"], "559-555-0199");
    assert_eq!(e["site_mobile"], "559-555-0112");
    assert_eq!(e["cross_street_2"], "N BLACKSTONE AVE");
    assert_eq!(e["permit"], "P-1");
    assert_eq!(e["job_name"], "WO-77");
    assert_eq!(e["one_year"], false);
    assert_eq!(e["vacuum_excavation"], true);
    assert_eq!(e["street_sidewalk"], false);
    assert_eq!(
        e["center_generated"],
        serde_json::json!([[36.75, -119.78], [36.751, -119.781], [36.752, -119.782]])
    );
    assert_eq!(
        e["excavator_provided"],
        serde_json::json!([[36.7501, -119.7801]])
    );
    assert_eq!(e["map_link"], "http://example.org/map?x=1");
    assert!(e.get("unparsed_lines").is_none(), "{e}");
}

#[test]
fn odd_values_are_kept_with_a_note_rather_than_refused() {
    // A Yes/No field with something else in it.
    let text = edit(
        TEXT,
        "BORING REQUIRED=        YES",
        "BORING REQUIRED=        UNKNOWN",
    );
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(p.content.work.tunneling_or_boring, None);
    assert_eq!(p.extra["boring"], "UNKNOWN");
    assert!(p.notes[0].starts_with("line 36: "), "{:?}", p.notes);

    // U+0000 cannot be stored.
    let text = edit(TEXT, "COUNTY=         Clark", "COUNTY=         Cl\0ark");
    let p = ok(parse_text(text.as_bytes()));
    assert_eq!(
        p.content.work.address.as_deref(),
        Some("3545 S Las Vegas Blvd, Las Vegas, Clark, NV")
    );
    assert!(
        p.notes[0].starts_with("line 61: removed 1 U+0000"),
        "{:?}",
        p.notes
    );

    // 0, 0 is no position.
    let legacy = edit(
        LEGACY,
        "(NAD83): 36.817019/-119.681335",
        "(NAD83): 0.000000/0.000000",
    );
    let p = ok(parse_legacy(legacy.as_bytes()));
    assert_eq!((p.content.lat, p.content.lng), (None, None));
    assert_eq!(p.notes.len(), 1);

    // A latitude without its longitude.
    let xml = edit(
        XML,
        "<onecall:Longitude>-119.681675</onecall:Longitude>",
        "<onecall:Longitude xsi:nil=\"true\"/>",
    );
    let p = ok(parse_xml(xml.as_bytes()));
    assert_eq!((p.content.lat, p.content.lng), (None, None));
    assert_eq!(p.extra["unpaired_coordinate"], 36.817805);
    assert!(
        p.notes[0].starts_with("/OneCallReferral/LocationDetails/Latitude: "),
        "{:?}",
        p.notes
    );
}

#[test]
fn a_wkt_polygon_becomes_the_work_area_and_a_broken_one_a_note() {
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/usan_nv_option2_2022041400001-000.txt"
    ))
    .unwrap();
    let with = |wkt: &str| {
        sample.replacen(
            "LONGITUDE=",
            &format!("WKT=                     {wkt}\nLONGITUDE="),
            1,
        )
    };

    let square = "POLYGON((-119.682 36.817, -119.680 36.817, -119.680 36.819, -119.682 36.819, -119.682 36.817))";
    let parsed = integrity_intake::usan::parse_text(with(square).as_bytes()).unwrap();
    let area = parsed.content.work.area.expect("an area");
    assert_eq!(area["type"], "Polygon");
    assert_eq!(
        area["coordinates"][0][0],
        serde_json::json!([-119.682, 36.817])
    );

    let parsed = integrity_intake::usan::parse_text(with("POLYGON((1 2, 3").as_bytes()).unwrap();
    assert!(parsed.content.work.area.is_none());
    assert!(
        parsed
            .notes
            .iter()
            .any(|n| n.starts_with("polygon ") && n.ends_with("kept as text only")),
        "{:?}",
        parsed.notes
    );
}
