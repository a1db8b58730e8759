//! A stand-in for a generated enumeration type, shared by the codec tests and benchmark.

use bitrix_runtime::types::EnumValue;

/// Items 81 and 82, and the fallback for any other id.
#[derive(Debug, Clone, PartialEq)]
pub enum Color {
    /// Item 81.
    Red,
    /// Item 82.
    Green,
    /// An id the "snapshot" does not know.
    Other(String),
}

impl EnumValue for Color {
    fn from_id(id: &str) -> Self {
        match id {
            "81" => Color::Red,
            "82" => Color::Green,
            other => Color::Other(other.to_owned()),
        }
    }

    fn id(&self) -> &str {
        match self {
            Color::Red => "81",
            Color::Green => "82",
            Color::Other(id) => id,
        }
    }
}
