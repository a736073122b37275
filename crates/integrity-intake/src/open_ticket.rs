//! FNCA Open Ticket JSON (format versions 0.3 to 0.5) → [`Parsed`].
//!
//! The format is the FNCA open standard (`fnca-open-standards/ticket` on
//! GitHub, `Open-Ticket-Specification.md`): a JSON
//! object with `header`, `workSite`, `geography` (0.5: `geometry`),
//! `locateInformation`, `timeLine`, `project`, `excavator`,
//! `customFieldGroups`, `members`, `responseHistory` and `attachments`.
//!
//! Fields with a place in the API's ticket are mapped there; the rest is
//! kept in [`Parsed::extra`]; unknown fields are tolerated and kept too. The
//! field map and the axis-swap rule are in `docs/intake-open-ticket.md`.

use std::rc::Rc;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use integrity_domain::ticket::{
    describe_serde_error, validate_area, Contact, Excavator, TicketContent, Work,
};
use integrity_domain::time::{parse_timestamp, Millis};
use serde_json::{Map, Value};

use crate::json_tree::{Json, Object};

use crate::geometry::{
    area_axis_order, bbox, centroid, from_geojson, parse_wkt, point_axis_order, round6,
    swap_polygons, swapped, to_geojson, AxisOrder, Polygon, WktError, DEGREE_SRIDS,
};
use crate::{is_revision, Attachment, IntakeError, Parsed, MAX_REVISION};

/// The API's limit on `ticket_number`.
const MAX_TICKET_NUMBER_LEN: usize = 100;

/// Reads an Open Ticket JSON document.
///
/// Errors say where: `line 3, column 7` for text that is not UTF-8 or not
/// JSON, a JSON path (`$.header.ticketNumber`,
/// `$.geography.workSiteWkt[0]`) for a field that is missing, of the wrong
/// type or invalid. The only required field is `header.ticketNumber`.
/// Corrections (swapped longitude/latitude, say) are listed in
/// [`Parsed::notes`].
pub fn parse_open_ticket(bytes: &[u8]) -> Result<Parsed, IntakeError> {
    let text = decode_utf8(bytes)?;
    let mut root: Json = serde_json::from_str(text).map_err(|e| {
        IntakeError::new(
            // serde_json counts 0 at the very start of a line (an empty
            // document): call it column 1.
            format!("line {}, column {}", e.line(), e.column().max(1)),
            format!(
                "is not valid JSON: {}",
                describe_serde_error(&e.to_string())
            ),
        )
    })?;
    let mut notes = Vec::new();
    // JSON text can carry U+0000 only as an escape; without one there is
    // nothing to strip, and no need to walk the whole tree.
    let escaped_nul = text.contains("\\u0000");
    if let Some((path, count)) = escaped_nul.then(|| strip_nul(&mut root)).flatten() {
        notes.push(format!(
            "text: removed {count} U+0000 character(s), which cannot be stored, first in {path}"
        ));
    }
    let doc = Node::root(&root);
    let Some(top) = doc.object()? else {
        return Err(IntakeError::new(
            "$",
            "expected an Open Ticket object, found null",
        ));
    };
    let reader = Reader {
        custom: custom_fields(doc.get("customFieldGroups")),
        notes,
    };
    reader.read(doc, top)
}

struct Reader<'a> {
    custom: Vec<CustomField<'a>>,
    notes: Vec<String>,
}

