//! The filters a viewer without `customers.view_pii` may use.
//!
//! Whatever runs over personal fields is an oracle: a search that answers "found" or
//! "not found" for `q=ada@` spells out an address a letter at a time, an attribute
//! filter on `email` does the same, and a list sorted by name places each masked row
//! between its neighbours. So for such a viewer the search finds customers by internal
//! id only (`1042`, `cio_1042`, `#1042`), the attribute filter runs over non-personal
//! keys only, and the list is not sorted by name. What was asked and not applied is
//! reported, so the page can say so plainly instead of quietly answering something
//! else.

use super::{CustomerFilter, CustomerSort};
use crate::domain::PersonalData;

/// What a viewer asked for that their role does not allow, and that was left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Withheld {
    /// A search that is not an internal id.
    pub search: bool,
    /// An attribute filter on a personal key.
    pub attribute: bool,
    /// The sort by name.
    pub name_sort: bool,
}

impl Withheld {
    pub fn any(&self) -> bool {
        self.search || self.attribute || self.name_sort
    }

    /// Each thing left out, in words for the page.
    pub fn notices(&self) -> Vec<&'static str> {
        let mut notices = Vec::new();
        if self.search {
            notices.push(
                "Your search was not applied: without “See personal data” you can search by \
                 internal id only (e.g. 1042 or cio_1042), not by name, email, phone or external id.",
            );
        }
        if self.attribute {
            notices.push(
                "Your attribute filter was not applied: that attribute is personal data, which \
                 your role may not filter by.",
            );
        }
        if self.name_sort {
            notices.push("Sorting by name needs “See personal data”: the list is sorted by last seen.");
        }
        notices
    }
}

/// `1042`, `cio_1042` or `#1042` as an internal id.
pub fn parse_internal_id(q: &str) -> Option<i64> {
    let digits = q
        .strip_prefix("cio_")
        .or_else(|| q.strip_prefix("CIO_"))
        .or_else(|| q.strip_prefix('#'))
        .unwrap_or(q);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|id| *id > 0)
}

impl CustomerFilter {
    /// The same filters with every criterion over personal data left out, and what was
    /// left out. A search for an internal id becomes a match on that id.
    pub fn without_personal_criteria(&self, rule: &PersonalData) -> (CustomerFilter, Withheld) {
        let mut withheld = Withheld::default();
        let mut filter = self.clone();
        if let Some(q) = filter.q.take() {
            match parse_internal_id(&q) {
                Some(id) => filter.id = Some(id),
                None => withheld.search = true,
            }
        }
        if filter
            .attr
            .as_ref()
            .is_some_and(|a| rule.is_personal_key(a.key()))
        {
            filter.attr = None;
            withheld.attribute = true;
        }
        filter.attr_skips_identifying = filter.attr.is_some();
        if filter.sort == CustomerSort::Name {
            filter.sort = CustomerSort::default();
            filter.direction = filter.sort.default_direction();
            filter.start = None;
            withheld.name_sort = true;
        }
        (filter, withheld)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(query: &str) -> (CustomerFilter, Withheld) {
        CustomerFilter::from_query_string(query)
            .unwrap()
            .without_personal_criteria(&PersonalData::new(&["loyalty_no"]))
    }

    #[test]
    fn internal_ids_are_read_in_their_three_spellings() {
        for q in ["1042", "cio_1042", "#1042", "CIO_1042"] {
            assert_eq!(parse_internal_id(q), Some(1042), "{q}");
        }
        for q in [
            "",
            "cio_",
            "ada",
            "10 42",
            "-3",
            "0",
            "cio_12a",
            "99999999999999999999",
        ] {
            assert_eq!(parse_internal_id(q), None, "{q}");
        }
    }

    #[test]
    fn a_search_over_personal_fields_is_left_out_and_said() {
        let (filter, withheld) = masked("q=ada%40exa&country=DE");
        assert_eq!(filter.q(), None);
        assert_eq!(filter.id(), None);
        assert_eq!(filter.country(), Some("DE"));
        assert!(withheld.search && !withheld.attribute && !withheld.name_sort);
        assert_eq!(withheld.notices().len(), 1);
        assert_eq!(
            filter,
            masked("q=zzzz-nonsense&country=DE").0,
            "a real prefix and nonsense ask the same"
        );
    }

    #[test]
    fn a_search_for_an_internal_id_matches_that_id_and_keeps_it_in_links() {
        let (filter, withheld) = masked("q=cio_7");
        assert_eq!(filter.id(), Some(7));
        assert!(!withheld.any());
        assert!(filter.narrows());
        assert_eq!(filter.to_query_string(), "q=cio_7");
        assert_eq!(masked(&filter.to_query_string()).0, filter);
    }

    #[test]
    fn attribute_filters_on_personal_keys_are_left_out_in_any_case() {
        for attr in [
            "EMAIL%3Dada",
            "First_Name%3DAda",
            "loyalty_no%3D1",
            "shipping_address%3Dx",
        ] {
            let (filter, withheld) = masked(&format!("attr={attr}"));
            assert_eq!(filter.attr(), None, "{attr}");
            assert!(withheld.attribute);
        }
        let (filter, withheld) = masked("attr=plan%3Dpro");
        assert_eq!(filter.attr().map(|a| a.key()), Some("plan"));
        assert!(
            filter.attr_skips_identifying(),
            "a copy of an identifier under it does not match"
        );
        assert!(!withheld.any());
    }

    #[test]
    fn the_name_sort_is_not_honoured() {
        let (filter, withheld) = masked("sort=name");
        assert_eq!(filter.sort(), CustomerSort::LastSeen);
        assert!(withheld.name_sort);
        assert!(!filter.to_query_string().contains("name"));
        let (filter, _) = masked("sort=name&dir=desc&per_page=100");
        assert_eq!(
            (filter.sort(), filter.direction()),
            (CustomerSort::LastSeen, CustomerSort::LastSeen.default_direction()),
            "the usual order of the sort shown, not a direction asked of another"
        );
        assert_eq!(filter.to_query_string(), "per_page=100");
    }
}
