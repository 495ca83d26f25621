//! Small serde helpers for the shapes of API.md.

use serde::{Deserialize, Deserializer};

/// For fields where "absent" and `null` mean different things: absent is
/// `None` (leave unchanged, with `#[serde(default)]`), `null` is `Some(None)`
/// (clear), a value is `Some(Some(v))`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// For a nullable field that must still be present (`{"assignee_id": null}`
/// unassigns; a body without the key is a mistake, not an unassign).
pub fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}
