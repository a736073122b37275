//! The demo account: real Georgia 811 and Lone Star 811 response codes
//! (see `data/README.md` for their sources), custom fields of every type,
//! and a few hundred generated tickets shaped like the call centers'
//! published samples. Names, phones and addresses are invented.

use std::net::SocketAddr;

use anyhow::Context;
use integrity_domain::manifest::Manifest;
use integrity_domain::ticket::parse_intake;
use integrity_domain::time::{format_millis, now_millis};
use integrity_store::{PreparedIntake, Store, TicketFilter};
use serde_json::{json, Value};

const MANIFEST: &str = include_str!("../demo/manifest.json");
pub const SUBDOMAIN: &str = "demo";
/// The demo admin's key, installed by the demo manifest. It is public: use
/// the demo account for local trials only.
pub const TOKEN: &str = "itg_demo_token_for_local_trials_only";
const TICKETS: usize = 300;

pub struct Demo {
    tickets_created: usize,
    georgia_id: i64,
    sample_number: String,
}

/// Applies the demo manifest (idempotent) and, when the account has no
/// tickets yet, takes in the generated ones.
pub async fn provision(store: &Store) -> anyhow::Result<Demo> {
    let manifest =
        Manifest::from_json(MANIFEST).map_err(|e| anyhow::anyhow!("demo manifest: {e}"))?;
    store.apply(&manifest).await?;
    let account = store
        .account_by_subdomain(SUBDOMAIN)
        .await?
        .context("demo account missing after apply")?;
    let centers = store.call_centers(account).await?;
    let georgia = centers
        .iter()
        .find(|c| c.name == "Georgia 811")
        .context("Georgia 811")?;
    let texas = centers
        .iter()
        .find(|c| c.name == "Lone Star 811")
        .context("Lone Star 811")?;
    let existing = store
        .tickets(
            account,
            &TicketFilter {
                per_page: 1,
                ..Default::default()
            },
        )
        .await?;
    let mut created = 0;
    if existing.tickets.is_empty() {
        let mut generator = Generator::new(811_2026, now_millis());
        let mut tickets = Vec::with_capacity(TICKETS);
        for i in 0..TICKETS {
            let ticket = if i % 3 == 2 {
                generator.texas(texas.id, i)
            } else {
                generator.georgia(georgia.id, i)
            };
            let intake =
                parse_intake(ticket).map_err(|e| anyhow::anyhow!("generated demo ticket: {e}"))?;
            tickets.push(PreparedIntake::new(intake, None)?);
        }
        for outcome in store.intake_batch(account, &tickets).await? {
            outcome.map_err(|e| anyhow::anyhow!("generated demo ticket: {e}"))?;
            created += 1;
        }
    }
    let sample = store
        .tickets(
            account,
            &TicketFilter {
                per_page: 1,
                call_center_id: Some(georgia.id),
                ..Default::default()
            },
        )
        .await?;
    Ok(Demo {
        tickets_created: created,
        georgia_id: georgia.id,
        sample_number: sample
            .tickets
            .first()
            .map(|t| t.content.ticket_number.clone())
            .unwrap_or_default(),
    })
}

impl Demo {
    pub fn print_welcome(&self, address: SocketAddr) {
        let base = format!("http://{address}");
        if self.tickets_created > 0 {
            println!(
                "Demo account {SUBDOMAIN:?} provisioned with {} tickets.",
                self.tickets_created
            );
        } else {
            println!(
                "Demo account {SUBDOMAIN:?} is ready (tickets were created on an earlier start)."
            );
        }
        println!("API key of the demo admin: {TOKEN}");
        println!("Try:");
        println!("  curl -H 'Authorization: Token token=\"{TOKEN}\"' {base}/call_centers");
        println!(
            "  curl -H 'Authorization: Token token=\"{TOKEN}\"' {base}/tickets/by_center/{}/by_number/{}",
            self.georgia_id, self.sample_number
        );
        println!("  curl -H 'Authorization: Token token=\"{TOKEN}\"' '{base}/tickets?status=unassigned&per_page=5'");
    }
}

