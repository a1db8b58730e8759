//! The three states of a field in an update payload.

/// One field of an update payload (`DealPatch`): left alone, cleared, or set.
///
/// Only touched fields (`Clear` or `Set`) are sent to `crm.*.update`; the server keeps every
/// other field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Patch<T> {
    /// Not sent: the portal keeps the current value.
    #[default]
    Unset,
    /// Sent as the empty value (`""`, or `[]` for multiple fields): the portal clears the field.
    Clear,
    /// Sent with this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether this field will be sent.
    pub fn is_touched(&self) -> bool {
        !matches!(self, Patch::Unset)
    }

    /// The value to be set, if any.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets the value, `None` clears the field.
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        }
    }
}
