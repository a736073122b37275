//! FNCA Open Ticket JSON: the GA811 and PA811 samples, variations on them,
//! and documents that must be refused with a precise location.

use integrity_domain::ticket::validate_area;
use integrity_domain::time::{format_millis, Millis};
use integrity_intake::open_ticket::parse_open_ticket;
use integrity_intake::{IntakeError, Parsed};
use proptest::prelude::*;
use serde_json::{json, Value};

const GA: &str = "ga811_open_ticket_normal_240222-001001.json";
const PA: &str = "pa811_open_ticket_emergency_20241231234.json";

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
}

fn parse(doc: &Value) -> Result<Parsed, IntakeError> {
    parse_open_ticket(doc.to_string().as_bytes())
}

fn ok(doc: &Value) -> Parsed {
    parse(doc).unwrap_or_else(|e| panic!("{e}"))
}

fn err(doc: &Value) -> (String, String) {
    let e = parse(doc).expect_err("should be refused");
    (e.location, e.message)
}

fn utc(ms: Option<Millis>) -> Option<String> {
    ms.map(format_millis)
}

/// A small square work site near Duluth, GA, in WKT.
fn square_wkt(x: f64, y: f64) -> String {
    let (x1, y1) = (x + 0.001, y + 0.001);
    format!("POLYGON(({x} {y},{x1} {y},{x1} {y1},{x} {y1},{x} {y}))")
}

#[test]
fn reads_the_ga811_sample() {
    let p = parse_open_ticket(&fixture_bytes(GA)).unwrap();
    let c = &p.content;
    assert_eq!(c.ticket_number, "240222-001001");
    assert_eq!(c.sequence_number, Some(7));
    assert_eq!(c.ticket_type.as_deref(), Some("Normal"));
    assert_eq!(c.ticket_action, None, "status is blank");
    assert_eq!(c.ticket_source.as_deref(), Some("Voice"));
    assert_eq!(c.service_area.as_deref(), Some("GAUPC"));
    assert!(c.additional_service_areas.is_empty());
    assert_eq!(c.reference_ticket_number, None, "original = own number");
    assert_eq!(utc(c.taken_at).as_deref(), Some("2024-02-22T21:35:37.193Z"));
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2024-02-27T12:00:00.000Z")
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2024-02-27T04:59:00.000Z")
    );
    assert_eq!(c.remarks, None);

    let ex = &c.excavator;
    assert_eq!(ex.name.as_deref(), Some("Example Septic Co (fake)"));
    assert_eq!(ex.kind.as_deref(), Some("Contractor"));
    assert_eq!(
        ex.address.as_deref(),
        Some("3400 Summit Ridge Pkwy, Duluth, GA 30096")
    );
    assert_eq!(ex.phone, None);
    assert_eq!(ex.contact.name.as_deref(), Some("Example Septic Co (fake)"));
    assert_eq!(ex.contact.phone.as_deref(), Some("5555550110"));
    assert_eq!(ex.contact.email, None);
    assert_eq!(ex.caller.phone.as_deref(), Some("5555550110"));
    assert_eq!(ex.caller.email.as_deref(), Some("caller@example.com"));
    assert_eq!(ex.alt_contact, Default::default());

    let w = &c.work;
    assert_eq!(w.kind.as_deref(), Some("replacing septic field lines"));
    assert_eq!(
        w.address.as_deref(),
        Some("3900 Tree Summit Pkwy, DULUTH, GWINNETT, GA")
    );
    assert_eq!(w.nearby_street.as_deref(), Some("Summit Ridge Pkwy"));
    assert_eq!(w.done_for.as_deref(), Some("Jane Doe (fake)"));
    assert_eq!(w.duration.as_deref(), Some("2 weeks"));
    assert_eq!(w.tunneling_or_boring, Some(false));
    assert_eq!(w.explosives, Some(false));
    assert_eq!(w.white_painted, Some(false));
    assert_eq!(
        w.locate_instructions.as_deref(),
        Some("LOCATE THE FRONT AND BACK RIGHT OF HOUSE INCLUDING R/O/W")
    );
    assert_eq!(w.driving_directions, None);
    assert_eq!(w.subdivision, None);
    assert_eq!(w.deeper_than_16_inches, None);

    let area = w.area.as_ref().unwrap();
    assert_eq!(validate_area(area), Ok(()));
    assert_eq!(area["type"], "Polygon");
    assert_eq!(
        area["coordinates"][0][0],
        json!([-84.16723467960819, 33.988656390955285])
    );
    assert_eq!(area["coordinates"][0].as_array().unwrap().len(), 12);
    // Area-weighted centroid of the work site, to 6 decimals.
    assert_eq!(c.lat, Some(33.98856));
    assert_eq!(c.lng, Some(-84.166664));

    assert_eq!(p.revision, None);
    assert!(!p.cancelled);
    assert_eq!(p.notes, Vec::<String>::new());
    assert!(p.attachments.is_empty());

    let x = &p.extra;
    assert_eq!(x["formatVersion"], "0.3");
    assert_eq!(x["centerName"], "GA811");
    assert_eq!(x["standardType"], "Normal");
    assert_eq!(x["priority"], "Normal");
    assert_eq!(x["isTest"], false);
    assert_eq!(
        x["timeLine"],
        json!({
            "updateBy": "2024-03-22T16:30:00.000-04:00",
            "expiresOn": "2024-03-28T23:59:59.000-04:00",
        })
    );
    assert_eq!(
        x["workSite"],
        json!({
            "countryCode": "US", "addressNumber": "3900",
            "addressStreetName": "Tree Summit", "addressStreetType": "Pkwy",
        })
    );
    assert_eq!(x["geography"]["srid"], 4326);
    assert_eq!(x["geography"]["longitude"], -84.167288);
    assert_eq!(x["geography"]["secondaryLatitude"], 33.988817);
    assert_eq!(x["geography"]["areaSource"], "workSiteWkt");
    assert!(x["geography"]["bufferedWkt"][0]
        .as_str()
        .unwrap()
        .starts_with("POLYGON((-84.16725409764798 "));
    assert_eq!(x["members"].as_array().unwrap().len(), 8);
    assert_eq!(
        x["members"][0],
        json!({
            "id": "BXXX", "name": "XXXXXXXXXXXXXXXXXXXXXXXX", "facilityTypes": ["Telecommunication"],
        })
    );
    assert_eq!(x["responseHistory"].as_array().unwrap().len(), 8);
    assert_eq!(
        x["responseHistory"][5]["responseEntries"][0]["responseCode"],
        "1A"
    );
    assert_eq!(x["customFieldGroups"].as_array().unwrap().len(), 4);
    let keys: Vec<&str> = x.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "formatVersion",
            "standardType",
            "priority",
            "isTest",
            "centerName",
            "timeLine",
            "workSite",
            "geography",
            "members",
            "responseHistory",
            "customFieldGroups",
        ]
    );
}

