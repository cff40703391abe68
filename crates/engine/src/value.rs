//! The values a key can hold.

use bytes::Bytes;

/// A key's value. The collection types arrive with their families.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (also integers and floats, which Redis stores as strings).
    Str(Bytes),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }
}
