//! Multifields (`crm_multifield`): the phones, e-mails, websites, messengers and links of
//! leads, contacts and companies, and the typed operations that change them.

use std::fmt;

/// The kind of a multifield (`PHONE`, `EMAIL`, ...) as a Rust type: the value-type enum of
/// its `VALUE_TYPE` ([`PhoneType`], [`EmailType`], [`WebType`], [`ImType`], [`LinkType`]), or
/// [`AnyMultifieldType`] for `fm` of `crm.item.*` and multifield codes the runtime does not
/// know.
pub trait MultifieldKind:
    Clone + fmt::Debug + PartialEq + Eq + std::hash::Hash + Send + Sync + 'static
{
    /// The `TYPE_ID` of every value of this kind (`Some("PHONE")`); `None` for the any-kind,
    /// whose values carry their own.
    const TYPE_ID: Option<&'static str>;

    /// The kind of a value read from the wire: its `TYPE_ID` (when the wire gave one) and its
    /// `VALUE_TYPE`. Never fails: a value type the runtime does not know is kept as text.
    fn from_wire(type_id: Option<&str>, value_type: &str) -> Self;

    /// The `VALUE_TYPE` as the portal writes it (`WORK`).
    fn value_type(&self) -> &str;

    /// The `TYPE_ID` of this value (`PHONE`); `None` when unknown (an any-kind value read
    /// without one).
    fn type_id(&self) -> Option<&str> {
        Self::TYPE_ID
    }
}

