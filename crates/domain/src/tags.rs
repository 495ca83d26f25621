//! Tags (RULES.md "Working faster"): short words an agent puts on a
//! ticket, filtered in every view and counted per tag.
//!
//! A tag is 1–40 characters of letters, digits, `-` and `_`, stored
//! lower-case; a ticket keeps its tags sorted, each once. Stores keep them
//! beside the ticket as one text column ([`column`]: ` vip refund `, a space
//! before and after each), so a filter is a `LIKE` every reader writes the
//! same way ([`TagFilter::like_patterns`]).

use serde::{Deserialize, Serialize};

use crate::refusal::Refusal;
use crate::ticket::Ticket;

/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 40;
/// Most tags one ticket may carry.
pub const TAGS_PER_TICKET: usize = 20;

/// A tag as stored: trimmed, a leading `#` dropped, lower-case, 1–40
/// letters, digits, `-` or `_`.
pub fn clean_tag(tag: &str) -> Result<String, Refusal> {
    let tag = tag.trim();
    let tag = tag.strip_prefix('#').unwrap_or(tag).to_lowercase();
    if tag.is_empty() {
        return Err(Refusal::invalid("tags", "a tag cannot be empty"));
    }
    let chars = tag.chars().count();
    if chars > TAG_MAX_CHARS {
        return Err(Refusal::invalid(
            "tags",
            format!("the tag \"{tag}\" is {chars} characters; a tag has at most {TAG_MAX_CHARS}"),
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(Refusal::invalid(
            "tags",
            format!(
                "the tag \"{tag}\" holds {bad:?}: a tag is letters, digits, '-' and '_' (write \"late-delivery\", not \"late delivery\")"
            ),
        ));
    }
    Ok(tag)
}

/// Tags as stored, each cleaned, sorted, once.
pub fn clean_tags<S: AsRef<str>>(tags: &[S]) -> Result<Vec<String>, Refusal> {
    let mut out = tags
        .iter()
        .map(|t| clean_tag(t.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// A ticket's tags after a change, and what really moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    pub tags: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What a set of tags becomes after adding `add` and removing `remove`
/// (both cleaned), and what really changed.
pub fn change(current: &[String], add: &[String], remove: &[String]) -> Result<TagChange, Refusal> {
    if let Some(both) = add.iter().find(|t| remove.contains(t)) {
        return Err(Refusal::invalid(
            "tags",
            format!("the tag \"{both}\" is both added and removed: name it once"),
        ));
    }
    let added: Vec<String> = add
        .iter()
        .filter(|t| !current.contains(t))
        .cloned()
        .collect();
    let removed: Vec<String> = remove
        .iter()
        .filter(|t| current.contains(t))
        .cloned()
        .collect();
    let mut tags: Vec<String> = current
        .iter()
        .filter(|t| !removed.contains(t))
        .chain(added.iter())
        .cloned()
        .collect();
    tags.sort();
    tags.dedup();
    if tags.len() > TAGS_PER_TICKET {
        return Err(Refusal::invalid(
            "tags",
            format!(
                "a ticket carries at most {TAGS_PER_TICKET} tags; this would make {}: remove some first",
                tags.len()
            ),
        ));
    }
    Ok(TagChange {
        tags,
        added,
        removed,
    })
}

/// The stores' tag column for `tags`: each tag with a space before and
/// after (` vip refund `), or empty.
pub fn column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(" {} ", tags.join(" "))
    }
}

/// A list's tag filter: tickets carrying any of `any_of` (when named) and
/// none of `none_of`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TagFilter {
    #[serde(default)]
    pub any_of: Vec<String>,
    #[serde(default)]
    pub none_of: Vec<String>,
}

impl TagFilter {
    /// A filter from the words a person or a query string gave, cleaned.
    pub fn new<S: AsRef<str>>(any_of: &[S], none_of: &[S]) -> Result<TagFilter, Refusal> {
        Ok(TagFilter {
            any_of: clean_tags(any_of)?,
            none_of: clean_tags(none_of)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.any_of.is_empty() && self.none_of.is_empty()
    }

    /// Whether `ticket` passes the filter.
    pub fn matches(&self, ticket: &Ticket) -> bool {
        (self.any_of.is_empty() || self.any_of.iter().any(|t| ticket.tags.contains(t)))
            && !self.none_of.iter().any(|t| ticket.tags.contains(t))
    }

    /// The `LIKE` patterns over [`column`] for each list (`ESCAPE '\'`):
    /// a ticket passes when the column matches one of the first (if any)
    /// and none of the second.
    pub fn like_patterns(&self) -> (Vec<String>, Vec<String>) {
        let pattern = |t: &String| format!("% {} %", t.replace('_', "\\_"));
        (
            self.any_of.iter().map(pattern).collect(),
            self.none_of.iter().map(pattern).collect(),
        )
    }
}

/// One of the team's tags and how many tickets not closed carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

/// Counts per tag over stores' tag columns ([`column`]), most used first.
pub fn counts<I, S>(columns: I) -> Vec<TagCount>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut by_tag: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for c in columns {
        for tag in c.as_ref().split_whitespace() {
            *by_tag.entry(tag.to_owned()).or_default() += 1;
        }
    }
    let mut out: Vec<TagCount> = by_tag
        .into_iter()
        .map(|(tag, count)| TagCount { tag, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_cleaned_to_one_lower_case_word() {
        assert_eq!(clean_tag("  #VIP ").expect("ok"), "vip");
        assert_eq!(clean_tag("late-delivery_2").expect("ok"), "late-delivery_2");
        assert_eq!(clean_tag("Ünïcode").expect("ok"), "ünïcode");
        let spaced = clean_tag("late delivery").expect_err("space");
        assert!(spaced.message.contains("late-delivery"), "{spaced:?}");
        assert!(clean_tag("").is_err());
        assert!(clean_tag("#").is_err());
        assert!(clean_tag("a,b").is_err());
        assert!(clean_tag(&"x".repeat(40)).is_ok());
        assert!(clean_tag(&"x".repeat(41)).is_err());
        assert_eq!(
            clean_tags(&["b", "A", "a"]).expect("ok"),
            vec!["a".to_owned(), "b".to_owned()]
        );
    }

    #[test]
    fn a_change_says_only_what_moved() {
        let now = vec!["a".to_owned(), "b".to_owned()];
        let c = change(&now, &["b".into(), "c".into()], &["a".into(), "z".into()]).expect("ok");
        assert_eq!(c.tags, vec!["b".to_owned(), "c".to_owned()]);
        assert_eq!(c.added, vec!["c".to_owned()]);
        assert_eq!(c.removed, vec!["a".to_owned()]);
        assert!(change(&now, &["a".into()], &["a".into()]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(change(&[], &many, &[]).is_err());
    }

    #[test]
    fn the_column_and_patterns_find_whole_tags_only() {
        let col = column(&["vip".into(), "vip_2".into()]);
        assert_eq!(col, " vip vip_2 ");
        assert_eq!(column(&[]), "");
        let f = TagFilter::new(&["vip_2"], &["x"]).expect("ok");
        let (any, none) = f.like_patterns();
        assert_eq!(any, vec!["% vip\\_2 %".to_owned()]);
        assert_eq!(none, vec!["% x %".to_owned()]);
        let counted = counts([" a b ", " b ", ""]);
        assert_eq!(
            counted[0],
            TagCount {
                tag: "b".into(),
                count: 2
            }
        );
        assert_eq!(
            counted[1],
            TagCount {
                tag: "a".into(),
                count: 1
            }
        );
    }
}
