//! The work area: a GeoJSON Polygon or MultiPolygon in WGS 84.

use geojson::{Geometry, Position, Value};

/// Checks that `area` is a GeoJSON Polygon or MultiPolygon whose rings are
/// closed, have at least four positions, and stay within longitude ±180 and
/// latitude ±90. Returns the message to show under `work.area`.
pub fn validate_area(area: &serde_json::Value) -> Result<(), String> {
    let geometry = Geometry::from_json_value(area.clone())
        .map_err(|e| format!("is not valid GeoJSON: {e}"))?;
    let polygons: Vec<&Vec<Vec<Position>>> = match &geometry.value {
        Value::Polygon(rings) => vec![rings],
        Value::MultiPolygon(polygons) => polygons.iter().collect(),
        other => {
            return Err(format!(
                "must be a GeoJSON Polygon or MultiPolygon, not {}",
                other.type_name()
            ))
        }
    };
    if polygons.is_empty() {
        return Err("must contain at least one polygon".into());
    }
    for rings in polygons {
        if rings.is_empty() {
            return Err("has a polygon without rings".into());
        }
        for ring in rings {
            check_ring(ring)?;
        }
    }
    Ok(())
}

fn check_ring(ring: &[Position]) -> Result<(), String> {
    if ring.len() < 4 {
        return Err("has a ring with fewer than 4 positions".into());
    }
    for position in ring {
        let (lng, lat) = match position.as_slice() {
            [lng, lat] | [lng, lat, _] => (*lng, *lat),
            _ => return Err("has a position without exactly 2 or 3 numbers".into()),
        };
        if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
            return Err(format!("has a longitude out of range (-180 to 180): {lng}"));
        }
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(format!("has a latitude out of range (-90 to 90): {lat}"));
        }
    }
    if ring.first() != ring.last() {
        return Err("has a ring that is not closed (first and last positions differ)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square() -> serde_json::Value {
        json!([
            [-84.1, 33.9],
            [-84.09, 33.9],
            [-84.09, 33.91],
            [-84.1, 33.9]
        ])
    }

    #[test]
    fn accepts_polygons_and_multipolygons() {
        assert_eq!(
            validate_area(&json!({"type": "Polygon", "coordinates": [square()]})),
            Ok(())
        );
        assert_eq!(
            validate_area(
                &json!({"type": "MultiPolygon", "coordinates": [[square()], [square()]]})
            ),
            Ok(())
        );
    }

    #[test]
    fn rejects_other_geometries_and_broken_rings() {
        let point = json!({"type": "Point", "coordinates": [-84.1, 33.9]});
        assert!(validate_area(&point).unwrap_err().contains("Polygon"));
        let open = json!({"type": "Polygon", "coordinates": [[[-84.1, 33.9], [-84.09, 33.9], [-84.09, 33.91], [-84.0, 33.9]]]});
        assert!(validate_area(&open).unwrap_err().contains("not closed"));
        let off_earth = json!({"type": "Polygon", "coordinates": [[[-120.0, 95.0], [-120.0, 96.0], [-121.0, 96.0], [-120.0, 95.0]]]});
        assert!(validate_area(&off_earth).unwrap_err().contains("latitude"));
        assert!(validate_area(&json!("nonsense")).is_err());
    }
}
