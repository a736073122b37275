//! A JSON document read into values that borrow its text.
//!
//! The Open Ticket parser reads a document's fields once, by name, and
//! keeps the rest for the history. serde_json's `Value` owns every string
//! and indexes every object in a hashed map: building and dropping that
//! was most of the parse. Here objects are lists searched by name (an Open
//! Ticket object has a few dozen keys at most), and strings without escapes
//! stay slices of the document. Only what is kept is turned into `Value`.
//!
//! An object with a repeated key reads as serde_json reads it: the key in
//! its first place, with its last value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// Keys in the order they first appeared, each once.
#[derive(Default)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

/// Past this many keys an object being read finds repeated keys through a
/// hash map rather than by scanning: a hostile document cannot make the
/// read quadratic.
const SCAN_LIMIT: usize = 16;

impl<'a> Object<'a> {
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &Json<'a>> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Json<'a>)> {
        self.0.iter_mut().map(|(k, v)| (&**k, v))
    }

    /// Builds an object from entries in document order, repeated keys
    /// keeping their first place and their last value.
    pub fn from_entries(entries: impl IntoIterator<Item = (Cow<'a, str>, Json<'a>)>) -> Self {
        let mut builder = ObjectBuilder::default();
        for (key, value) in entries {
            builder.push(key, value);
        }
        builder.object
    }

    pub fn into_entries(self) -> Vec<(Cow<'a, str>, Json<'a>)> {
        self.0
    }
}

/// An object being read, entry by entry.
#[derive(Default)]
struct ObjectBuilder<'a> {
    object: Object<'a>,
    /// Where each key is, once the object is past [`SCAN_LIMIT`] keys.
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> ObjectBuilder<'a> {
    fn push(&mut self, key: Cow<'a, str>, value: Json<'a>) {
        let entries = &mut self.object.0;
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => entries.iter().position(|(k, _)| *k == key),
        };
        if let Some(i) = found {
            entries[i].1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), entries.len());
        }
        entries.push((key, value));
        if self.index.is_none() && entries.len() > SCAN_LIMIT {
            let index = entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i));
            self.index = Some(index.collect());
        }
    }
}

impl<'a> Json<'a> {
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(object) => object.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The value as serde_json's, for what is kept.
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.as_ref().to_owned()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        // JSON text has no NaN or infinity; serde_json's Value makes any
        // such number null, and so does this.
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut builder = ObjectBuilder::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            builder.push(key, map.next_value()?);
        }
        Ok(Json::Object(builder.object))
    }
}

/// A key, borrowed from the document when it has no escapes.
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Json<'_> {
        serde_json::from_str(text).unwrap()
    }

    /// JSON text of the tree as it is, entry by entry: unlike
    /// [`Json::to_value`], it would show a key kept twice.
    fn text_of(json: &Json<'_>) -> String {
        let quoted = |s: &str| serde_json::to_string(s).unwrap();
        match json {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => quoted(s),
            Json::Array(items) => {
                let items: Vec<String> = items.iter().map(text_of).collect();
                format!("[{}]", items.join(","))
            }
            Json::Object(object) => {
                let entries: Vec<String> = object
                    .iter()
                    .map(|(k, v)| format!("{}:{}", quoted(k), text_of(v)))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }
        }
    }

    #[test]
    fn reads_as_serde_json_does() {
        let texts = [
            r#"{"a": [1, -2, 3.5, true, null, "x\"y"], "b": {"c": "\u00e9"}, "d": 18446744073709551615}"#,
            r#"{"k": 1, "j": 2, "k": 3}"#,
            r#"[{"": ""}, [], {}]"#,
        ];
        for text in texts {
            let expected: Value = serde_json::from_str(text).unwrap();
            let expected = serde_json::to_string(&expected).unwrap();
            assert_eq!(text_of(&read(text)), expected, "{text}");
            assert_eq!(
                serde_json::to_string(&read(text).to_value()).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn strings_without_escapes_borrow_the_text() {
        let text = r#"{"plain": "abc", "escaped": "a\nb"}"#;
        let json = read(text);
        assert!(matches!(
            json.get("plain"),
            Some(Json::String(Cow::Borrowed("abc")))
        ));
        assert!(matches!(
            json.get("escaped"),
            Some(Json::String(Cow::Owned(_)))
        ));
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_last_value_in_large_objects_too() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\": {i}, "));
        }
        text.push_str("\"k3\": \"last\", \"k90\": null}");
        let json = read(&text);
        let Json::Object(object) = &json else {
            panic!("an object")
        };
        let keys: Vec<&str> = object.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 100);
        assert_eq!((keys[3], keys[90]), ("k3", "k90"));
        assert_eq!(json.get("k3").and_then(Json::as_str), Some("last"));
        assert!(json.get("k90").is_some_and(Json::is_null));
    }

    /// JSON text with repeated keys (a small alphabet of them), objects
    /// past the scan limit, escapes and every kind of value.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let string = |chars: &'static str| {
            proptest::string::string_regex(chars)
                .unwrap()
                .prop_map(|s| serde_json::to_string(&s).unwrap())
        };
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (-1e300f64..1e300).prop_map(|f| format!("{f:e}")),
            string("[a-c \\\"\u{0}é\n]{0,4}"),
        ];
        leaf.prop_recursive(4, 96, 24, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((string("[a-e\\u{0}]{0,2}"), inner), 0..24).prop_map(
                    |entries| {
                        let entries: Vec<String> =
                            entries.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                        format!("{{{}}}", entries.join(","))
                    }
                ),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_json_reads_as_serde_json_reads_it(text in json_text()) {
            let expected: Value = serde_json::from_str(&text).unwrap();
            let json: Json = serde_json::from_str(&text).unwrap();
            let expected = serde_json::to_string(&expected).unwrap();
            proptest::prop_assert_eq!(text_of(&json), expected.clone());
            proptest::prop_assert_eq!(serde_json::to_string(&json.to_value()).unwrap(), expected);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        assert!(serde_json::from_str::<Json>(&text).is_err());
    }
}
