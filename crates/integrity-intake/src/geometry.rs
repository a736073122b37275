//! Work areas as call centers send them, turned into the API's GeoJSON.
//!
//! Centers send areas as OGC Well-Known Text (`POLYGON((x y, …))`,
//! `MULTIPOLYGON(((x y, …)), …)`) in a geographic coordinate system whose
//! x is the longitude and y the latitude, both in degrees. The API shows a
//! GeoJSON Polygon or MultiPolygon (`work.area`, checked by
//! [`integrity_domain::ticket::validate_area`]) and a representative point
//! (`lat`, `lng`).
//!
//! Some centers swap the two axes. [`area_axis_order`] and
//! [`point_axis_order`] decide, from ranges, the work area and the country,
//! whether a set of positions is in longitude/latitude order or swapped;
//! the caller corrects it with [`swap_polygons`] / [`swapped`] and records
//! a note.

use serde_json::{json, Value};

/// `[x, y]`: `[longitude, latitude]` once the axis order is settled.
pub type Position = [f64; 2];
/// A closed ring: at least four positions, the last equal to the first.
pub type Ring = Vec<Position>;
/// An outer ring followed by its holes.
pub type Polygon = Vec<Ring>;

/// Spatial reference identifiers read as longitude/latitude in degrees:
/// WGS 84 (the Open Ticket default) and NAD 83 (used by some US centers;
/// within a metre or two of WGS 84, which is far below a locate's
/// tolerance, so no datum shift is applied).
pub const DEGREE_SRIDS: [i64; 2] = [4326, 4269];

/// How far (in degrees) a reference point may lie outside the work area's
/// bounding box and still be taken as agreeing with it: at least 0.1°
/// (about 11 km), or the box's own size for long projects.
pub const POINT_MARGIN_DEGREES: f64 = 0.1;

/// Why a WKT text could not be turned into polygons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WktError {
    /// Well-formed geometry of a type that is not an area (`POINT`,
    /// `LINESTRING`, …). `kind` is the upper-cased type name.
    Unsupported { kind: String },
    /// Malformed text or an invalid polygon; `column` is the 1-based
    /// character position where the problem starts.
    Malformed { column: usize, message: String },
}

impl std::fmt::Display for WktError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WktError::Unsupported { kind } => {
                write!(f, "is a {kind}, not a POLYGON or MULTIPOLYGON")
            }
            WktError::Malformed { column, message } => {
                write!(f, "at character {column}: {message}")
            }
        }
    }
}

impl std::error::Error for WktError {}

/// WKT geometry types that are well-formed but not areas.
const OTHER_TYPES: [&str; 12] = [
    "POINT",
    "LINESTRING",
    "MULTIPOINT",
    "MULTILINESTRING",
    "GEOMETRYCOLLECTION",
    "CIRCULARSTRING",
    "COMPOUNDCURVE",
    "CURVEPOLYGON",
    "MULTICURVE",
    "MULTISURFACE",
    "TRIANGLE",
    "TIN",
];

/// Parses a WKT `POLYGON` or `MULTIPOLYGON` (keywords in any case, an
/// optional `Z`, `M` or `ZM` tag, or `EMPTY`) into its polygons: one for a
/// POLYGON, one per member for a MULTIPOLYGON, none for `EMPTY`.
///
/// Positions keep their x and y only (a Z or M value is read and dropped).
/// Every ring must have at least four positions and end where it starts.
/// Coordinate ranges are not checked here: an out-of-range value may be a
/// swapped axis, which [`area_axis_order`] decides.
pub fn parse_wkt(text: &str) -> Result<Vec<Polygon>, WktError> {
    let mut p = WktParser {
        chars: text.chars().collect(),
        pos: 0,
        dims: None,
    };
    p.skip_ws();
    let start = p.pos;
    let keyword = p.word();
    let multi = match keyword.as_str() {
        "POLYGON" => false,
        "MULTIPOLYGON" => true,
        "" => return Err(p.error_here("expected a WKT geometry such as POLYGON((x y, …))")),
        other if OTHER_TYPES.contains(&other) => {
            return Err(WktError::Unsupported {
                kind: other.to_string(),
            })
        }
        other => {
            return Err(WktError::Malformed {
                column: start + 1,
                message: format!("expected POLYGON or MULTIPOLYGON, found {other:?}"),
            })
        }
    };
    p.skip_ws();
    let tag_start = p.pos;
    let mut tag = p.word();
    if !tag.is_empty() && tag != "EMPTY" {
        p.dims = match tag.as_str() {
            "Z" | "M" => Some(3),
            "ZM" => Some(4),
            _ => {
                return Err(WktError::Malformed {
                    column: tag_start + 1,
                    message: format!("expected '(', Z, M, ZM or EMPTY, found {tag:?}"),
                })
            }
        };
        p.skip_ws();
        tag = p.word();
    }
    let polygons = if tag == "EMPTY" {
        Vec::new()
    } else if !tag.is_empty() {
        return Err(p.error_at(p.pos - tag.chars().count(), "expected '('"));
    } else if multi {
        p.list(|p| p.polygon())?
    } else {
        vec![p.polygon()?]
    };
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error_here("unexpected text after the end of the geometry"));
    }
    Ok(polygons)
}

