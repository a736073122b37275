#![no_main]
//! Any bytes: a ticket or an error, never a panic; format detection too.

use integrity_intake::{detect, parse, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect(data, None);
    if let Ok(parsed) = parse(Format::UsanXml, data) {
        // What a parser returns must pass the API's own checks on areas.
        if let Some(area) = &parsed.content.work.area {
            assert!(
                integrity_domain_area_ok(area),
                "invalid area from a parser: {area}"
            );
        }
    }
});

fn integrity_domain_area_ok(area: &serde_json::Value) -> bool {
    integrity_domain::ticket::validate_area(area).is_ok()
}