#[test]
fn reads_the_pa811_sample_and_corrects_its_swapped_point() {
    let p = parse_open_ticket(&fixture_bytes(PA)).unwrap();
    let c = &p.content;
    assert_eq!(c.ticket_number, "20241231234");
    assert_eq!(c.sequence_number, Some(5));
    assert_eq!(c.ticket_type.as_deref(), Some("EXCAVATION/EMERGENCY"));
    assert_eq!(c.ticket_action.as_deref(), Some("New"));
    assert_eq!(c.ticket_source.as_deref(), Some("WEB"));
    assert_eq!(c.service_area.as_deref(), Some("QQQ"));
    assert_eq!(c.additional_service_areas, ["YYY"]);
    assert_eq!(c.reference_ticket_number, None);
    assert_eq!(utc(c.taken_at).as_deref(), Some("2024-03-04T17:10:42.003Z"));
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2024-03-07T17:10:42.003Z")
    );
    assert_eq!(c.response_due_at, None);
    assert_eq!(
        c.remarks.as_deref(),
        Some("PAY SPECIAL ATTENTION TO FLUFFY THE THREE HEADED DOG. DO NOT GET TOO CLOSE.")
    );
    assert_eq!(c.excavator.kind, None, "blank excavatorType");
    assert_eq!(
        c.excavator.address.as_deref(),
        Some("4 EXAMPLE DRIVE, EXAMPLETOWN, PA 15122")
    );
    assert_eq!(c.excavator.contact.name.as_deref(), Some("JANE DOE"));
    assert_eq!(
        c.excavator.contact.phone.as_deref(),
        Some("5555550121 ext 42")
    );
    assert_eq!(c.excavator.caller.name.as_deref(), Some("JOHN DOE"));
    assert_eq!(
        c.excavator.caller.phone.as_deref(),
        Some("5555550120 ext 934")
    );
    assert_eq!(
        c.work.address.as_deref(),
        Some("925 IRWIN RUN RD, WEST MIFFLIN BORO, ALLEGHENY, PA")
    );
    assert_eq!(c.work.nearby_street.as_deref(), Some("NOBLE DR"));
    assert_eq!(c.work.subdivision.as_deref(), Some("EXAMPLE ACRES"));
    assert_eq!(c.work.white_painted, Some(true));
    assert_eq!(c.work.kind.as_deref(), Some("EXCAVATING FOR A NEW POOL"));

    // The polygon was in longitude/latitude order: kept as sent.
    let area = c.work.area.as_ref().unwrap();
    assert_eq!(validate_area(area), Ok(()));
    assert_eq!(area["type"], "Polygon");
    assert_eq!(area["coordinates"][0][0], json!([-79.928984, 40.364854]));
    assert_eq!(c.lat, Some(40.362413));
    assert_eq!(c.lng, Some(-79.928246));

    // The points were not: corrected, with a note each.
    assert_eq!(p.notes, [
        "geography: longitude and latitude were swapped in longitude/latitude; corrected",
        "geography: longitude and latitude were swapped in secondaryLongitude/secondaryLatitude; corrected",
    ]);
    let geo = &p.extra["geography"];
    assert_eq!(geo["srid"], 4269);
    assert_eq!(geo["longitude"], -79.928986);
    assert_eq!(geo["latitude"], 40.364853);
    assert_eq!(geo["secondaryLongitude"], -79.93005);
    assert_eq!(geo["secondaryLatitude"], 40.359524);

    assert_eq!(p.revision, Some(0), "pa811Header.version");
    assert!(!p.cancelled);
    assert_eq!(p.extra["formatVersion"], ".3");
    assert_eq!(p.extra["centerName"], "PA811");
    assert_eq!(p.extra["priority"], "Emergency");
    assert_eq!(p.extra["standardType"], "Emergency");
    assert_eq!(
        p.extra["timeLine"]["workOn"],
        "2024-03-07T12:10:42.003-05:00"
    );
    assert_eq!(
        p.extra["members"][1],
        json!({"id": "YYY", "name": "Member Name", "facilityTypes": []})
    );
    assert_eq!(p.extra["customFieldGroups"][0]["groupName"], "pa811Header");
    assert_eq!(
        p.extra["responseHistory"][1]["responseEntries"][0]["responseCode"],
        "005"
    );
}