impl<'a> Reader<'a> {
    fn read(mut self, doc: Node<'a>, top: &'a Object<'a>) -> Result<Parsed, IntakeError> {
        let mut extra = Map::new();

        // Header.
        let header = doc.get("header");
        let header_obj = header.object()?;
        let number_node = header.get("ticketNumber");
        let ticket_number = match number_node.value {
            None | Some(Json::Null) => {
                return Err(number_node.error("is required: the ticket's number"))
            }
            Some(Json::String(s)) if s.trim().is_empty() => {
                return Err(number_node.error("must not be blank"))
            }
            Some(Json::String(s)) => s.trim().to_string(),
            Some(other) => {
                return Err(number_node.error(format!("expected a string, found {}", kind(other))))
            }
        };
        if ticket_number.chars().count() > MAX_TICKET_NUMBER_LEN {
            return Err(number_node.error(format!(
                "is too long (maximum is {MAX_TICKET_NUMBER_LEN} characters)"
            )));
        }
        let status = header.get("status").text()?;
        let action = header.get("action").text()?;
        let cancelled = [&status, &action].into_iter().flatten().any(|s| {
            ["cancel", "cancelled", "canceled"]
                .iter()
                .any(|c| s.eq_ignore_ascii_case(c))
        });
        let ticket_type = match header.get("type").text()? {
            Some(t) => Some(t),
            None => header.get("standardType").text()?,
        };
        // 0.5's header.ticketVersion is an integer by the specification.
        // Elsewhere (a `version` or `revision` in the header or in a
        // center's header custom group, PA811's `pa811Header.version`) a
        // value that is not a whole number is left in `extra`.
        let ticket_version = header.get("ticketVersion");
        let mut revision = ticket_version.integer()?;
        if revision.is_some_and(|n| !is_revision(n)) {
            return Err(ticket_version.error(format!(
                "expected a version from 0 to {MAX_REVISION}, found {}",
                revision.unwrap_or_default()
            )));
        }
        let mut revision_key = "ticketVersion";
        for key in ["version", "revision"] {
            if revision.is_none() {
                if let Ok(Some(n)) = header.get(key).integer() {
                    if is_revision(n) {
                        (revision, revision_key) = (Some(n), key);
                    }
                }
            }
        }
        if revision.is_none() {
            let in_header = |g: &str| g.to_ascii_lowercase().ends_with("header");
            let names = ["ticketVersion", "version", "revision"];
            revision = self
                .custom(in_header, &names)
                .and_then(|n| n.integer().ok().flatten())
                .filter(|n| is_revision(*n));
        }
        let mut service_areas: Vec<String> = Vec::new();
        for node in header.get("memberIds").items()? {
            push_distinct(&mut service_areas, node.text()?);
        }
        if service_areas.is_empty() {
            for member in doc.get("members").items()? {
                push_distinct(&mut service_areas, member.get("memberId").text()?);
            }
        }
        let consumed = [
            "ticketNumber",
            "sequence",
            "source",
            "type",
            "status",
            "action",
            "memberIds",
            "ticketVersion",
            revision_key,
        ];
        extra.extend(leftovers(header_obj, &consumed));

        // Reference ticket.
        let reference = |g: &str| g.eq_ignore_ascii_case("reference");
        let mut reference_ticket_number = match self.custom(reference, &["previousTicketNumber"]) {
            Some(node) => node.text()?,
            None => None,
        };
        if reference_ticket_number.is_none() {
            if let Some(node) = self.custom(reference, &["originalTicketNumber"]) {
                reference_ticket_number = node.text()?.filter(|n| *n != ticket_number);
            }
        }

        // Time line.
        let time_line = doc.get("timeLine");
        let taken_at = self.timestamp(time_line.get("createdOn"))?;
        let mut work_start_at = self.timestamp(time_line.get("legalOn"))?;
        let mut time_consumed = vec!["createdOn", "legalOn", "responseDue"];
        if work_start_at.is_none() {
            work_start_at = self.timestamp(time_line.get("workOn"))?;
            time_consumed.push("workOn");
        }
        let mut response_due_at = self.timestamp(time_line.get("responseDue"))?;
        if response_due_at.is_none() {
            let names = ["responseBy", "responseDue"];
            if let Some(node) = self.custom(|g| g.eq_ignore_ascii_case("timeLine"), &names) {
                response_due_at = self.timestamp(node)?;
            }
        }
        insert_section(
            &mut extra,
            "timeLine",
            leftovers(time_line.object()?, &time_consumed),
        );

        // Locate information.
        let locate = doc.get("locateInformation");
        let remarks = locate.get("remarks").text()?;
        let white_painted = locate.get("isWhiteLined").flag()?;
        let locate_instructions = locate.get("locateInstructions").text()?;
        let driving_directions = locate.get("drivingDirections").text()?;
        let consumed = [
            "remarks",
            "isWhiteLined",
            "locateInstructions",
            "drivingDirections",
        ];
        insert_section(
            &mut extra,
            "locateInformation",
            leftovers(locate.object()?, &consumed),
        );

        // Project.
        let project = doc.get("project");
        let depth = project.get("excavationDepthInches").number()?;
        let work_kind = project.get("workType").text()?;
        let duration = project.get("duration").text()?;
        let done_for = project.get("workDoneFor").text()?;
        let tunneling_or_boring = project.get("isDirectionalBoring").flag()?;
        let explosives = project.get("isExplosives").flag()?;
        let consumed = [
            "workType",
            "duration",
            "workDoneFor",
            "isDirectionalBoring",
            "isExplosives",
        ];
        insert_section(
            &mut extra,
            "project",
            leftovers(project.object()?, &consumed),
        );

        // Work site.
        let site = doc.get("workSite");
        let site_obj = site.object()?;
        let mut street = site.get("fullAddress").text()?;
        if street.is_none() {
            let mut parts = Vec::new();
            for key in [
                "addressNumber",
                "addressPrefix",
                "addressStreetName",
                "addressStreetType",
                "addressSuffix",
            ] {
                parts.extend(site.get(key).text()?);
            }
            street = (!parts.is_empty()).then(|| parts.join(" "));
        }
        let mut address_parts = Vec::new();
        address_parts.extend(street);
        for key in ["place", "county", "stateProvince"] {
            address_parts.extend(site.get(key).text()?);
        }
        let work_address = join(address_parts, ", ");
        let nearby_street = site.get("intersection").text()?;
        let country = site.get("countryCode").text()?;
        let subdivision = match self.custom(
            |g| g.eq_ignore_ascii_case("workSite"),
            &["siteSubdivision", "subdivision"],
        ) {
            Some(node) => node.text()?,
            None => None,
        };
        let consumed = [
            "fullAddress",
            "place",
            "county",
            "stateProvince",
            "intersection",
        ];
        insert_section(&mut extra, "workSite", leftovers(site_obj, &consumed));

        // Geography.
        let geo = self.geography(doc.clone(), country.as_deref())?;
        if !geo.extra.is_empty() {
            extra.insert(geo.key.to_string(), Value::Object(geo.extra));
        }

        // Excavator.
        let ex = doc.get("excavator");
        let mut ex_address = Vec::new();
        ex_address.extend(ex.get("streetAddress").text()?);
        ex_address.extend(ex.get("city").text()?);
        let state_zip = [ex.get("state").text()?, ex.get("postalCode").text()?];
        ex_address.extend(join(state_zip.into_iter().flatten().collect(), " "));
        let excavator = Excavator {
            kind: ex.get("excavatorType").text()?,
            name: ex.get("name").text()?,
            address: join(ex_address, ", "),
            phone: phone(
                ex.get("phoneNumber").text()?,
                ex.get("phoneExtension").text()?,
            ),
            contact: Contact {
                name: ex.get("contactName").text()?,
                phone: phone(
                    ex.get("contactPhone").text()?,
                    ex.get("contactPhoneExtension").text()?,
                ),
                email: ex.get("contactEmail").text()?,
            },
            alt_contact: Default::default(),
            caller: Contact {
                name: ex.get("callerName").text()?,
                phone: phone(
                    ex.get("callerPhone").text()?,
                    ex.get("callerPhoneExtension").text()?,
                ),
                email: ex.get("callerEmail").text()?,
            },
        };
        let consumed = [
            "excavatorType",
            "name",
            "streetAddress",
            "city",
            "state",
            "postalCode",
            "phoneNumber",
            "phoneExtension",
            "contactName",
            "contactPhone",
            "contactPhoneExtension",
            "contactEmail",
            "callerName",
            "callerPhone",
            "callerPhoneExtension",
            "callerEmail",
        ];
        insert_section(&mut extra, "excavator", leftovers(ex.object()?, &consumed));

        // Members, response history, custom fields: kept as sent (members
        // reduced to who they are).
        let mut members = Vec::new();
        for member in doc.get("members").items()? {
            let id = member.get("memberId").text()?;
            let name = member.get("memberName").text()?;
            if id.is_none() && name.is_none() {
                continue;
            }
            let mut facility_types = Vec::new();
            for facility in member.get("facilityTypes").items()? {
                facility_types.extend(facility.text()?);
            }
            members
                .push(serde_json::json!({"id": id, "name": name, "facilityTypes": facility_types}));
        }
        if !members.is_empty() {
            extra.insert("members".into(), Value::Array(members));
        }
        for key in ["responseHistory", "customFieldGroups"] {
            if let Some(v) = top.get(key).filter(|v| !is_blank(v)) {
                extra.insert(key.into(), v.to_value());
            }
        }
        let attachments = read_attachments(doc.get("attachments"))?;

        // Sections this parser does not know (a later version's): kept.
        let known = [
            "header",
            "workSite",
            "geography",
            "geometry",
            "locateInformation",
            "timeLine",
            "project",
            "excavator",
            "customFieldGroups",
            "members",
            "responseHistory",
            "attachments",
        ];
        for (key, value) in leftovers(Some(top), &known) {
            extra.entry(key).or_insert(value);
        }

        let (additional, primary) = match service_areas.split_first() {
            Some((first, rest)) => (rest.to_vec(), Some(first.clone())),
            None => (Vec::new(), None),
        };
        let content = TicketContent {
            ticket_number,
            reference_ticket_number,
            sequence_number: header.get("sequence").integer()?,
            ticket_type,
            ticket_action: status.or(action),
            ticket_source: header.get("source").text()?,
            service_area: primary,
            additional_service_areas: additional,
            taken_at,
            work_start_at,
            response_due_at,
            remarks,
            excavator,
            work: Work {
                kind: work_kind,
                address: work_address,
                nearby_street,
                subdivision,
                done_for,
                duration,
                driving_directions,
                locate_instructions,
                explosives,
                white_painted,
                deeper_than_16_inches: depth.map(|d| d > 16.0),
                overhead: None,
                tunneling_or_boring,
                area: geo.area,
            },
            lat: geo.lat_lng.map(|p| p[1]),
            lng: geo.lat_lng.map(|p| p[0]),
        };
        Ok(Parsed {
            content,
            revision,
            cancelled,
            notes: self.notes,
            extra: Value::Object(extra),
            attachments,
        })
    }