/// A small deterministic generator (SplitMix64), so the demo data is the
/// same on every machine.
struct Generator {
    state: u64,
    now: i64,
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

const EXCAVATORS: [(&str, &str); 8] = [
    ("Contractor", "Example Septic Co"),
    ("Contractor", "Shovel Inc"),
    ("Contractor", "Red Clay Grading LLC"),
    ("Utility", "Peach State Fiber"),
    ("Contractor", "Lone Oak Fence Builders"),
    ("Homeowner", "Pat Sample"),
    ("Contractor", "Bluebonnet Irrigation"),
    ("Municipality", "City Water Department"),
];
const WORK_TYPES: [&str; 10] = [
    "replacing septic field lines",
    "installing fence posts",
    "installing fiber optic cable",
    "replacing damaged handholes",
    "planting trees",
    "installing irrigation system",
    "water service repair",
    "installing gas service line",
    "road widening",
    "building foundation",
];
const DURATIONS: [&str; 5] = ["1 day", "3 days", "1 week", "2 weeks", "1 month"];
const FIRST: [&str; 8] = [
    "Jack", "Corey", "Bill", "Jane", "Sam", "Alex", "Robin", "Terry",
];
const LAST: [&str; 8] = [
    "Pot",
    "Ander",
    "Ding",
    "Roe",
    "Sample",
    "Example",
    "Placeholder",
    "Doe",
];

struct Place {
    city: &'static str,
    county: &'static str,
    state: &'static str,
    lng: f64,
    lat: f64,
    streets: [&'static str; 4],
}

const GEORGIA: [Place; 3] = [
    Place {
        city: "Duluth",
        county: "Gwinnett",
        state: "GA",
        lng: -84.1446,
        lat: 34.0029,
        streets: [
            "Tree Summit Pkwy",
            "Summit Ridge Pkwy",
            "Pleasant Hill Rd",
            "Buford Hwy",
        ],
    },
    Place {
        city: "Lawrenceville",
        county: "Gwinnett",
        state: "GA",
        lng: -83.9880,
        lat: 33.9562,
        streets: [
            "Grayson Hwy",
            "Sugarloaf Pkwy",
            "Pike St",
            "Collins Hill Rd",
        ],
    },
    Place {
        city: "Norcross",
        county: "Gwinnett",
        state: "GA",
        lng: -84.2135,
        lat: 33.9412,
        streets: [
            "Jimmy Carter Blvd",
            "Holcomb Bridge Rd",
            "Oak Rd",
            "Peachtree Industrial Blvd",
        ],
    },
];
const TEXAS: [Place; 2] = [
    Place {
        city: "Austin",
        county: "Travis",
        state: "TX",
        lng: -97.7431,
        lat: 30.2672,
        streets: ["Burnet Rd", "Lamar Blvd", "Parmer Ln", "Anderson Mill Rd"],
    },
    Place {
        city: "Round Rock",
        county: "Williamson",
        state: "TX",
        lng: -97.6789,
        lat: 30.5083,
        streets: [
            "Gattis School Rd",
            "Mays St",
            "Palm Valley Blvd",
            "Sam Bass Rd",
        ],
    },
];

impl Generator {
    fn new(seed: u64, now: i64) -> Self {
        Generator { state: seed, now }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn person(&mut self) -> String {
        format!("{} {}", self.pick(&FIRST), self.pick(&LAST))
    }

    fn phone(&mut self) -> String {
        // 555-01xx numbers are reserved for fiction.
        format!("555-555-01{:02}", self.below(100))
    }

    fn georgia(&mut self, center: i64, i: usize) -> Value {
        let taken = self.now - (self.below(14 * 24) as i64) * HOUR;
        let number = format!("{}-{:06}", chrono_date(taken), 1000 + i);
        let area = ["DEMOGA01", "DEMOGA02", "DEMOGA03"][i % 3];
        let kind = match self.below(20) {
            0 => "Emergency",
            1 => "Large Project",
            2 => "Design",
            _ => "Normal",
        };
        let others = ["GAUPC", "BXXX", "GWXXX", "JCXXX", "ATL03"];
        let place = &GEORGIA[i % 3];
        self.ticket(center, number, kind, area, &others, place, taken, 2 * DAY)
    }

    fn texas(&mut self, center: i64, i: usize) -> Value {
        let taken = self.now - (self.below(14 * 24) as i64) * HOUR;
        let number = format!("24{:08}", 70_000_000 + i * 7);
        let area = ["DEMOTX01", "DEMOTX02"][i % 2];
        let kind = match self.below(10) {
            0 => "Emergency",
            1 => "Short Notice",
            2 => "Update",
            _ => "Routine",
        };
        let others = ["ATMOS01", "AUSTINENERGY", "TWC02"];
        let place = &TEXAS[i % 2];
        self.ticket(center, number, kind, area, &others, place, taken, 2 * DAY)
    }

    #[allow(clippy::too_many_arguments)]
    fn ticket(
        &mut self,
        center: i64,
        number: String,
        kind: &str,
        area: &str,
        others: &[&str],
        place: &Place,
        taken: i64,
        notice: i64,
    ) -> Value {
        let (excavator_type, excavator) = *self.pick(&EXCAVATORS);
        let street = *self.pick(&place.streets);
        let house = 100 + self.below(9000);
        let lng = place.lng + (self.unit() - 0.5) * 0.08;
        let lat = place.lat + (self.unit() - 0.5) * 0.08;
        let half = 0.0004 + self.unit() * 0.0008;
        let ring = json!([
            [lng - half, lat - half],
            [lng + half, lat - half],
            [lng + half, lat + half],
            [lng - half, lat + half],
            [lng - half, lat - half]
        ]);
        let mut additional: Vec<&str> = Vec::new();
        for _ in 0..self.below(4) {
            let other = *self.pick(others);
            if !additional.contains(&other) {
                additional.push(other);
            }
        }
        let emergency = kind == "Emergency";
        let start = taken + if emergency { 2 * HOUR } else { notice + DAY };
        let due = if emergency {
            taken + 2 * HOUR
        } else {
            taken + notice
        };
        let contact = self.person();
        json!({
            "ticket_number": number,
            "reference_ticket_number": if self.chance(10) { Value::from(format!("{number}-R")) } else { Value::Null },
            "sequence_number": 1 + self.below(400),
            "ticket_type": kind,
            "ticket_action": if self.chance(85) { "NEW" } else { "UPDATE" },
            "ticket_source": *self.pick(&["Voice", "Web", "Mobile", "Email"]),
            "service_area": area,
            "additional_service_areas": additional,
            "taken_at": format_millis(taken),
            "work_start_at": format_millis(start),
            "response_due_at": format_millis(due),
            "remarks": if self.chance(40) { Value::from("CALLER REQUESTS MARKS BEFORE 9AM") } else { Value::Null },
            "excavator": {
                "type": excavator_type,
                "name": excavator,
                "address": format!("{} {}, {}, {}", 100 + self.below(900), place.streets[0], place.city, place.state),
                "phone": self.phone(),
                "contact": {"name": contact, "phone": self.phone(), "email": format!("{}@example.com", contact.to_lowercase().replace(' ', "."))},
                "alt_contact": {"name": self.person(), "phone": self.phone()},
                "caller": {"name": contact, "phone": self.phone(), "email": ""},
            },
            "work": {
                "type": *self.pick(&WORK_TYPES),
                "address": format!("{house} {street}, {}, {} County, {}", place.city, place.county, place.state),
                "nearby_street": *self.pick(&place.streets),
                "subdivision": if self.chance(30) { Value::from("Central Park") } else { Value::Null },
                "done_for": self.person(),
                "duration": *self.pick(&DURATIONS),
                "driving_directions": Value::Null,
                "locate_instructions": "LOCATE THE FRONT AND BACK RIGHT OF HOUSE INCLUDING R/O/W",
                "explosives": self.chance(2),
                "white_painted": self.chance(30),
                "deeper_than_16_inches": if self.chance(50) { Value::from(self.chance(50)) } else { Value::Null },
                "overhead": self.chance(10),
                "tunneling_or_boring": self.chance(20),
                "area": {"type": "Polygon", "coordinates": [ring]},
            },
            "call_center": {"id": center},
            "lat": (lat * 1e6).round() / 1e6,
            "lng": (lng * 1e6).round() / 1e6,
        })
    }
}

/// `YYMMDD` of a timestamp, as Georgia 811 numbers its tickets.
fn chrono_date(ms: i64) -> String {
    format_millis(ms)
        .get(2..10)
        .map(|d| d.replace('-', ""))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tickets_pass_intake_validation() {
        let mut generator = Generator::new(7, 1_700_000_000_000);
        for i in 0..60 {
            let ticket = if i % 3 == 2 {
                generator.texas(2, i)
            } else {
                generator.georgia(1, i)
            };
            parse_intake(ticket).expect("valid generated ticket");
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let a = Generator::new(7, 1_700_000_000_000).georgia(1, 0);
        let b = Generator::new(7, 1_700_000_000_000).georgia(1, 0);
        assert_eq!(a, b);
    }

    #[test]
    fn the_demo_manifest_is_valid() {
        let manifest = Manifest::from_json(MANIFEST).unwrap();
        assert_eq!(manifest.accounts[0].subdomain, SUBDOMAIN);
        assert!(manifest.accounts[0].users[0]
            .api_tokens
            .contains(&TOKEN.to_string()));
    }
}