#[test]
fn status_cancel_in_any_case_cancels() {
    for status in ["Cancel", "CANCELLED", "cancelled", "Canceled"] {
        let mut doc = fixture(PA);
        doc["header"]["status"] = json!(status);
        let p = ok(&doc);
        assert!(p.cancelled, "{status}");
        assert_eq!(p.content.ticket_action.as_deref(), Some(status));
    }
    let mut doc = fixture(PA);
    doc["header"]["status"] = json!("Update");
    assert!(!ok(&doc).cancelled);
}

#[test]
fn reference_is_the_previous_ticket_or_a_different_original() {
    let mut doc = fixture(GA);
    doc["customFieldGroups"][1]["fields"][1]["value"] = json!("240201-000123");
    assert_eq!(
        ok(&doc).content.reference_ticket_number.as_deref(),
        Some("240201-000123")
    );
    doc["customFieldGroups"][1]["fields"][0]["value"] = json!("240220-000777");
    assert_eq!(
        ok(&doc).content.reference_ticket_number.as_deref(),
        Some("240220-000777")
    );
}

#[test]
fn service_areas_come_from_members_when_member_ids_are_missing() {
    let mut doc = fixture(GA);
    doc["header"].as_object_mut().unwrap().remove("memberIds");
    let p = ok(&doc);
    assert_eq!(p.content.service_area.as_deref(), Some("BXXX"));
    // GWXXX is listed twice (sewer and water): once here.
    assert_eq!(
        p.content.additional_service_areas,
        ["LXXX", "CMXXXX", "GPXXXX", "GWXXX", "JCXXX", "ZXXX"]
    );
}

#[test]
fn several_polygons_make_a_multipolygon() {
    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] =
        json!([square_wkt(-84.168, 33.988), square_wkt(-84.166, 33.988)]);
    let p = ok(&doc);
    let area = p.content.work.area.unwrap();
    assert_eq!(area["type"], "MultiPolygon");
    assert_eq!(area["coordinates"].as_array().unwrap().len(), 2);
    assert_eq!(area["coordinates"][1][0][0], json!([-84.166, 33.988]));
    assert_eq!(validate_area(&area), Ok(()));
    // Two equal squares: the centroid is halfway.
    assert_eq!(p.content.lng, Some(-84.1665));
    assert_eq!(p.content.lat, Some(33.9885));

    doc["geography"]["workSiteWkt"] = json!([
        "MULTIPOLYGON(((-84.168 33.988,-84.167 33.988,-84.167 33.989,-84.168 33.988)),((-84.166 33.988,-84.165 33.988,-84.165 33.989,-84.166 33.988)))"
    ]);
    let area = ok(&doc).content.work.area.unwrap();
    assert_eq!(area["type"], "MultiPolygon");
    assert_eq!(validate_area(&area), Ok(()));
}