    /// The first non-blank custom field named one of `names` (any case) in
    /// a group whose name satisfies `group`.
    fn custom(&self, group: impl Fn(&str) -> bool, names: &[&str]) -> Option<Node<'a>> {
        names.iter().find_map(|name| {
            self.custom
                .iter()
                .find(|f| {
                    group(f.group) && f.name.eq_ignore_ascii_case(name) && !f.value.is_blank()
                })
                .map(|f| f.value.clone())
        })
    }

    /// An ISO 8601 timestamp in UTC milliseconds; blank is `None`. One
    /// without an offset is read as UTC, with a note.
    fn timestamp(&mut self, node: Node<'a>) -> Result<Option<Millis>, IntakeError> {
        let Some(text) = node.text()? else {
            return Ok(None);
        };
        let Some(ms) = parse_timestamp(&text) else {
            return Err(node.error(format!(
                "expected an ISO 8601 date and time with an offset \
                 (2024-02-22T16:35:37.193-05:00), found {text:?}"
            )));
        };
        if chrono::DateTime::parse_from_rfc3339(&text).is_err() {
            self.notes.push(format!(
                "time: {} ({text}) has no UTC offset; read as UTC",
                node.path
            ));
        }
        Ok(Some(ms))
    }

    fn geography(&mut self, doc: Node<'a>, country: Option<&str>) -> Result<Geo, IntakeError> {
        let mut geo = Geo {
            key: "geography",
            area: None,
            lat_lng: None,
            extra: Map::new(),
        };
        let (key, section) = match doc.get("geography").value {
            Some(v) if !v.is_null() => ("geography", doc.get("geography")),
            _ => ("geometry", doc.get("geometry")),
        };
        geo.key = key;
        let Some(obj) = section.object()? else {
            return Ok(geo);
        };

        let srid_node = section.get("srid");
        let srid = srid_node.integer()?;
        if let Some(srid) = srid {
            if !DEGREE_SRIDS.contains(&srid) {
                return Err(srid_node.error(format!(
                    "unsupported spatial reference {srid}: expected 4326 (WGS 84) or 4269 \
                     (NAD 83), longitude and latitude in degrees"
                )));
            }
        }

        // The work area: the first list holding a polygon.
        const LISTS: [[&str; 2]; 3] = [
            ["workSiteWkt", "workSiteArea"],
            ["bufferedWkt", "bufferedArea"],
            ["boundaryWkt", "boundaryArea"],
        ];
        let mut consumed: Vec<&str> = [
            "srid",
            "longitude",
            "latitude",
            "secondaryLongitude",
            "secondaryLatitude",
        ]
        .to_vec();
        let mut sources: Sources = Vec::new();
        let mut area_source = None;
        let mut not_areas: Vec<String> = Vec::new();
        for names in LISTS {
            let Some(name) = names.into_iter().find(|n| obj.contains_key(n)) else {
                continue;
            };
            let list = section.get(name);
            if sources.is_empty() {
                for item in list.wkt_items()? {
                    let Some(text) = item.text()? else { continue };
                    match parse_wkt(&text) {
                        Ok(polygons) if polygons.is_empty() => {}
                        Ok(polygons) => sources.push((item.path.to_string(), polygons)),
                        Err(WktError::Unsupported { kind }) => {
                            not_areas.push(format!("{} is a {kind}", short(&item.path.to_string())))
                        }
                        Err(e) => {
                            return Err(item.error(format!("is not a valid WKT polygon: {e}")))
                        }
                    }
                }
                if !sources.is_empty() {
                    area_source = Some(name);
                    consumed.push(name);
                }
            }
        }
        if sources.is_empty() {
            if let Some(found) = geospatial_document(section.get("geospatialDocument"))? {
                consumed.push("geospatialDocument");
                area_source = Some("geospatialDocument");
                sources = found;
            }
        }
        if !not_areas.is_empty() {
            let outcome = match area_source {
                Some(source) => format!("the work area was taken from {source}"),
                None => "no work area".to_string(),
            };
            self.notes.push(format!(
                "geography: {}, not an area; {outcome}",
                not_areas.join(", ")
            ));
        }
        let has_point =
            |lng: &'static str, lat: &'static str| -> Result<Option<[f64; 2]>, IntakeError> {
                let x = section.get(lng).number()?;
                let y = section.get(lat).number()?;
                Ok(match (x, y) {
                    (Some(x), Some(y)) if x != 0.0 || y != 0.0 => Some([x, y]),
                    _ => None,
                })
            };
        let point = has_point("longitude", "latitude")?;
        let secondary = has_point("secondaryLongitude", "secondaryLatitude")?;
        if srid.is_none() && (!sources.is_empty() || point.is_some()) {
            self.notes.push(format!(
                "geography: {} has no srid; read as 4326 (WGS 84)",
                section.path
            ));
        }

        // Axis order of the area, source by source.
        let mut polygons: Vec<Polygon> = Vec::new();
        for (path, mut found) in sources {
            match area_axis_order(&found, country) {
                Ok(AxisOrder::AsGiven) => {}
                Ok(AxisOrder::Swapped) => {
                    swap_polygons(&mut found);
                    self.notes.push(format!(
                        "geography: longitude and latitude were swapped in {}; corrected",
                        short(&path)
                    ));
                }
                Err(message) => return Err(IntakeError::new(path, message)),
            }
            polygons.extend(found);
        }
        let area_box = bbox(&polygons);
        if let Some(area) = to_geojson(&polygons) {
            if let Err(message) = validate_area(&area) {
                let source = section.get(area_source.unwrap_or("workSiteWkt"));
                return Err(source.error(message));
            }
            geo.area = Some(area);
        }

        // Axis order of the points, checked against the area.
        let mut fields = Map::new();
        for (pair, value) in [
            (["longitude", "latitude"], point),
            (["secondaryLongitude", "secondaryLatitude"], secondary),
        ] {
            let Some(mut p) = value else { continue };
            match point_axis_order(p, area_box.as_ref(), country) {
                Ok(AxisOrder::AsGiven) => {}
                Ok(AxisOrder::Swapped) => {
                    p = swapped(p);
                    self.notes.push(format!(
                        "geography: longitude and latitude were swapped in {}/{}; corrected",
                        pair[0], pair[1]
                    ));
                }
                Err(message) => {
                    return Err(section
                        .get(pair[0])
                        .error(format!("{}/{} {message}", pair[0], pair[1])))
                }
            }
            fields.insert(pair[0].into(), p[0].into());
            fields.insert(pair[1].into(), p[1].into());
        }
        // The area's centroid; without an area, the (corrected) point.
        geo.lat_lng = match centroid(&polygons) {
            Some(c) => Some([round6(c[0]), round6(c[1])]),
            None => fields_point(&fields),
        };

        if let Some(srid) = obj.get("srid").filter(|v| !v.is_null()) {
            geo.extra.insert("srid".into(), srid.to_value());
        }
        geo.extra.extend(fields);
        if let Some(source) = area_source {
            geo.extra.insert("areaSource".into(), source.into());
        }
        geo.extra.extend(leftovers(Some(obj), &consumed));
        Ok(geo)
    }
}