struct WktParser {
    chars: Vec<char>,
    pos: usize,
    /// Numbers per position fixed by a Z/M/ZM tag; otherwise 2 to 4.
    dims: Option<usize>,
}

impl WktParser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .to_ascii_uppercase()
    }

    /// `'x'` or `the end of the text`: what is at `pos`.
    fn describe(&self, pos: usize) -> String {
        match self.chars.get(pos) {
            Some(c) => format!("{c:?}"),
            None => "the end of the text".to_string(),
        }
    }

    fn error_at(&self, pos: usize, expected: &str) -> WktError {
        WktError::Malformed {
            column: pos + 1,
            message: format!("{expected}, found {}", self.describe(pos)),
        }
    }

    fn error_here(&self, expected: &str) -> WktError {
        self.error_at(self.pos, expected)
    }

    fn expect(&mut self, c: char) -> Result<(), WktError> {
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error_here(&format!("expected {c:?}")))
        }
    }

    /// `( item , item , … )`
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, WktError>,
    ) -> Result<Vec<T>, WktError> {
        self.expect('(')?;
        let mut items = vec![item(self)?];
        loop {
            self.skip_ws();
            match self.chars.get(self.pos) {
                Some(',') => {
                    self.pos += 1;
                    items.push(item(self)?);
                }
                Some(')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.error_here("expected ',' or ')'")),
            }
        }
    }

    fn polygon(&mut self) -> Result<Polygon, WktError> {
        self.skip_ws();
        self.list(|p| p.ring())
    }

    fn ring(&mut self) -> Result<Ring, WktError> {
        self.skip_ws();
        let start = self.pos;
        let ring = self.list(|p| p.position())?;
        if ring.len() < 4 {
            return Err(WktError::Malformed {
                column: start + 1,
                message: format!(
                    "a ring needs at least 4 positions (the last repeating the first), this one has {}",
                    ring.len()
                ),
            });
        }
        let (first, last) = (ring[0], ring[ring.len() - 1]);
        if first != last {
            return Err(WktError::Malformed {
                column: start + 1,
                message: format!(
                    "the ring is not closed: it starts at {} and ends at {}",
                    fmt_position(first),
                    fmt_position(last)
                ),
            });
        }
        Ok(ring)
    }

    fn position(&mut self) -> Result<Position, WktError> {
        let mut numbers = Vec::with_capacity(4);
        loop {
            self.skip_ws();
            match self.chars.get(self.pos) {
                Some(c) if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => {
                    numbers.push(self.number()?);
                    if !matches!(self.chars.get(self.pos), None | Some(',' | ')'))
                        && !self.chars[self.pos].is_whitespace()
                    {
                        return Err(self.error_here("expected a space, ',' or ')' after a number"));
                    }
                }
                _ => break,
            }
        }
        let (min, max) = match self.dims {
            Some(n) => (n, n),
            None => (2, 4),
        };
        if numbers.len() < min || numbers.len() > max {
            let expected = if min == max {
                format!("expected a position of {min} numbers")
            } else {
                format!("expected a position of {min} to {max} numbers separated by spaces")
            };
            return Err(WktError::Malformed {
                column: self.pos + 1,
                message: format!(
                    "{expected}, found {} before {}",
                    numbers.len(),
                    self.describe(self.pos)
                ),
            });
        }
        Ok([numbers[0], numbers[1]])
    }

    /// `[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit before
    /// the exponent; no `NaN` or `inf`.
    fn number(&mut self) -> Result<f64, WktError> {
        let start = self.pos;
        let at = |p: &Self, i: usize| p.chars.get(i).copied();
        let mut i = self.pos;
        if matches!(at(self, i), Some('-' | '+')) {
            i += 1;
        }
        let mut digits = 0;
        while at(self, i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
            digits += 1;
        }
        if at(self, i) == Some('.') {
            i += 1;
            while at(self, i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            self.pos = start;
            return Err(self.error_here("expected a number"));
        }
        if matches!(at(self, i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(at(self, j), Some('-' | '+')) {
                j += 1;
            }
            let exp_start = j;
            while at(self, j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            if j == exp_start {
                self.pos = j;
                return Err(self.error_here("expected the exponent's digits"));
            }
            i = j;
        }
        let text: String = self.chars[start..i].iter().collect();
        self.pos = i;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(WktError::Malformed {
                column: start + 1,
                message: format!("the number {text} is out of range"),
            }),
        }
    }
}

/// `-84.1 33.9`, as WKT writes a position.
pub fn fmt_position(p: Position) -> String {
    format!("{} {}", p[0], p[1])
}

/// The GeoJSON geometry for `polygons`: a `Polygon` for one, a
/// `MultiPolygon` for several, `None` for none.
pub fn to_geojson(polygons: &[Polygon]) -> Option<Value> {
    let rings = |polygon: &Polygon| -> Value {
        Value::Array(
            polygon
                .iter()
                .map(|ring| Value::Array(ring.iter().map(|p| json!([p[0], p[1]])).collect()))
                .collect(),
        )
    };
    match polygons {
        [] => None,
        [one] => Some(json!({"type": "Polygon", "coordinates": rings(one)})),
        many => Some(json!({
            "type": "MultiPolygon",
            "coordinates": many.iter().map(rings).collect::<Vec<_>>(),
        })),
    }
}

/// Reads the rings of a GeoJSON `Polygon` or `MultiPolygon` geometry
/// object. `Err` says what is wrong; other geometry types give `Ok(None)`.
pub fn from_geojson(geometry: &Value) -> Result<Option<Vec<Polygon>>, String> {
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let coordinates = geometry.get("coordinates");
    let polygon = |value: &Value| -> Result<Polygon, String> {
        let rings = value
            .as_array()
            .ok_or("a polygon must be an array of rings")?;
        let mut out = Vec::with_capacity(rings.len());
        for ring in rings {
            let positions = ring
                .as_array()
                .ok_or("a ring must be an array of positions")?;
            let mut r = Vec::with_capacity(positions.len());
            for p in positions {
                match p.as_array().map(Vec::as_slice) {
                    Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                        (Some(x), Some(y)) => r.push([x, y]),
                        _ => return Err("a position must hold numbers".into()),
                    },
                    _ => return Err("a position must be an array of 2 or 3 numbers".into()),
                }
            }
            if r.len() < 4 || r.first() != r.last() {
                return Err("a ring must have at least 4 positions and end where it starts".into());
            }
            out.push(r);
        }
        if out.is_empty() {
            return Err("a polygon needs at least one ring".into());
        }
        Ok(out)
    };
    match (kind, coordinates) {
        ("Polygon", Some(c)) => Ok(Some(vec![polygon(c)?])),
        ("MultiPolygon", Some(c)) => {
            let members = c
                .as_array()
                .ok_or("MultiPolygon coordinates must be an array")?;
            members
                .iter()
                .map(polygon)
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        ("Polygon" | "MultiPolygon", None) => Err(format!("the {kind} has no coordinates")),
        _ => Ok(None),
    }
}

/// Whether `p` is a longitude/latitude position: finite, longitude within
/// ±180 and latitude within ±90.
pub fn in_range(p: Position) -> bool {
    p[0].is_finite() && p[1].is_finite() && p[0].abs() <= 180.0 && p[1].abs() <= 90.0
}

/// `p` with its axes exchanged.
pub fn swapped(p: Position) -> Position {
    [p[1], p[0]]
}

/// Exchanges the axes of every position of `polygons`.
pub fn swap_polygons(polygons: &mut [Polygon]) {
    for p in polygons.iter_mut().flatten().flatten() {
        *p = swapped(*p);
    }
}

/// Whether `p` (longitude, latitude) could lie in the country, for the
/// countries whose extent tells the axes apart; `None` for the others.
///
/// - `US`: latitude -15 to 72 (American Samoa to Alaska), longitude -180
///   to -64 or 144 to 180 (Guam, the Aleutians).
/// - `CA`: latitude 41 to 84, longitude -142 to -52.
pub fn plausible_in_country(country: &str, p: Position) -> Option<bool> {
    let [lng, lat] = p;
    match country.trim().to_ascii_uppercase().as_str() {
        "US" | "USA" => Some(
            (-15.0..=72.0).contains(&lat)
                && ((-180.0..=-64.0).contains(&lng) || (144.0..=180.0).contains(&lng)),
        ),
        "CA" | "CAN" => Some((41.0..=84.0).contains(&lat) && (-142.0..=-52.0).contains(&lng)),
        _ => None,
    }
}

/// Whether positions are in longitude/latitude order or swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisOrder {
    AsGiven,
    Swapped,
}