#[test]
fn falls_back_to_the_buffered_area_then_the_point() {
    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] = json!(["LINESTRING(-84.167 33.988,-84.166 33.988)"]);
    let p = ok(&doc);
    let area = p.content.work.area.unwrap();
    assert_eq!(
        area["coordinates"][0][0],
        json!([-84.16725409764798, 33.98920512087057])
    );
    assert_eq!(p.notes, [
        "geography: workSiteWkt[0] is a LINESTRING, not an area; the work area was taken from bufferedWkt",
    ]);
    assert_eq!(p.extra["geography"]["areaSource"], "bufferedWkt");
    assert_eq!(
        p.extra["geography"]["workSiteWkt"],
        json!(["LINESTRING(-84.167 33.988,-84.166 33.988)"])
    );

    doc["geography"]["workSiteWkt"] = json!([]);
    doc["geography"]["bufferedWkt"] = json!([""]);
    let p = ok(&doc);
    assert_eq!(p.content.work.area, None);
    assert_eq!(
        (p.content.lat, p.content.lng),
        (Some(33.988367), Some(-84.167288))
    );
    assert_eq!(p.notes, Vec::<String>::new());
}

#[test]
fn swapped_points_without_an_area_are_corrected_by_range_or_country() {
    let mut doc = fixture(PA);
    doc["geography"]["workSiteWkt"] = json!([]);
    // 40.36/-79.93 is a valid longitude/latitude (off Antarctica), but not
    // in the US, where -79.93/40.36 is.
    let p = ok(&doc);
    assert_eq!(p.content.work.area, None);
    assert_eq!(
        (p.content.lat, p.content.lng),
        (Some(40.364853), Some(-79.928986))
    );
    assert_eq!(
        p.notes[0],
        "geography: longitude and latitude were swapped in longitude/latitude; corrected"
    );

    // Without a country, only ranges tell: latitude -120 is out of range.
    doc["workSite"]["countryCode"] = json!("");
    doc["geography"]["longitude"] = json!(35.1);
    doc["geography"]["latitude"] = json!(-120.2);
    let p = ok(&doc);
    assert_eq!((p.content.lat, p.content.lng), (Some(35.1), Some(-120.2)));
    assert_eq!(
        p.notes[0],
        "geography: longitude and latitude were swapped in longitude/latitude; corrected"
    );
}

#[test]
fn a_swapped_polygon_is_corrected() {
    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] =
        json!(["POLYGON((33.988 -84.168,33.988 -84.167,33.989 -84.167,33.988 -84.168))"]);
    doc["geography"]["bufferedWkt"] = json!([]);
    let p = ok(&doc);
    let area = p.content.work.area.unwrap();
    assert_eq!(area["coordinates"][0][0], json!([-84.168, 33.988]));
    assert_eq!(
        p.notes,
        ["geography: longitude and latitude were swapped in workSiteWkt[0]; corrected"]
    );
}