/// Polygons of a GeoJSON FeatureCollection's `excavationSite` features,
/// else of its `bufferedSite` ones (`properties.objectType`, or
/// `properties.layer`).
fn geospatial_document(doc: Node<'_>) -> Result<Option<Sources>, IntakeError> {
    if doc.object()?.is_none() {
        return Ok(None);
    }
    let features = doc.get("features").items()?;
    for wanted in ["excavationSite", "bufferedSite"] {
        let mut found = Vec::new();
        for feature in &features {
            let properties = feature.get("properties");
            let object_type = match properties.get("objectType").text()? {
                Some(t) => Some(t),
                None => properties.get("layer").text()?,
            };
            if !object_type.is_some_and(|t| t.eq_ignore_ascii_case(wanted)) {
                continue;
            }
            let geometry = feature.get("geometry");
            let Some(value) = geometry.value else {
                continue;
            };
            match from_geojson(&value.to_value()) {
                Ok(Some(polygons)) => found.push((geometry.path.to_string(), polygons)),
                Ok(None) => {}
                Err(message) => return Err(geometry.error(message)),
            }
        }
        if !found.is_empty() {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn fields_point(fields: &Map<String, Value>) -> Option<[f64; 2]> {
    Some([
        fields.get("longitude")?.as_f64()?,
        fields.get("latitude")?.as_f64()?,
    ])
}

/// Polygons by the JSON path they were read from.
type Sources = Vec<(String, Vec<Polygon>)>;

struct Geo {
    /// `geography` or (0.5) `geometry`.
    key: &'static str,
    area: Option<Value>,
    /// `[longitude, latitude]`.
    lat_lng: Option<[f64; 2]>,
    extra: Map<String, Value>,
}

/// `$.geography.workSiteWkt[0]` → `workSiteWkt[0]`, for notes.
fn short(path: &str) -> &str {
    path.strip_prefix("$.")
        .map_or(path, |p| p.split_once('.').map_or(p, |(_, rest)| rest))
}

fn read_attachments(list: Node<'_>) -> Result<Vec<Attachment>, IntakeError> {
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut attachments = Vec::new();
    for (i, item) in list.items()?.into_iter().enumerate() {
        let value = item.get("value");
        let Some(encoded) = value.text()? else {
            continue;
        };
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = engine
            .decode(compact.as_bytes())
            .map_err(|e| value.error(format!("is not valid base64: {e}")))?;
        attachments.push(Attachment {
            name: item
                .get("name")
                .text()?
                .unwrap_or_else(|| format!("attachment-{}", i + 1)),
            content_type: item
                .get("mimeType")
                .text()?
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes,
        });
    }
    Ok(attachments)
}

/// `5555550121 ext 42`.
fn phone(number: Option<String>, extension: Option<String>) -> Option<String> {
    match (number, extension) {
        (Some(n), Some(e)) => Some(format!("{n} ext {e}")),
        (n, _) => n,
    }
}

fn join(parts: Vec<String>, separator: &str) -> Option<String> {
    (!parts.is_empty()).then(|| parts.join(separator))
}

fn push_distinct(list: &mut Vec<String>, item: Option<String>) {
    if let Some(item) = item {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn insert_section(extra: &mut Map<String, Value>, key: &str, rest: Map<String, Value>) {
    if !rest.is_empty() {
        extra.insert(key.into(), Value::Object(rest));
    }
}

/// The entries of `obj` not in `consumed` and not blank.
fn leftovers(obj: Option<&Object<'_>>, consumed: &[&str]) -> Map<String, Value> {
    obj.into_iter()
        .flat_map(Object::iter)
        .filter(|(k, v)| !consumed.contains(k) && !is_blank(v))
        .map(|(k, v)| (k.to_owned(), v.to_value()))
        .collect()
}

/// Null, a blank string, or an array or object of blanks.
fn is_blank(value: &Json<'_>) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        Json::Array(items) => items.iter().all(is_blank),
        Json::Object(object) => object.values().all(is_blank),
        Json::Bool(_) | Json::Number(_) => false,
    }
}

fn kind(value: &Json<'_>) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The text, without a byte order mark; invalid UTF-8 is reported by line
/// and column (in characters).
fn decode_utf8(bytes: &[u8]) -> Result<&str, IntakeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        let what = match e.error_len() {
            Some(_) => format!("byte 0x{:02X}", bytes[e.valid_up_to()]),
            None => "a sequence cut off by the end of the document".into(),
        };
        IntakeError::new(
            format!("line {line}, column {column}"),
            format!("is not valid UTF-8: {what}"),
        )
    })
}

/// Removes U+0000 from every string and key (PostgreSQL text cannot hold
/// it); returns the first path where one was found and how many were.
fn strip_nul(value: &mut Json<'_>) -> Option<(String, usize)> {
    fn walk(value: &mut Json<'_>, path: &str, first: &mut Option<String>, count: &mut usize) {
        match value {
            Json::String(s) if s.contains('\0') => {
                *count += s.matches('\0').count();
                first.get_or_insert_with(|| path.to_string());
                s.to_mut().retain(|c| c != '\0');
            }
            Json::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, &format!("{path}[{i}]"), first, count);
                }
            }
            Json::Object(object) => {
                if object.iter().any(|(k, _)| k.contains('\0')) {
                    // Keys that differ only by U+0000 become one, as a
                    // repeated key does.
                    let entries = std::mem::take(object).into_entries();
                    let cleaned = entries.into_iter().map(|(k, v)| {
                        if k.contains('\0') {
                            *count += k.matches('\0').count();
                            first.get_or_insert_with(|| format!("{path}.{}", k.replace('\0', "")));
                            (k.replace('\0', "").into(), v)
                        } else {
                            (k, v)
                        }
                    });
                    *object = Object::from_entries(cleaned.collect::<Vec<_>>());
                }
                for (k, v) in object.iter_mut() {
                    walk(v, &format!("{path}.{k}"), first, count);
                }
            }
            _ => {}
        }
    }
    let (mut first, mut count) = (None, 0);
    walk(value, "$", &mut first, &mut count);
    first.map(|path| (path, count))
}

