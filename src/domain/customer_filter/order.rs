use serde::{Deserialize, Serialize};

/// The order of the list. Every order ends with the customer id, so rows with equal
/// keys still have one fixed place and paging neither repeats nor skips them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    /// By when the customer was last seen; most recent first unless reversed.
    #[default]
    LastSeen,
    /// By when the customer was created; newest first unless reversed.
    Created,
    /// By name, A to Z unless reversed; customers without a name come last either way.
    Name,
}

impl CustomerSort {
    pub const ALL: [CustomerSort; 3] = [CustomerSort::LastSeen, CustomerSort::Created, CustomerSort::Name];

    pub fn parse(raw: &str) -> Option<CustomerSort> {
        CustomerSort::ALL.into_iter().find(|s| s.key() == raw)
    }

    pub fn key(self) -> &'static str {
        match self {
            CustomerSort::LastSeen => "last_seen",
            CustomerSort::Created => "created",
            CustomerSort::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CustomerSort::LastSeen => "Last seen",
            CustomerSort::Created => "Created",
            CustomerSort::Name => "Name",
        }
    }

    /// The direction a sort takes when none is asked for: what people look for first
    /// (the latest activity, the newest customers, names from A).
    pub fn default_direction(self) -> SortDirection {
        match self {
            CustomerSort::LastSeen | CustomerSort::Created => SortDirection::Descending,
            CustomerSort::Name => SortDirection::Ascending,
        }
    }

    /// The order in words, e.g. "last seen, newest first".
    pub fn describe(self, direction: SortDirection) -> &'static str {
        match (self, direction) {
            (CustomerSort::LastSeen, SortDirection::Descending) => "last seen, most recent first",
            (CustomerSort::LastSeen, SortDirection::Ascending) => "last seen, longest ago first",
            (CustomerSort::Created, SortDirection::Descending) => "created, newest first",
            (CustomerSort::Created, SortDirection::Ascending) => "created, oldest first",
            (CustomerSort::Name, SortDirection::Ascending) => "name, A to Z",
            (CustomerSort::Name, SortDirection::Descending) => "name, Z to A",
        }
    }
}

/// Which way a sort runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortDirection {
    #[serde(rename = "asc")]
    Ascending,
    #[serde(rename = "desc")]
    Descending,
}

impl SortDirection {
    pub const ALL: [SortDirection; 2] = [SortDirection::Descending, SortDirection::Ascending];

    pub fn parse(raw: &str) -> Option<SortDirection> {
        SortDirection::ALL.into_iter().find(|d| d.key() == raw)
    }

    /// The value in query strings.
    pub fn key(self) -> &'static str {
        match self {
            SortDirection::Ascending => "asc",
            SortDirection::Descending => "desc",
        }
    }

    pub fn reversed(self) -> SortDirection {
        match self {
            SortDirection::Ascending => SortDirection::Descending,
            SortDirection::Descending => SortDirection::Ascending,
        }
    }

    /// The value of `aria-sort` on the column the list is sorted by.
    pub fn aria_sort(self) -> &'static str {
        match self {
            SortDirection::Ascending => "ascending",
            SortDirection::Descending => "descending",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_directions_read_back_from_their_keys() {
        for sort in CustomerSort::ALL {
            assert_eq!(CustomerSort::parse(sort.key()), Some(sort));
        }
        for direction in SortDirection::ALL {
            assert_eq!(SortDirection::parse(direction.key()), Some(direction));
            assert_eq!(direction.reversed().reversed(), direction);
            assert_ne!(direction.reversed(), direction);
        }
        assert_eq!(CustomerSort::parse("Name"), None);
        assert_eq!(SortDirection::parse("up"), None);
    }

    #[test]
    fn each_sort_starts_where_people_look_first() {
        assert_eq!(
            CustomerSort::LastSeen.default_direction(),
            SortDirection::Descending
        );
        assert_eq!(
            CustomerSort::Created.default_direction(),
            SortDirection::Descending
        );
        assert_eq!(CustomerSort::Name.default_direction(), SortDirection::Ascending);
        assert_eq!(
            CustomerSort::Name.describe(SortDirection::Descending),
            "name, Z to A"
        );
    }
}
