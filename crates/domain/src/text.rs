//! Text and ids (RULES.md "Text and ids"): what any typed text may hold, and
//! which ids a client may choose.
//!
//! Text is refused, never silently altered, when it holds a control
//! character other than tab and newline: a NUL cannot be stored by every
//! database, and a bell or an escape in a subject is a mistake the person
//! should hear about. The one rewrite is `\r\n` to `\n`, so a text pasted
//! from another system reads the same everywhere.
//!
//! Ids that clients make are UUID v7 (v4 accepted). The ids the server makes
//! for its own timeline entries are v5, derived from what they belong to, so
//! refusing every other version from clients means no client can take an id
//! the server will need later.

use uuid::{Uuid, Version};

use crate::refusal::Refusal;

/// `text` as stored: `\r\n` becomes `\n`; any other control character but
/// tab and newline is refused with `invalid` naming `field`.
pub fn clean_text(field: &str, text: &str) -> Result<String, Refusal> {
    let normalized = text.replace("\r\n", "\n");
    if let Some((at, bad)) = normalized
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && *c != '\t' && *c != '\n')
    {
        return Err(Refusal::invalid(
            field,
            format!(
                "the {field} holds a control character (U+{:04X}) at character {}: remove it; only tab and newline are allowed",
                u32::from(bad),
                at + 1
            ),
        ));
    }
    Ok(normalized)
}

/// Refuses an id a client chose unless it is a UUID v7 or v4.
pub fn check_client_id(field: &str, id: Uuid) -> Result<(), Refusal> {
    match id.get_version() {
        Some(Version::SortRand) | Some(Version::Random) => Ok(()),
        _ => Err(Refusal::invalid(
            field,
            format!(
                "{id} is a UUID of version {}: ids made by a client are UUID v7 (v4 accepted)",
                id.get_version_num()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_and_newline_pass_and_crlf_becomes_newline() {
        assert_eq!(
            clean_text("comment", "a\tb\r\nc\n").as_deref(),
            Ok("a\tb\nc\n")
        );
    }

    #[test]
    fn nul_bell_escape_and_lone_carriage_return_are_refused_naming_the_field() {
        for bad in [
            "a\u{0}b",
            "ding\u{7}",
            "\u{1b}[31mred",
            "a\rb",
            "\u{85}next line",
        ] {
            let refusal = clean_text("subject", bad).expect_err(bad);
            assert_eq!(refusal.code, crate::RefusalCode::Invalid, "{bad:?}");
            assert!(
                refusal.fields.contains_key("subject"),
                "{bad:?} names the field"
            );
        }
    }

    #[test]
    fn only_v7_and_v4_ids_are_a_clients_to_choose() {
        assert!(check_client_id("id", Uuid::now_v7()).is_ok());
        assert!(check_client_id("id", Uuid::new_v4()).is_ok());
        let v5 = Uuid::new_v5(&Uuid::NAMESPACE_OID, b"sla_breached/resolution");
        assert!(check_client_id("id", v5).is_err(), "v5 is the server's own");
        assert!(check_client_id("id", Uuid::nil()).is_err());
        let v1 = Uuid::parse_str("6ba7b810-9dad-11d1-80b4-00c04fd430c8").expect("v1 literal");
        assert!(check_client_id("id", v1).is_err());
    }
}