/// A custom field: group name, field name and value.
struct CustomField<'a> {
    group: &'a str,
    name: &'a str,
    value: Node<'a>,
}

/// The custom fields that are well-formed enough to look up; the section
/// is kept whole in `extra` either way.
fn custom_fields(groups: Node<'_>) -> Vec<CustomField<'_>> {
    let mut fields = Vec::new();
    let Some(Json::Array(list)) = groups.value else {
        return fields;
    };
    for (g, group) in list.iter().enumerate() {
        let Some(group_name) = group.get("groupName").and_then(Json::as_str) else {
            continue;
        };
        let Some(Json::Array(items)) = group.get("fields") else {
            continue;
        };
        for (f, field) in items.iter().enumerate() {
            let Some(name) = field.get("fieldName").and_then(Json::as_str) else {
                continue;
            };
            fields.push(CustomField {
                group: group_name,
                name,
                value: Node {
                    value: field.get("value"),
                    path: groups.path.index(g).key("fields").index(f).key("value"),
                },
            });
        }
    }
    fields
}

/// A place in the document: the value there, if any, and its JSON path.
#[derive(Clone)]
struct Node<'a> {
    value: Option<&'a Json<'a>>,
    path: JsonPath,
}

/// A JSON path (`$.geography.workSiteWkt[0]`), kept as its steps and
/// written out only when shown, in an error or a note: most of the fields
/// a document is read for are never named, and formatting every path was
/// a tenth of the parse.
#[derive(Clone)]
struct JsonPath(Option<Rc<Step>>);