/// Decides the axis order of an area's positions (read as WKT's x y).
///
/// - All in range as given, not all when swapped: as given.
/// - Not all in range as given, all when swapped: swapped.
/// - In range both ways (|x| and |y| ≤ 90): the country decides when its
///   extent tells (`plausible_in_country`): swapped only if the positions
///   all lie in it swapped and not as given; otherwise as given, the
///   standard order.
/// - In range neither way: `Err` naming a position out of range, or, when
///   some positions are valid only as given and others only swapped, both.
pub fn area_axis_order(polygons: &[Polygon], country: Option<&str>) -> Result<AxisOrder, String> {
    let positions = || polygons.iter().flatten().flatten().copied();
    let given_ok = positions().all(in_range);
    let swapped_ok = positions().all(|p| in_range(swapped(p)));
    match (given_ok, swapped_ok) {
        (true, false) => Ok(AxisOrder::AsGiven),
        (false, true) => Ok(AxisOrder::Swapped),
        (true, true) => Ok(by_country(positions, country)),
        (false, false) => {
            let only_swapped = positions().find(|p| !in_range(*p) && in_range(swapped(*p)));
            let only_given = positions().find(|p| in_range(*p) && !in_range(swapped(*p)));
            match (only_swapped, only_given) {
                (Some(a), Some(b)) => Err(format!(
                    "mixes axis orders: {} is valid only as latitude/longitude and {} only as longitude/latitude",
                    fmt_position(a),
                    fmt_position(b)
                )),
                _ => {
                    let bad = positions().find(|p| !in_range(*p) && !in_range(swapped(*p)));
                    let bad = bad.or_else(|| positions().find(|p| !in_range(*p))).unwrap_or([f64::NAN; 2]);
                    Err(format!(
                        "has the position {} out of range in either axis order (longitude -180 to 180, latitude -90 to 90)",
                        fmt_position(bad)
                    ))
                }
            }
        }
    }
}