#[test]
fn reads_the_0_5_layout() {
    let doc = json!({
        "header": {
            "formatVersion": "0.5", "ticketNumber": "230815-001003", "ticketVersion": 2,
            "sequence": "12", "source": "Voice", "type": "Normal", "standardType": "Normal",
            "action": "Cancel", "class": null, "priority": "Normal", "isTest": null,
            "centerName": "GA811", "memberIds": ["GAUPC", "GAUPC", "ATL01"],
            "trace": [{"dateTime": "2023-08-08T07:32:05.493-04:00", "action": "sent", "host": "GA811"}],
        },
        "workSite": {"countryCode": "US", "stateProvince": "GA", "county": "Cobb", "place": "Smyrna",
            "fullAddress": "", "addressNumber": "123", "addressPrefix": "", "addressStreetName": "Another",
            "addressStreetType": "LN", "addressSuffix": "SE", "intersection": "Highway 25"},
        "geometry": {
            "srid": 4326, "longitude": -84.548, "latitude": 33.855,
            "boundaryArea": null, "workSiteArea": [square_wkt(-84.548, 33.855)], "bufferedArea": [],
        },
        "timeLine": {"createdOn": "2023-08-08T07:32:05.493-04:00", "responseDue": "2023-08-11T00:00:00.000-04:00",
            "legalOn": "", "workOn": "2023-08-12T07:00:00.000-04:00"},
        "project": {"workType": "demolition", "excavationDepthInches": 24, "projectReference": "Dollar Central # 1435",
            "isDirectionalBoring": "True", "isExplosives": "false"},
        "excavator": {"name": "Acme", "phoneNumber": "7705559999", "phoneExtension": "12", "postalCode": 30096},
        "attachments": [
            {"name": "Note", "mimeType": "text/plain", "value": "aGVsbG8g\nd29ybGQ="},
            {"name": "", "value": ""},
        ],
        "futureSection": {"anything": 1},
    });
    let p = ok(&doc);
    let c = &p.content;
    assert_eq!(p.revision, Some(2));
    assert!(p.cancelled);
    assert_eq!(c.ticket_action.as_deref(), Some("Cancel"));
    assert_eq!(c.sequence_number, Some(12));
    assert_eq!(c.service_area.as_deref(), Some("GAUPC"));
    assert_eq!(c.additional_service_areas, ["ATL01"]);
    assert_eq!(
        c.work.address.as_deref(),
        Some("123 Another LN SE, Smyrna, Cobb, GA")
    );
    assert_eq!(
        utc(c.response_due_at).as_deref(),
        Some("2023-08-11T04:00:00.000Z")
    );
    assert_eq!(
        utc(c.work_start_at).as_deref(),
        Some("2023-08-12T11:00:00.000Z"),
        "workOn when legalOn is blank"
    );
    assert_eq!(c.work.deeper_than_16_inches, Some(true));
    assert_eq!(c.work.tunneling_or_boring, Some(true));
    assert_eq!(c.work.explosives, Some(false));
    assert_eq!(c.excavator.phone.as_deref(), Some("7705559999 ext 12"));
    assert_eq!(c.excavator.address.as_deref(), Some("30096"));
    assert_eq!(
        c.work.area.as_ref().unwrap()["coordinates"][0][0],
        json!([-84.548, 33.855])
    );
    assert_eq!((c.lat, c.lng), (Some(33.8555), Some(-84.5475)));
    assert_eq!(p.extra["trace"][0]["host"], "GA811");
    assert_eq!(
        p.extra["project"],
        json!({"excavationDepthInches": 24, "projectReference": "Dollar Central # 1435"})
    );
    assert_eq!(p.extra["geometry"]["areaSource"], "workSiteArea");
    assert_eq!(p.extra["futureSection"], json!({"anything": 1}));
    assert_eq!(p.extra.get("class"), None, "null is not kept");
    assert_eq!(p.extra.get("isTest"), None);
    assert_eq!(p.attachments.len(), 1);
    assert_eq!(p.attachments[0].name, "Note");
    assert_eq!(p.attachments[0].content_type, "text/plain");
    assert_eq!(p.attachments[0].bytes, b"hello world");
}

#[test]
fn a_version_that_is_not_a_number_is_kept_not_read() {
    let p = ok(&json!({"header": {"ticketNumber": "1", "version": "2019-08"}}));
    assert_eq!(p.revision, None);
    assert_eq!(p.extra, json!({"version": "2019-08"}));
    let p = ok(&json!({"header": {"ticketNumber": "1", "revision": "3"}}));
    assert_eq!(p.revision, Some(3));
    assert_eq!(p.extra, json!({}));
    let e = err(&json!({"header": {"ticketNumber": "1", "ticketVersion": "first"}}));
    assert_eq!(e.0, "$.header.ticketVersion");
}

#[test]
fn a_version_out_of_range_is_refused_or_kept_not_read() {
    // A version number is a count: negative or absurdly large ones would
    // make version numbers go backwards or run out.
    for bad in [json!(-1), json!(1_000_000), json!(i64::MAX)] {
        let e = err(&json!({"header": {"ticketNumber": "1", "ticketVersion": bad}}));
        assert_eq!(e.0, "$.header.ticketVersion");
        assert!(e.1.contains("from 0 to 999999"), "{}", e.1);
        let p = ok(&json!({"header": {"ticketNumber": "1", "version": bad}}));
        assert_eq!(p.revision, None);
        assert_eq!(p.extra, json!({"version": bad}));
    }
    let p = ok(&json!({"header": {"ticketNumber": "1", "version": 999_999}}));
    assert_eq!(p.revision, Some(999_999));
}

#[test]
fn a_zero_point_is_absent() {
    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] = json!([]);
    doc["geography"]["bufferedWkt"] = json!([]);
    doc["geography"]["longitude"] = json!(0);
    doc["geography"]["latitude"] = json!(0.0);
    let p = ok(&doc);
    assert_eq!((p.content.lat, p.content.lng), (None, None));
    assert_eq!(p.extra["geography"].get("longitude"), None);
}

