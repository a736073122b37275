//! Enumerations the API sends as strings. A newer server may send a value
//! this client does not know yet; it is kept in `Other` instead of failing
//! the whole response.

/// Declares a string enumeration with an `Other(String)` fallback, its
/// `as_str`, `Display`, `From<&str>` and serde in both directions.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the client does not know, as sent.
            Other(String),
        }

        impl $name {
            /// The value as the API writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::from(text.as_ref()))
            }
        }
    };
}

pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    wire_enum! {
        pub enum Colour {
            Red = "red",
        }
    }

    #[test]
    fn unknown_values_survive_a_round_trip() {
        let known: Colour = serde_json::from_str("\"red\"").unwrap();
        assert_eq!(known, Colour::Red);
        let unknown: Colour = serde_json::from_str("\"mauve\"").unwrap();
        assert_eq!(unknown, Colour::Other("mauve".into()));
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"mauve\"");
        assert_eq!(Colour::Red.to_string(), "red");
    }
}