fn by_country<I: Iterator<Item = Position>>(
    positions: impl Fn() -> I,
    country: Option<&str>,
) -> AxisOrder {
    let Some(country) = country else {
        return AxisOrder::AsGiven;
    };
    let all = |f: &dyn Fn(Position) -> Option<bool>| positions().all(|p| f(p) == Some(true));
    let given = all(&|p| plausible_in_country(country, p));
    let swapped_fits = all(&|p| plausible_in_country(country, swapped(p)));
    if !given && swapped_fits {
        AxisOrder::Swapped
    } else {
        AxisOrder::AsGiven
    }
}

/// A bounding box: `min` and `max` corners, as `[longitude, latitude]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min: Position,
    pub max: Position,
}

impl BBox {
    /// Whether `p` lies within the box grown on every side by the larger
    /// of [`POINT_MARGIN_DEGREES`] and the box's own width and height.
    pub fn near(&self, p: Position) -> bool {
        let margin = POINT_MARGIN_DEGREES
            .max(self.max[0] - self.min[0])
            .max(self.max[1] - self.min[1]);
        (0..2).all(|i| p[i] >= self.min[i] - margin && p[i] <= self.max[i] + margin)
    }
}

/// The bounding box of every position of `polygons`; `None` if there are
/// none.
pub fn bbox(polygons: &[Polygon]) -> Option<BBox> {
    let mut positions = polygons.iter().flatten().flatten();
    let first = *positions.next()?;
    Some(positions.fold(
        BBox {
            min: first,
            max: first,
        },
        |b, p| BBox {
            min: [b.min[0].min(p[0]), b.min[1].min(p[1])],
            max: [b.max[0].max(p[0]), b.max[1].max(p[1])],
        },
    ))
}