macro_rules! value_types {
    ($(
        $(#[$doc:meta])* $name:ident => $type_id:literal { $($(#[$vdoc:meta])* $variant:ident => $wire:literal,)* }
    )*) => {$(
        $(#[$doc])*
        ///
        /// A value type the portal adds later is kept in `Custom` (nothing is lost on a
        /// read-modify-write).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value type this version does not list, as the portal wrote it.
            Custom(String),
        }

        impl $name {
            /// Every listed value type, in the documentation's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The value type as the portal writes it (`WORK`).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Custom(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            /// Case-insensitive, blanks trimmed; unlisted texts give `Custom` (as given).
            fn from(text: &str) -> Self {
                let t = crate::text::trim(text);
                $(if t.eq_ignore_ascii_case($wire) {
                    return $name::$variant;
                })*
                $name::Custom(text.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl MultifieldKind for $name {
            const TYPE_ID: Option<&'static str> = Some($type_id);

            fn from_wire(_type_id: Option<&str>, value_type: &str) -> Self {
                $name::from(value_type)
            }

            fn value_type(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}

value_types! {
    /// `VALUE_TYPE` of a phone (`PHONE`).
    PhoneType => "PHONE" {
        /// `WORK`.
        Work => "WORK",
        /// `MOBILE`.
        Mobile => "MOBILE",
        /// `FAX`.
        Fax => "FAX",
        /// `HOME`.
        Home => "HOME",
        /// `PAGER`.
        Pager => "PAGER",
        /// `MAILING`.
        Mailing => "MAILING",
        /// `OTHER`.
        Other => "OTHER",
    }
    /// `VALUE_TYPE` of an e-mail address (`EMAIL`).
    EmailType => "EMAIL" {
        /// `WORK`.
        Work => "WORK",
        /// `HOME`.
        Home => "HOME",
        /// `MAILING`.
        Mailing => "MAILING",
        /// `OTHER`.
        Other => "OTHER",
    }
    /// `VALUE_TYPE` of a website (`WEB`).
    WebType => "WEB" {
        /// `WORK`.
        Work => "WORK",
        /// `HOME`.
        Home => "HOME",
        /// `FACEBOOK`.
        Facebook => "FACEBOOK",
        /// `VK`.
        Vk => "VK",
        /// `LIVEJOURNAL`.
        LiveJournal => "LIVEJOURNAL",
        /// `TWITTER`.
        Twitter => "TWITTER",
        /// `OTHER`.
        Other => "OTHER",
    }
    /// `VALUE_TYPE` of a messenger account (`IM`).
    ImType => "IM" {
        /// `FACEBOOK`.
        Facebook => "FACEBOOK",
        /// `TELEGRAM`.
        Telegram => "TELEGRAM",
        /// `VK`.
        Vk => "VK",
        /// `SKYPE`.
        Skype => "SKYPE",
        /// `VIBER`.
        Viber => "VIBER",
        /// `INSTAGRAM`.
        Instagram => "INSTAGRAM",
        /// `BITRIX24`.
        Bitrix24 => "BITRIX24",
        /// `OPENLINE`.
        OpenLine => "OPENLINE",
        /// `IMOL`.
        Imol => "IMOL",
        /// `ICQ`.
        Icq => "ICQ",
        /// `MSN`.
        Msn => "MSN",
        /// `JABBER`.
        Jabber => "JABBER",
        /// `OTHER`.
        Other => "OTHER",
    }
    /// `VALUE_TYPE` of a link (`LINK`).
    LinkType => "LINK" {
        /// `USER`.
        User => "USER",
        /// `OTHER`.
        Other => "OTHER",
    }
}

/// The kind of a multifield value whose `TYPE_ID` is not fixed by its field: the entries of
/// `fm` on `crm.item.*`, and multifields with codes the runtime does not know. Both texts are
/// kept as the portal wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AnyMultifieldType {
    /// `TYPE_ID` / `typeId` (`PHONE`); empty when the wire gave none.
    pub type_id: String,
    /// `VALUE_TYPE` / `valueType` (`WORK`).
    pub value_type: String,
}

impl AnyMultifieldType {
    /// A kind from its `TYPE_ID` and `VALUE_TYPE`.
    pub fn new(type_id: impl Into<String>, value_type: impl Into<String>) -> Self {
        AnyMultifieldType {
            type_id: type_id.into(),
            value_type: value_type.into(),
        }
    }
}

impl MultifieldKind for AnyMultifieldType {
    const TYPE_ID: Option<&'static str> = None;

    fn from_wire(type_id: Option<&str>, value_type: &str) -> Self {
        AnyMultifieldType::new(type_id.unwrap_or(""), value_type)
    }

    fn value_type(&self) -> &str {
        &self.value_type
    }

    fn type_id(&self) -> Option<&str> {
        (!self.type_id.is_empty()).then_some(self.type_id.as_str())
    }
}

/// One stored multifield value, as `get`/`list` return it: legacy
/// `{"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7...", "TYPE_ID": "PHONE"}` or
/// `crm.item.*` `{"id": 12, "valueType": "WORK", "value": "+7...", "typeId": "PHONE"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Multifield<K> {
    /// The value's id (`ID`): what [`MultifieldOps::change`] and [`MultifieldOps::delete`]
    /// take. `None` when the portal sent none.
    pub id: Option<u64>,
    /// The value type (`WORK`, `MOBILE`, ...).
    pub value_type: K,
    /// The phone number, address, URL or account.
    pub value: String,
}

/// One typed write of a multifield; see [`MultifieldOps`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MultifieldOp<K> {
    /// Adds a value.
    Add {
        /// The value type.
        value_type: K,
        /// The value.
        value: String,
    },
    /// Replaces the stored value with this id.
    Change {
        /// The stored value's id ([`Multifield::id`]).
        id: u64,
        /// The new value type.
        value_type: K,
        /// The new value.
        value: String,
    },
    /// Deletes the stored value with this id.
    Delete {
        /// The stored value's id ([`Multifield::id`]).
        id: u64,
    },
}

/// Typed writes of one multifield: values to add, stored values (by id) to change or delete.
/// Values not named stay as they are.
///
/// Serialized the way the portal requires, so the rules cannot be got wrong: on
/// `crm.<entity>.add/update` a list of `{"VALUE": .., "VALUE_TYPE": ..}` (an add),
/// `{"ID": id, "VALUE": .., "VALUE_TYPE": ..}` (a change) and `{"ID": id, "VALUE": ""}` (a
/// delete), as `crm-contact-update.md` documents; on `crm.item.*` entries of `fm` keyed `n0`,
/// `n1`, ... (adds) or by the id (changes, deletes with an empty `value`).
///
/// A change without an id cannot be written. What the type cannot prevent is refused before
/// any request is sent (as [`Error::InvalidRequest`](crate::Error::InvalidRequest)): an id of
/// 0, two operations on the same id, an add or change with an empty value (an empty value
/// deletes: use [`delete`](Self::delete)), and changes or deletes in a create payload (a new
/// record has no stored values).
///
/// ```
/// use bitrix_runtime::types::{MultifieldOps, PhoneType};
///
/// let ops = MultifieldOps::new()
///     .add(PhoneType::Mobile, "+49 30 1234567")
///     .change(223, PhoneType::Work, "+49 30 7654321")
///     .delete(224);
/// assert_eq!(ops.ops().len(), 3);
/// let adds: MultifieldOps<PhoneType> = vec![(PhoneType::Work, "+1 555 0100")].into();
/// assert!(adds.only_adds());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultifieldOps<K> {
    ops: Vec<MultifieldOp<K>>,
}

impl<K> Default for MultifieldOps<K> {
    fn default() -> Self {
        MultifieldOps { ops: Vec::new() }
    }
}

impl<K: MultifieldKind> MultifieldOps<K> {
    /// No operation yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value.
    pub fn add(mut self, value_type: K, value: impl Into<String>) -> Self {
        self.ops.push(MultifieldOp::Add {
            value_type,
            value: value.into(),
        });
        self
    }

    /// Replaces the stored value `id` ([`Multifield::id`]).
    pub fn change(mut self, id: u64, value_type: K, value: impl Into<String>) -> Self {
        self.ops.push(MultifieldOp::Change {
            id,
            value_type,
            value: value.into(),
        });
        self
    }

    /// Deletes the stored value `id` ([`Multifield::id`]).
    pub fn delete(mut self, id: u64) -> Self {
        self.ops.push(MultifieldOp::Delete { id });
        self
    }

    /// The operations, in the order they were given.
    pub fn ops(&self) -> &[MultifieldOp<K>] {
        &self.ops
    }

    /// Whether no operation was given.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether every operation is an add (what a create payload may hold).
    pub fn only_adds(&self) -> bool {
        self.ops
            .iter()
            .all(|op| matches!(op, MultifieldOp::Add { .. }))
    }

    /// Why these operations cannot be sent, if they cannot (see the type's documentation).
    pub fn check(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for op in &self.ops {
            let (id, value) = match op {
                MultifieldOp::Add { value, .. } => (None, Some(value)),
                MultifieldOp::Change { id, value, .. } => (Some(*id), Some(value)),
                MultifieldOp::Delete { id } => (Some(*id), None),
            };
            if let Some(id) = id {
                if id == 0 {
                    return Err("a multifield change or delete names value id 0, which no stored value has; take the id from the record's multifield (Multifield::id)".into());
                }
                if !ids.insert(id) {
                    return Err(format!(
                        "the multifield value {id} is changed or deleted twice in one write; give one operation per stored value"
                    ));
                }
            }
            if value.is_some_and(|v| crate::text::trim(v).is_empty()) {
                return Err("a multifield add or change has an empty value, which the portal reads as a delete or ignores; use MultifieldOps::delete(id) to delete a value".into());
            }
        }
        Ok(())
    }
}

impl<K: MultifieldKind, V: Into<String>> From<Vec<(K, V)>> for MultifieldOps<K> {
    /// Adds every value.
    fn from(values: Vec<(K, V)>) -> Self {
        values.into_iter().collect()
    }
}

impl<K: MultifieldKind, V: Into<String>, const N: usize> From<[(K, V); N]> for MultifieldOps<K> {
    /// Adds every value.
    fn from(values: [(K, V); N]) -> Self {
        values.into_iter().collect()
    }
}

impl<K: MultifieldKind, V: Into<String>> From<(K, V)> for MultifieldOps<K> {
    /// Adds one value.
    fn from((value_type, value): (K, V)) -> Self {
        MultifieldOps::new().add(value_type, value)
    }
}

impl<K: MultifieldKind, V: Into<String>> FromIterator<(K, V)> for MultifieldOps<K> {
    /// Adds every value.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(values: I) -> Self {
        values
            .into_iter()
            .fold(MultifieldOps::new(), |ops, (k, v)| ops.add(k, v))
    }
}
