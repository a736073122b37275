//! Custom field types as the documentation numbers them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    SingleLine,
    MultiLine,
    Url,
    Integer,
    Float,
    Date,
    Boolean,
    Dropdown,
    CascadingDropdown,
    Multiselect,
    CascadingMultiselect,
}

impl FieldType {
    pub const ALL: [FieldType; 11] = [
        FieldType::SingleLine,
        FieldType::MultiLine,
        FieldType::Url,
        FieldType::Integer,
        FieldType::Float,
        FieldType::Date,
        FieldType::Boolean,
        FieldType::Dropdown,
        FieldType::CascadingDropdown,
        FieldType::Multiselect,
        FieldType::CascadingMultiselect,
    ];

    pub fn from_id(id: i64) -> Option<FieldType> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    pub fn id(self) -> i64 {
        Self::ALL
            .iter()
            .position(|t| *t == self)
            .map_or(0, |i| i as i64 + 1)
    }

    /// Types 8–11 carry options.
    pub fn has_options(self) -> bool {
        matches!(
            self,
            FieldType::Dropdown
                | FieldType::CascadingDropdown
                | FieldType::Multiselect
                | FieldType::CascadingMultiselect
        )
    }

    /// Only cascading types may nest options inside options.
    pub fn allows_nested_options(self) -> bool {
        matches!(
            self,
            FieldType::CascadingDropdown | FieldType::CascadingMultiselect
        )
    }
}

/// A custom field's option with its children (cascading types only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionNode {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub options: Vec<OptionNode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_for_all_eleven_types() {
        for (i, t) in FieldType::ALL.iter().enumerate() {
            assert_eq!(t.id(), i as i64 + 1);
            assert_eq!(FieldType::from_id(t.id()), Some(*t));
        }
        assert_eq!(FieldType::from_id(0), None);
        assert_eq!(FieldType::from_id(12), None);
    }
}