enum Step {
    Key(JsonPath, &'static str),
    Index(JsonPath, usize),
}

impl JsonPath {
    fn key(&self, key: &'static str) -> JsonPath {
        JsonPath(Some(Rc::new(Step::Key(self.clone(), key))))
    }

    fn index(&self, index: usize) -> JsonPath {
        JsonPath(Some(Rc::new(Step::Index(self.clone(), index))))
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_deref() {
            None => f.write_str("$"),
            Some(Step::Key(parent, key)) => write!(f, "{parent}.{key}"),
            Some(Step::Index(parent, index)) => write!(f, "{parent}[{index}]"),
        }
    }
}

impl<'a> Node<'a> {
    fn root(value: &'a Json<'a>) -> Self {
        Node {
            value: Some(value),
            path: JsonPath(None),
        }
    }

    fn get(&self, key: &'static str) -> Node<'a> {
        Node {
            value: self.value.and_then(|v| v.get(key)),
            path: self.path.key(key),
        }
    }

    fn error(&self, message: impl Into<String>) -> IntakeError {
        IntakeError::new(self.path.to_string(), message)
    }

    fn wrong(&self, expected: &str) -> IntakeError {
        let found = self.value.map_or("nothing", kind);
        self.error(format!("expected {expected}, found {found}"))
    }

    fn is_blank(&self) -> bool {
        self.value.is_none_or(is_blank)
    }

    /// An object; missing or null is `None`.
    fn object(&self) -> Result<Option<&'a Object<'a>>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Object(object)) => Ok(Some(object)),
            Some(_) => Err(self.wrong("an object")),
        }
    }

    /// The items of an array; missing or null is empty.
    fn items(&self) -> Result<Vec<Node<'a>>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Node {
                    value: Some(v),
                    path: self.path.index(i),
                })
                .collect()),
            Some(_) => Err(self.wrong("an array")),
        }
    }

    /// A WKT list: an array of strings, or a single string.
    fn wkt_items(&self) -> Result<Vec<Node<'a>>, IntakeError> {
        match self.value {
            Some(Json::String(_)) => Ok(vec![self.clone()]),
            _ => self
                .items()
                .map_err(|_| self.wrong("an array of WKT strings")),
        }
    }

    /// Trimmed text; missing, null or blank is `None`. Numbers are taken
    /// as their text (a postal code sent as a number).
    fn text(&self) -> Result<Option<String>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_string()))
            }
            Some(Json::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.wrong("a string")),
        }
    }

    /// A boolean, or its text (`true`, `False`, `yes`, `N`, …).
    fn flag(&self) -> Result<Option<bool>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "yes" | "y" | "1" => Ok(Some(true)),
                "false" | "no" | "n" | "0" => Ok(Some(false)),
                _ => Err(self.error(format!("expected true or false, found {s:?}"))),
            },
            Some(_) => Err(self.wrong("a boolean")),
        }
    }

    /// A whole number, or its text.
    fn integer(&self) -> Result<Option<i64>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(self.error(format!("expected a whole number, found {n}"))),
            },
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.error(format!("expected a whole number, found {s:?}"))),
            Some(_) => Err(self.wrong("a whole number")),
        }
    }

    /// A finite number, or its text.
    fn number(&self) -> Result<Option<f64>, IntakeError> {
        match self.value {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) => Ok(n.as_f64().filter(|v| v.is_finite())),
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(self.error(format!("expected a number, found {s:?}"))),
            },
            Some(_) => Err(self.wrong("a number")),
        }
    }
}