#[test]
fn a_geojson_document_serves_when_there_is_no_wkt() {
    let doc = json!({
        "header": {"ticketNumber": "1"},
        "geometry": {"srid": 4326, "workSiteArea": [], "geospatialDocument": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": 0, "properties": {"objectType": "bufferedSite"},
                 "geometry": {"type": "Polygon", "coordinates": [[[-83.79, 32.63], [-83.77, 32.63], [-83.77, 32.64], [-83.79, 32.63]]]}},
                {"type": "Feature", "id": 1, "properties": {"objectType": "excavationSite"},
                 "geometry": {"type": "Polygon", "coordinates": [[[-83.782266, 32.631388], [-83.781601, 32.631049], [-83.781387, 32.631366], [-83.781961, 32.631664], [-83.782266, 32.631388]]]}},
            ],
        }},
    });
    let p = ok(&doc);
    assert_eq!(
        p.content.work.area.unwrap()["coordinates"][0][0],
        json!([-83.782266, 32.631388])
    );
    assert_eq!(p.extra["geometry"]["areaSource"], "geospatialDocument");
}

#[test]
fn timestamps_without_offset_are_read_as_utc_with_a_note() {
    let mut doc = fixture(GA);
    doc["timeLine"]["createdOn"] = json!("2024-02-22T16:35:37");
    let p = ok(&doc);
    assert_eq!(
        utc(p.content.taken_at).as_deref(),
        Some("2024-02-22T16:35:37.000Z")
    );
    assert_eq!(
        p.notes,
        ["time: $.timeLine.createdOn (2024-02-22T16:35:37) has no UTC offset; read as UTC"]
    );
}

#[test]
fn a_byte_order_mark_and_nul_characters_are_dropped() {
    let mut doc = fixture(GA);
    doc["project"]["workType"] = json!("septic\u{0} lines");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(doc.to_string().as_bytes());
    let p = parse_open_ticket(&bytes).unwrap();
    assert_eq!(p.content.work.kind.as_deref(), Some("septic lines"));
    assert_eq!(p.notes, ["text: removed 1 U+0000 character(s), which cannot be stored, first in $.project.workType"]);
}

#[test]
fn keys_that_differ_only_by_nul_characters_become_one_key() {
    // As a repeated key: the first key's place, the last value.
    let text = r#"{"header": {"ticketNumber": "1"},
        "locateInformation": {"re\u0000marks": "first", "isWhiteLined": true, "remarks": "last"},
        "zz\u0000": 1, "zz": 2, "z\u0000z": {"a\u0000": 3}}"#;
    let p = parse_open_ticket(text.as_bytes()).unwrap();
    assert_eq!(p.content.remarks.as_deref(), Some("last"));
    assert_eq!(p.content.work.white_painted, Some(true));
    assert_eq!(serde_json::to_string(&p.extra["zz"]).unwrap(), r#"{"a":3}"#);
    assert_eq!(
        p.notes,
        ["text: removed 4 U+0000 character(s), which cannot be stored, first in $.zz"]
    );
}

#[test]
fn invalid_json_and_utf8_are_located_by_line_and_column() {
    let e =
        parse_open_ticket(b"{\n  \"header\": {\n    \"ticketNumber\": \"1\",\n  }\n}").unwrap_err();
    assert_eq!(e.location, "line 4, column 3");
    assert_eq!(e.message, "is not valid JSON: trailing comma");

    let e = parse_open_ticket(b"{\"header\": {\"ticketNumber\": \"1\"}").unwrap_err();
    assert_eq!(e.location, "line 1, column 32");
    assert_eq!(e.message, "is not valid JSON: EOF while parsing an object");

    let e = parse_open_ticket(b"{\n  \"header\": {\"ticketNumber\": \"caf\xC3\xA9 \xFF\"}}")
        .unwrap_err();
    assert_eq!(e.location, "line 2, column 36");
    assert_eq!(e.message, "is not valid UTF-8: byte 0xFF");

    let e = parse_open_ticket(b"").unwrap_err();
    assert_eq!(e.location, "line 1, column 1");
    assert_eq!(e.message, "is not valid JSON: EOF while parsing a value");

    let e = parse_open_ticket(b"[1, 2]").unwrap_err();
    assert_eq!(
        (e.location.as_str(), e.message.as_str()),
        ("$", "expected an object, found an array")
    );
}