/// Decides the axis order of a reference point (`longitude`/`latitude`
/// fields).
///
/// With a work area (already in longitude/latitude order), the point must
/// agree with it ([`BBox::near`]): as given if it does, swapped if only the
/// swapped point does, `Err` if neither. Without an area, the rules of
/// [`area_axis_order`] apply to the point alone.
pub fn point_axis_order(
    point: Position,
    area: Option<&BBox>,
    country: Option<&str>,
) -> Result<AxisOrder, String> {
    let Some(area) = area else {
        return area_axis_order(&[vec![vec![point]]], country).map_err(|_| {
            format!(
                "({}) is out of range in either axis order",
                fmt_position(point)
            )
        });
    };
    if in_range(point) && area.near(point) {
        Ok(AxisOrder::AsGiven)
    } else if in_range(swapped(point)) && area.near(swapped(point)) {
        Ok(AxisOrder::Swapped)
    } else {
        Err(format!(
            "({}) is far from the work area (longitude {} to {}, latitude {} to {}) in either axis order",
            fmt_position(point),
            area.min[0],
            area.max[0],
            area.min[1],
            area.max[1]
        ))
    }
}

/// The area-weighted centroid of `polygons` (holes subtracted), as
/// `[longitude, latitude]`, computed in degrees (planar, which is exact
/// enough at a work site's scale). Degenerate areas (zero surface) fall
/// back to the average of the outer rings' distinct vertices. `None`
/// without positions.
pub fn centroid(polygons: &[Polygon]) -> Option<Position> {
    let (mut area_sum, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for polygon in polygons {
        for (i, ring) in polygon.iter().enumerate() {
            let (a, x, y) = ring_moments(ring);
            // Outer rings add, holes subtract, whatever their winding.
            let sign = if (i == 0) == (a >= 0.0) { 1.0 } else { -1.0 };
            area_sum += sign * a;
            cx += sign * x;
            cy += sign * y;
        }
    }
    if area_sum.abs() > 1e-18 {
        let c = [cx / (3.0 * area_sum), cy / (3.0 * area_sum)];
        if in_range(c) {
            return Some(c);
        }
    }
    let vertices: Vec<Position> = polygons
        .iter()
        .filter_map(|p| p.first())
        // The closing position repeats the first: leave it out.
        .flat_map(|ring| ring.split_last().map_or(&[][..], |(_, rest)| rest))
        .copied()
        .collect();
    if vertices.is_empty() {
        return None;
    }
    let n = vertices.len() as f64;
    Some([
        vertices.iter().map(|p| p[0]).sum::<f64>() / n,
        vertices.iter().map(|p| p[1]).sum::<f64>() / n,
    ])
}

/// By the shoelace formula: twice the ring's signed area `a`, and `x`, `y`
/// such that the ring's centroid is `(x / 3a, y / 3a)`. Sums are taken
/// relative to the first vertex, which keeps the precision that absolute
/// degrees (-84.16…) would lose on a work site's tiny area.
fn ring_moments(ring: &[Position]) -> (f64, f64, f64) {
    let Some(&origin) = ring.first() else {
        return (0.0, 0.0, 0.0);
    };
    let (mut a, mut x, mut y) = (0.0, 0.0, 0.0);
    for w in ring.windows(2) {
        let (x0, y0) = (w[0][0] - origin[0], w[0][1] - origin[1]);
        let (x1, y1) = (w[1][0] - origin[0], w[1][1] - origin[1]);
        let cross = x0 * y1 - x1 * y0;
        a += cross;
        x += (x0 + x1) * cross;
        y += (y0 + y1) * cross;
    }
    // Back to absolute coordinates: the moment about the origin plus the
    // origin times the (doubled) area, with the factor 3 of the formula.
    (a, x + 3.0 * origin[0] * a, y + 3.0 * origin[1] * a)
}

/// `value` rounded to 6 decimal places (about 11 cm), the precision the
/// Open Ticket specification recommends.
pub fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, size: f64) -> Ring {
        vec![
            [x, y],
            [x + size, y],
            [x + size, y + size],
            [x, y + size],
            [x, y],
        ]
    }

    #[test]
    fn parses_polygons_and_multipolygons_in_any_case_and_spacing() {
        let one = parse_wkt("POLYGON((-84.1 33.9,-84.09 33.9,-84.09 33.91,-84.1 33.9))").unwrap();
        assert_eq!(
            one,
            vec![vec![vec![
                [-84.1, 33.9],
                [-84.09, 33.9],
                [-84.09, 33.91],
                [-84.1, 33.9]
            ]]]
        );
        let spaced = parse_wkt(
            " polygon ( ( 0 0 , 1 0 , 1 1 , 0 0 ) , (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1) ) ",
        )
        .unwrap();
        assert_eq!(spaced[0].len(), 2);
        let multi = parse_wkt("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))").unwrap();
        assert_eq!(multi.len(), 2);
        let z = parse_wkt("POLYGON Z((0 0 1,1 0 1,1 1 1,0 0 1))").unwrap();
        assert_eq!(z[0][0][1], [1.0, 0.0]);
        assert_eq!(
            parse_wkt("MULTIPOLYGON EMPTY").unwrap(),
            Vec::<Polygon>::new()
        );
        assert_eq!(
            parse_wkt("POLYGON((1e1 -2.5E-1,+3 .5,4. 0,1e1 -2.5E-1))").unwrap()[0][0][0],
            [10.0, -0.25]
        );
    }

    #[test]
    fn reports_where_the_text_is_wrong() {
        let err = |t: &str| parse_wkt(t).unwrap_err().to_string();
        assert_eq!(
            err("POLYGON((0 0,1 0,1 1,0 0)"),
            "at character 26: expected ',' or ')', found the end of the text"
        );
        assert_eq!(
            err("POLYGON((0 0,1 0,1 1,2 2))"),
            "at character 9: the ring is not closed: it starts at 0 0 and ends at 2 2"
        );
        assert_eq!(err("POLYGON((0 0,1 0,0 0))"), "at character 9: a ring needs at least 4 positions (the last repeating the first), this one has 3");
        assert_eq!(err("POLYGON((0 0,1 x,1 1,0 0))"), "at character 16: expected a position of 2 to 4 numbers separated by spaces, found 1 before 'x'");
        assert_eq!(
            err("POLYGON((0 0,1 0,1 1,0 0))</x>"),
            "at character 27: unexpected text after the end of the geometry, found '<'"
        );
        assert_eq!(
            err("SQUARE((0 0))"),
            "at character 1: expected POLYGON or MULTIPOLYGON, found \"SQUARE\""
        );
        assert_eq!(
            err("POLYGON((0 0,1e999 0,1 1,0 0))"),
            "at character 14: the number 1e999 is out of range"
        );
        assert_eq!(
            err("POLYGON((0 0,1.2.3 0,1 1,0 0))"),
            "at character 17: expected a space, ',' or ')' after a number, found '.'"
        );
        assert_eq!(
            err("POLYGON((- 0,1 0,1 1,0 0))"),
            "at character 10: expected a number, found '-'"
        );
        assert_eq!(
            err("POLYGON Z((0 0,1 0,1 1,0 0))"),
            "at character 15: expected a position of 3 numbers, found 2 before ','"
        );
        assert_eq!(
            parse_wkt("LINESTRING(0 0,1 1)"),
            Err(WktError::Unsupported {
                kind: "LINESTRING".into()
            })
        );
    }

    #[test]
    fn geojson_is_a_polygon_for_one_and_a_multipolygon_for_several() {
        let one = to_geojson(&[vec![square(0.0, 0.0, 1.0)]]).unwrap();
        assert_eq!(one["type"], "Polygon");
        assert_eq!(integrity_domain::ticket::validate_area(&one), Ok(()));
        let two = to_geojson(&[vec![square(0.0, 0.0, 1.0)], vec![square(5.0, 5.0, 1.0)]]).unwrap();
        assert_eq!(two["type"], "MultiPolygon");
        assert_eq!(integrity_domain::ticket::validate_area(&two), Ok(()));
        assert_eq!(to_geojson(&[]), None);
        assert_eq!(from_geojson(&two).unwrap().unwrap().len(), 2);
        assert_eq!(
            from_geojson(&serde_json::json!({"type": "Point", "coordinates": [1, 2]})),
            Ok(None)
        );
    }

    #[test]
    fn centroid_is_area_weighted_and_subtracts_holes() {
        let c = centroid(&[vec![square(0.0, 0.0, 2.0)]]).unwrap();
        assert_eq!(c, [1.0, 1.0]);
        // A big square at the origin and a small one far away.
        let c = centroid(&[vec![square(0.0, 0.0, 2.0)], vec![square(10.0, 0.0, 1.0)]]).unwrap();
        assert!(
            (c[0] - (4.0 * 1.0 + 1.0 * 10.5) / 5.0).abs() < 1e-9,
            "{c:?}"
        );
        // A hole in the right half pulls the centroid left.
        let mut hole = square(1.5, 0.5, 0.25);
        hole.reverse();
        let c = centroid(&[vec![square(0.0, 0.0, 2.0), hole]]).unwrap();
        assert!(c[0] < 1.0 && (c[1] - 1.0).abs() < 0.1, "{c:?}");
        // Degenerate: all on a line.
        let line = vec![vec![vec![[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [0.0, 0.0]]]];
        assert_eq!(centroid(&line), Some([2.0, 0.0]));
    }

    #[test]
    fn axis_order_follows_ranges_then_the_country() {
        let ga = vec![square(-84.2, 33.9, 0.01)];
        assert_eq!(
            area_axis_order(std::slice::from_ref(&ga), Some("US")),
            Ok(AxisOrder::AsGiven)
        );
        let mut swapped_ga = vec![ga.clone()];
        swap_polygons(&mut swapped_ga);
        // -84.2 is a valid latitude: only the country tells.
        assert_eq!(area_axis_order(&swapped_ga, None), Ok(AxisOrder::AsGiven));
        assert_eq!(
            area_axis_order(&swapped_ga, Some("us")),
            Ok(AxisOrder::Swapped)
        );
        // Latitude 120 is out of range: swapped whatever the country.
        let shanghai_swapped = vec![vec![square(31.2, 121.4, 0.01)]];
        assert_eq!(
            area_axis_order(&shanghai_swapped, None),
            Ok(AxisOrder::Swapped)
        );
        // Pennsylvania swapped is in range both ways; the country tells.
        let mut pa = vec![vec![square(40.36, -79.93, 0.01)]];
        assert_eq!(area_axis_order(&pa, Some("US")), Ok(AxisOrder::Swapped));
        assert_eq!(area_axis_order(&pa, None), Ok(AxisOrder::AsGiven));
        assert_eq!(area_axis_order(&pa, Some("FR")), Ok(AxisOrder::AsGiven));
        pa[0][0][1] = [200.0, 100.0];
        assert!(area_axis_order(&pa, None)
            .unwrap_err()
            .contains("200 100 out of range"));
        let mixed = vec![vec![vec![
            [-120.0, 35.0],
            [35.0, -120.0],
            [-120.0, 35.1],
            [-120.0, 35.0],
        ]]];
        assert!(area_axis_order(&mixed, None)
            .unwrap_err()
            .starts_with("mixes axis orders"));
    }

    #[test]
    fn points_must_agree_with_the_area() {
        let b = bbox(&[vec![square(-79.935, 40.359, 0.012)]]).unwrap();
        assert_eq!(
            point_axis_order([-79.93, 40.36], Some(&b), None),
            Ok(AxisOrder::AsGiven)
        );
        assert_eq!(
            point_axis_order([40.364853, -79.928986], Some(&b), None),
            Ok(AxisOrder::Swapped)
        );
        assert!(point_axis_order([-75.0, 40.0], Some(&b), None)
            .unwrap_err()
            .contains("far from the work area"));
        assert_eq!(
            point_axis_order([40.36, -79.93], None, Some("US")),
            Ok(AxisOrder::Swapped)
        );
        assert_eq!(
            point_axis_order([-79.93, 40.36], None, Some("US")),
            Ok(AxisOrder::AsGiven)
        );
        assert!(point_axis_order([400.0, 400.0], None, None).is_err());
    }
}