#[test]
fn the_ticket_number_is_required_and_must_be_a_string() {
    let cases = [
        (
            json!({}),
            "$.header.ticketNumber",
            "is required: the ticket's number",
        ),
        (
            json!({"header": {}}),
            "$.header.ticketNumber",
            "is required: the ticket's number",
        ),
        (
            json!({"header": {"ticketNumber": null}}),
            "$.header.ticketNumber",
            "is required: the ticket's number",
        ),
        (
            json!({"header": {"ticketNumber": "  "}}),
            "$.header.ticketNumber",
            "must not be blank",
        ),
        (
            json!({"header": {"ticketNumber": 240222001001_i64}}),
            "$.header.ticketNumber",
            "expected a string, found a number",
        ),
        (
            json!({"header": {"ticketNumber": ["1"]}}),
            "$.header.ticketNumber",
            "expected a string, found an array",
        ),
        (
            json!({"header": "240222-001001"}),
            "$.header",
            "expected an object, found a string",
        ),
        (
            json!({"header": {"ticketNumber": "x".repeat(101)}}),
            "$.header.ticketNumber",
            "is too long (maximum is 100 characters)",
        ),
    ];
    for (doc, location, message) in cases {
        assert_eq!(
            err(&doc),
            (location.to_string(), message.to_string()),
            "{doc}"
        );
    }
    // The number alone is enough.
    let p = ok(&json!({"header": {"ticketNumber": " 1 "}}));
    assert_eq!(p.content.ticket_number, "1");
    assert_eq!(p.extra, json!({}));
}

#[test]
fn wrongly_typed_fields_are_named_by_path() {
    let cases: [(&str, &str, Value, &str); 8] = [
        ("header", "sequence", json!("seven"), "expected a whole number, found \"seven\""),
        ("header", "sequence", json!(7.5), "expected a whole number, found 7.5"),
        ("header", "memberIds", json!("GAUPC"), "expected an array, found a string"),
        ("timeLine", "createdOn", json!("02/22/2024"), "expected an ISO 8601 date and time with an offset (2024-02-22T16:35:37.193-05:00), found \"02/22/2024\""),
        ("locateInformation", "isWhiteLined", json!("maybe"), "expected true or false, found \"maybe\""),
        ("project", "isExplosives", json!([]), "expected a boolean, found an array"),
        ("excavator", "name", json!({"first": "A"}), "expected a string, found an object"),
        ("geography", "longitude", json!(true), "expected a number, found a boolean"),
    ];
    for (section, field, value, message) in cases {
        let mut doc = fixture(GA);
        doc[section][field] = value;
        assert_eq!(
            err(&doc),
            (format!("$.{section}.{field}"), message.to_string())
        );
    }
    let mut doc = fixture(GA);
    doc["workSite"] = json!(["3900 Tree Summit Pkwy"]);
    assert_eq!(
        err(&doc),
        (
            "$.workSite".into(),
            "expected an object, found an array".into()
        )
    );
    let mut doc = fixture(GA);
    doc["customFieldGroups"][0]["fields"][0]["value"] = json!("tomorrow");
    assert_eq!(err(&doc).0, "$.customFieldGroups[0].fields[0].value");
    let mut doc = fixture(GA);
    doc["attachments"] = json!([{"name": "x", "value": "not base64!"}]);
    assert_eq!(err(&doc).0, "$.attachments[0].value");
    assert!(
        err(&doc).1.starts_with("is not valid base64: "),
        "{:?}",
        err(&doc)
    );
}

#[test]
fn broken_wkt_is_located_in_the_text() {
    let cases = [
        (
            "POLYGON((-84.1 33.9,-84.09 33.9,-84.09 33.91,-84.0 33.9))",
            "is not a valid WKT polygon: at character 9: the ring is not closed: it starts at -84.1 33.9 and ends at -84 33.9",
        ),
        (
            "POLYGON((-84.1 33.9,-84.09 33.9,-84.1 33.9))",
            "is not a valid WKT polygon: at character 9: a ring needs at least 4 positions (the last repeating the first), this one has 3",
        ),
        (
            "POLYGON((-84.1 33.9,-84.09 33.9,-84.09 33.91,-84.1 33.9)",
            "is not a valid WKT polygon: at character 57: expected ',' or ')', found the end of the text",
        ),
        (
            "POLYGON((-84.1 33.9,-84.09 33.9,-84.09 33.91,-84.1 33.9))</DigsiteWKT><DigsiteBufferWKT>POLYGON((0 0,1 0,1 1,0 0))",
            "is not a valid WKT polygon: at character 58: unexpected text after the end of the geometry, found '<'",
        ),
        (
            "garbage",
            "is not a valid WKT polygon: at character 1: expected POLYGON or MULTIPOLYGON, found \"GARBAGE\"",
        ),
        (
            "POLYGON((-84.1 33.9,-84.09 NaN,-84.09 33.91,-84.1 33.9))",
            "is not a valid WKT polygon: at character 28: expected a position of 2 to 4 numbers separated by spaces, found 1 before 'N'",
        ),
    ];
    for (wkt, message) in cases {
        let mut doc = fixture(GA);
        doc["geography"]["workSiteWkt"] = json!([square_wkt(-84.168, 33.988), wkt]);
        assert_eq!(
            err(&doc),
            (
                "$.geography.workSiteWkt[1]".to_string(),
                message.to_string()
            ),
            "{wkt}"
        );
    }
}

#[test]
fn coordinates_out_of_range_either_way_are_refused() {
    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] =
        json!(["POLYGON((-184.1 33.9,-184.09 33.9,-184.09 33.91,-184.1 33.9))"]);
    assert_eq!(err(&doc), (
        "$.geography.workSiteWkt[0]".to_string(),
        "has the position -184.1 33.9 out of range in either axis order (longitude -180 to 180, latitude -90 to 90)".to_string(),
    ));

    doc["geography"]["workSiteWkt"] = json!(["POLYGON((-120 35,35 -120,-120 35.1,-120 35))"]);
    assert_eq!(err(&doc), (
        "$.geography.workSiteWkt[0]".to_string(),
        "mixes axis orders: 35 -120 is valid only as latitude/longitude and -120 35 only as longitude/latitude".to_string(),
    ));

    let mut doc = fixture(GA);
    doc["geography"]["workSiteWkt"] = json!([]);
    doc["geography"]["bufferedWkt"] = json!([]);
    doc["geography"]["longitude"] = json!(-200.5);
    doc["geography"]["latitude"] = json!(95.0);
    assert_eq!(
        err(&doc),
        (
            "$.geography.longitude".to_string(),
            "longitude/latitude (-200.5 95) is out of range in either axis order".to_string(),
        )
    );
}

#[test]
fn a_point_far_from_the_area_is_refused() {
    let mut doc = fixture(GA);
    // Atlanta, 30 km from the Duluth work site, in either order.
    doc["geography"]["longitude"] = json!(-84.39);
    doc["geography"]["latitude"] = json!(33.75);
    let (location, message) = err(&doc);
    assert_eq!(location, "$.geography.longitude");
    assert!(message.starts_with("longitude/latitude (-84.39 33.75) is far from the work area (longitude -84.16728832378905 to -84.16607060089657"), "{message}");
}

#[test]
fn an_unknown_srid_is_refused() {
    for srid in [json!(3857), json!("2240")] {
        let mut doc = fixture(GA);
        doc["geography"]["srid"] = srid.clone();
        let n = srid.as_i64().unwrap_or(2240);
        assert_eq!(err(&doc), (
            "$.geography.srid".to_string(),
            format!("unsupported spatial reference {n}: expected 4326 (WGS 84) or 4269 (NAD 83), longitude and latitude in degrees"),
        ));
    }
    let mut doc = fixture(GA);
    doc["geography"].as_object_mut().unwrap().remove("srid");
    assert_eq!(
        ok(&doc).notes,
        ["geography: $.geography has no srid; read as 4326 (WGS 84)"]
    );
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        "(POLYGON|MULTIPOLYGON|LINESTRING)? ?\\(*[-0-9. ,e()]{0,40}\\)*".prop_map(Value::String),
        prop_oneof![
            Just("Cancel"),
            Just("2024-02-22T16:35:37.193-05:00"),
            Just("GAUPC")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("ticketNumber".to_string()),
            Just("srid".to_string()),
            Just("workSiteWkt".to_string()),
            Just("value".to_string()),
            Just("longitude".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_open_ticket(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        let _ = parse_open_ticket(value.to_string().as_bytes());
    }

    /// Any value in place of any field or section of a real ticket.
    #[test]
    fn arbitrary_values_in_a_real_ticket_never_panic(
        pa in any::<bool>(),
        section in prop::sample::select(vec![
            "header", "workSite", "geography", "locateInformation", "timeLine",
            "project", "excavator", "customFieldGroups", "members", "attachments",
        ]),
        field in prop::sample::select(vec![
            "", "ticketNumber", "sequence", "memberIds", "status", "srid", "longitude",
            "latitude", "workSiteWkt", "createdOn", "isWhiteLined", "name", "0",
        ]),
        value in arbitrary_json(),
    ) {
        let mut doc = fixture(if pa { PA } else { GA });
        match (field, doc[section].as_array_mut()) {
            ("", _) => doc[section] = value,
            (_, Some(items)) if !items.is_empty() => items[0] = value,
            _ => {
                if let Some(obj) = doc[section].as_object_mut() {
                    obj.insert(field.to_string(), value);
                }
            }
        }
        match parse(&doc) {
            Ok(p) => {
                if let Some(area) = &p.content.work.area {
                    prop_assert_eq!(validate_area(area), Ok(()));
                }
                if let (Some(lat), Some(lng)) = (p.content.lat, p.content.lng) {
                    prop_assert!(lat.abs() <= 90.0 && lng.abs() <= 180.0);
                }
            }
            Err(e) => prop_assert!(e.location.starts_with('$') || e.location.starts_with("line ")),
        }
    }
}
