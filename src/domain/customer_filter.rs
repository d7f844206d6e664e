//! The customers list's filters, parsed once from the query string.
//!
//! The same value decides what the list shows, what its count says, and (later) which
//! customers a "delete everyone matching" confirmation covers, so it lives here, apart
//! from HTTP and SQL, and cannot hold a value that the query would have to re-check.

mod cursor;
mod order;
mod page;
mod query_map;
mod status;
mod without_personal;

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

pub use cursor::{Cursor, CursorError};
pub use order::{CustomerSort, SortDirection};
pub use page::{PageSize, PageStart};
pub use query_map::QueryMap;
pub use status::{CustomerStatus, ACTIVE_WITHIN_DAYS};
pub use without_personal::Withheld;

const MAX_SEARCH_CHARS: usize = 200;
const MAX_COUNTRY_CHARS: usize = 64;
const MAX_CITY_CHARS: usize = 100;
const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
const MAX_ATTRIBUTE_VALUE_CHARS: usize = 200;
/// Keys only the stored form has (see [`CustomerFilter::to_stored`]).
const STORED_ID: &str = "only_id";
const STORED_SKIPS_IDENTIFYING: &str = "attr_skips_identifying";
const STORED_UNARCHIVED: &str = "unarchived";

/// `key=value`: customers whose attribute `key` is the string `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMatch {
    key: String,
    value: String,
}

impl AttributeMatch {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    fn parse(raw: &str) -> Result<AttributeMatch, &'static str> {
        let (key, value) = raw
            .split_once('=')
            .ok_or("write an attribute as key=value, e.g. plan=pro")?;
        let key = key.trim();
        let value = value.trim();
        if key.is_empty() {
            return Err("the attribute name before = is missing");
        }
        if key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
            return Err("an attribute name can be at most 64 characters");
        }
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err("an attribute name can hold only letters, digits, _ . and -");
        }
        if value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS {
            return Err("an attribute value can be at most 200 characters");
        }
        if value.chars().any(char::is_control) {
            return Err("an attribute value cannot contain control characters");
        }
        Ok(AttributeMatch {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }
}

impl fmt::Display for AttributeMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// One of the filter form's fields, named as in the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Q,
    Country,
    City,
    Status,
    SeenFrom,
    SeenTo,
    Attr,
    Sort,
    Dir,
    PerPage,
    Cursor,
    Before,
}

impl FilterField {
    pub fn key(self) -> &'static str {
        match self {
            FilterField::Q => "q",
            FilterField::Country => "country",
            FilterField::City => "city",
            FilterField::Status => "status",
            FilterField::SeenFrom => "seen_from",
            FilterField::SeenTo => "seen_to",
            FilterField::Attr => "attr",
            FilterField::Sort => "sort",
            FilterField::Dir => "dir",
            FilterField::PerPage => "per_page",
            FilterField::Cursor => "cursor",
            FilterField::Before => "before",
        }
    }
}

/// What was wrong with the filters, field by field, in words for the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterErrors(Vec<(FilterField, String)>);

impl FilterErrors {
    fn add(&mut self, field: FilterField, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for one field, if that field was wrong.
    pub fn message(&self, field: FilterField) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (FilterField, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }
}

impl fmt::Display for FilterErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, m)| format!("{}: {m}", field.key()))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FilterErrors {}

/// Which customers the list shows, in which order, from where, how many at a time.
///
/// Fields are private: a value exists only through [`CustomerFilter::from_query`] (or
/// [`Default`], which is every customer), so it always holds trimmed, bounded text,
/// an ordered date range, a page size the list offers and a cursor that belongs to
/// its sort and direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFilter {
    q: Option<String>,
    /// One customer by internal id: what a search becomes for viewers who may not
    /// search personal fields ([`CustomerFilter::without_personal_criteria`]).
    id: Option<i64>,
    country: Option<String>,
    city: Option<String>,
    status: Option<CustomerStatus>,
    seen_from: Option<NaiveDate>,
    seen_to: Option<NaiveDate>,
    attr: Option<AttributeMatch>,
    /// For viewers without `customers.view_pii`: an attribute whose value quotes the
    /// customer's own email, name, phone or external id does not match, so that an
    /// innocent key holding a copy of one cannot stand in for the personal field.
    attr_skips_identifying: bool,
    /// Only customers not archived yet, whatever their status: what a retention
    /// policy that archives works through, so that its next run finds nobody it
    /// archived before.
    unarchived: bool,
    sort: CustomerSort,
    direction: SortDirection,
    per_page: PageSize,
    start: Option<PageStart>,
}

impl Default for CustomerFilter {
    fn default() -> CustomerFilter {
        CustomerFilter {
            q: None,
            id: None,
            country: None,
            city: None,
            status: None,
            seen_from: None,
            seen_to: None,
            attr: None,
            attr_skips_identifying: false,
            unarchived: false,
            sort: CustomerSort::default(),
            direction: CustomerSort::default().default_direction(),
            per_page: PageSize::default(),
            start: None,
        }
    }
}

impl CustomerFilter {
    /// Parses every field and reports every wrong one at once. An empty field means
    /// "any"; an unknown query key is ignored.
    pub fn from_query(query: &QueryMap) -> Result<CustomerFilter, FilterErrors> {
        let mut errors = FilterErrors::default();
        let field = |key: FilterField| query.get(key.key()).map(str::trim).filter(|v| !v.is_empty());

        let q = field(FilterField::Q)
            .map(|v| bounded_text(v, MAX_SEARCH_CHARS, "search"))
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::Q, m);
                None
            });
        let country = field(FilterField::Country)
            .map(parse_country)
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::Country, m);
                None
            });
        let city = field(FilterField::City)
            .map(|v| bounded_text(v, MAX_CITY_CHARS, "city"))
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::City, m);
                None
            });
        let status = match field(FilterField::Status) {
            None => None,
            Some(v) => CustomerStatus::parse(v).or_else(|| {
                errors.add(FilterField::Status, "choose active, inactive or anonymous");
                None
            }),
        };
        let seen_from = field(FilterField::SeenFrom)
            .map(parse_date)
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::SeenFrom, m);
                None
            });
        let seen_to = field(FilterField::SeenTo)
            .map(parse_date)
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::SeenTo, m);
                None
            });
        if let (Some(from), Some(to)) = (seen_from, seen_to) {
            if to < from {
                errors.add(FilterField::SeenTo, "the end date is before the start date");
            }
        }
        let attr = field(FilterField::Attr)
            .map(AttributeMatch::parse)
            .transpose()
            .unwrap_or_else(|m| {
                errors.add(FilterField::Attr, m);
                None
            });
        let sort = match field(FilterField::Sort) {
            None => CustomerSort::default(),
            Some(v) => CustomerSort::parse(v).unwrap_or_else(|| {
                errors.add(FilterField::Sort, "choose last seen, created or name");
                CustomerSort::default()
            }),
        };
        let direction = match field(FilterField::Dir) {
            None => sort.default_direction(),
            Some(v) => SortDirection::parse(v).unwrap_or_else(|| {
                errors.add(FilterField::Dir, "choose ascending or descending");
                sort.default_direction()
            }),
        };
        let per_page = match field(FilterField::PerPage) {
            None => PageSize::default(),
            Some(v) => PageSize::parse(v).unwrap_or_else(|| {
                errors.add(
                    FilterField::PerPage,
                    "choose 25, 50, 100 or 250 customers per page",
                );
                PageSize::default()
            }),
        };
        let mut cursor_of = |key: FilterField| match field(key) {
            None => None,
            Some(v) => Cursor::decode(v, sort, direction)
                .map_err(|e| errors.add(key, e.to_string()))
                .ok(),
        };
        let after = cursor_of(FilterField::Cursor);
        let before = cursor_of(FilterField::Before);
        let start = match (after, before) {
            (Some(_), Some(_)) => {
                // Only a link made by hand goes both ways at once.
                errors.add(FilterField::Cursor, CursorError::Malformed.to_string());
                None
            }
            (Some(after), None) => Some(PageStart::After(after)),
            (None, Some(before)) => Some(PageStart::Before(before)),
            (None, None) => None,
        };

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CustomerFilter {
            q,
            id: None,
            country,
            city,
            status,
            seen_from,
            seen_to,
            attr,
            attr_skips_identifying: false,
            unarchived: false,
            sort,
            direction,
            per_page,
            start,
        })
    }

    /// Parses a query string as made by [`CustomerFilter::to_query_string`].
    pub fn from_query_string(query: &str) -> Result<CustomerFilter, FilterErrors> {
        CustomerFilter::from_query(&QueryMap::parse(query))
    }

    pub fn q(&self) -> Option<&str> {
        self.q.as_deref()
    }

    pub fn id(&self) -> Option<i64> {
        self.id
    }

    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    pub fn city(&self) -> Option<&str> {
        self.city.as_deref()
    }

    pub fn status(&self) -> Option<CustomerStatus> {
        self.status
    }

    pub fn seen_from(&self) -> Option<NaiveDate> {
        self.seen_from
    }

    pub fn seen_to(&self) -> Option<NaiveDate> {
        self.seen_to
    }

    /// The first moment of `seen_from`, inclusive.
    pub fn seen_from_start(&self) -> Option<NaiveDateTime> {
        self.seen_from.map(|d| d.and_time(NaiveTime::MIN))
    }

    /// The first moment after `seen_to`, exclusive, so that the whole last day counts.
    pub fn seen_to_end(&self) -> Option<NaiveDateTime> {
        self.seen_to
            .and_then(|d| d.succ_opt())
            .map(|d| d.and_time(NaiveTime::MIN))
    }

    pub fn attr(&self) -> Option<&AttributeMatch> {
        self.attr.as_ref()
    }

    /// Whether an attribute match skips customers whose identifiers its value quotes.
    pub fn attr_skips_identifying(&self) -> bool {
        self.attr_skips_identifying
    }

    /// Whether only customers not archived yet match.
    pub fn unarchived(&self) -> bool {
        self.unarchived
    }

    /// The same filters, for customers not archived yet only (a stored-only criterion:
    /// links leave it out, [`CustomerFilter::to_stored`] keeps it).
    pub fn only_unarchived(self) -> CustomerFilter {
        CustomerFilter {
            unarchived: true,
            ..self
        }
    }

    pub fn sort(&self) -> CustomerSort {
        self.sort
    }

    pub fn direction(&self) -> SortDirection {
        self.direction
    }

    pub fn per_page(&self) -> PageSize {
        self.per_page
    }

    /// Where the page starts; `None` for the first page.
    pub fn start(&self) -> Option<&PageStart> {
        self.start.as_ref()
    }

    /// True when any filter narrows the list (sort and page do not).
    pub fn narrows(&self) -> bool {
        self.q.is_some()
            || self.id.is_some()
            || self.country.is_some()
            || self.city.is_some()
            || self.status.is_some()
            || self.seen_from.is_some()
            || self.seen_to.is_some()
            || self.attr.is_some()
            || self.unarchived
    }

    /// Whether a criterion other than the search narrows the set through an index
    /// (a location, a status or a last-seen range).
    pub fn narrows_by_index(&self) -> bool {
        self.country.is_some()
            || self.city.is_some()
            || self.status.is_some()
            || self.seen_from.is_some()
            || self.seen_to.is_some()
    }

    /// Each criterion that the running tallies count on its own (a country, a city, a
    /// status, a last-seen range, an attribute), as a filter of that criterion alone.
    /// Whatever matches the whole filter matches each of them, so the smallest of
    /// their counts bounds the whole filter's count from above.
    pub fn tallied_criteria(&self) -> Vec<CustomerFilter> {
        let alone = || CustomerFilter::default();
        let mut each = Vec::new();
        if let Some(country) = &self.country {
            each.push(CustomerFilter {
                country: Some(country.clone()),
                ..alone()
            });
        }
        if let Some(city) = &self.city {
            each.push(CustomerFilter {
                city: Some(city.clone()),
                ..alone()
            });
        }
        if let Some(status) = self.status {
            each.push(CustomerFilter {
                status: Some(status),
                ..alone()
            });
        }
        if self.seen_from.is_some() || self.seen_to.is_some() {
            each.push(CustomerFilter {
                seen_from: self.seen_from,
                seen_to: self.seen_to,
                ..alone()
            });
        }
        if let Some(attr) = &self.attr {
            each.push(CustomerFilter {
                attr: Some(attr.clone()),
                ..alone()
            });
        }
        each
    }

    /// The same filters from the first page.
    pub fn first_page(&self) -> CustomerFilter {
        CustomerFilter {
            start: None,
            ..self.clone()
        }
    }

    /// The same filters from after `cursor` (the last row of a page in this order).
    pub fn page_after(&self, cursor: Cursor) -> CustomerFilter {
        debug_assert_eq!(cursor.sort(), self.sort, "a cursor of another sort");
        CustomerFilter {
            start: Some(PageStart::After(cursor)),
            ..self.clone()
        }
    }

    /// The same filters up to before `cursor` (the first row of a page in this order).
    pub fn page_before(&self, cursor: Cursor) -> CustomerFilter {
        debug_assert_eq!(cursor.sort(), self.sort, "a cursor of another sort");
        CustomerFilter {
            start: Some(PageStart::Before(cursor)),
            ..self.clone()
        }
    }

    /// No filter at all, in the same order and page size: where "Clear" leads.
    pub fn cleared(&self) -> CustomerFilter {
        CustomerFilter {
            sort: self.sort,
            direction: self.direction,
            per_page: self.per_page,
            ..CustomerFilter::default()
        }
    }

    /// The same filters and order, first page, `per_page` customers a page.
    pub fn paged_by(&self, per_page: PageSize) -> CustomerFilter {
        CustomerFilter {
            per_page,
            start: None,
            ..self.clone()
        }
    }

    /// The same filters, first page, sorted by `sort` in `direction`.
    pub fn sorted_by(&self, sort: CustomerSort, direction: SortDirection) -> CustomerFilter {
        CustomerFilter {
            sort,
            direction,
            start: None,
            ..self.clone()
        }
    }

    /// The filters as query pairs, in a fixed order and leaving out what is unset (and
    /// the sort, its direction and the page size when they are the usual ones), so
    /// that equal filters make equal links.
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let pairs = [
            (
                FilterField::Q,
                self.q.clone().or_else(|| self.id.map(|id| format!("cio_{id}"))),
            ),
            (FilterField::Country, self.country.clone()),
            (FilterField::City, self.city.clone()),
            (FilterField::Status, self.status.map(|s| s.key().to_owned())),
            (FilterField::SeenFrom, self.seen_from.map(format_date)),
            (FilterField::SeenTo, self.seen_to.map(format_date)),
            (FilterField::Attr, self.attr.as_ref().map(ToString::to_string)),
            (
                FilterField::Sort,
                (self.sort != CustomerSort::default()).then(|| self.sort.key().to_owned()),
            ),
            (
                FilterField::Dir,
                (self.direction != self.sort.default_direction()).then(|| self.direction.key().to_owned()),
            ),
            (
                FilterField::PerPage,
                (self.per_page != PageSize::default()).then(|| self.per_page.key().to_owned()),
            ),
            (
                FilterField::Cursor,
                match &self.start {
                    Some(PageStart::After(cursor)) => Some(cursor.encode(self.direction)),
                    _ => None,
                },
            ),
            (
                FilterField::Before,
                match &self.start {
                    Some(PageStart::Before(cursor)) => Some(cursor.encode(self.direction)),
                    _ => None,
                },
            ),
        ];
        pairs
            .into_iter()
            .filter_map(|(field, value)| value.map(|v| (field.key(), v)))
            .collect()
    }

    /// The filters as a query string without a leading `?`, so that links keep them.
    /// [`CustomerFilter::from_query_string`] reads it back.
    pub fn to_query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_query_pairs())
            .finish()
    }

    /// The filters as a job keeps them while it freezes the set they match, read back
    /// by [`CustomerFilter::from_stored`]: every field, including what a viewer without
    /// personal data gets in place of their search (an internal id) and of their
    /// attribute match (one that skips identifying values), which links leave out.
    /// Without the order and the page, which play no part in which customers match.
    pub fn to_stored(&self) -> String {
        let searched = self.q.is_some();
        let matching = [
            FilterField::Country,
            FilterField::City,
            FilterField::Status,
            FilterField::SeenFrom,
            FilterField::SeenTo,
            FilterField::Attr,
        ];
        let mut pairs: Vec<(&str, String)> = self
            .to_query_pairs()
            .into_iter()
            .filter(|(key, _)| {
                (searched && *key == FilterField::Q.key()) || matching.iter().any(|field| field.key() == *key)
            })
            .collect();
        if let Some(id) = self.id {
            pairs.push((STORED_ID, id.to_string()));
        }
        if self.attr_skips_identifying {
            pairs.push((STORED_SKIPS_IDENTIFYING, "1".to_owned()));
        }
        if self.unarchived {
            pairs.push((STORED_UNARCHIVED, "1".to_owned()));
        }
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    /// Reads back [`CustomerFilter::to_stored`].
    pub fn from_stored(stored: &str) -> Result<CustomerFilter, FilterErrors> {
        let query = QueryMap::parse(stored);
        let mut filter = CustomerFilter::from_query(&query)?;
        filter.id = query.get(STORED_ID).and_then(without_personal::parse_internal_id);
        filter.attr_skips_identifying = query.get(STORED_SKIPS_IDENTIFYING) == Some("1");
        filter.unarchived = query.get(STORED_UNARCHIVED) == Some("1");
        Ok(filter)
    }

    /// The filters in words, e.g. "active customers in DE, seen between 2026-01-01
    /// and 2026-03-31, matching “ada”".
    pub fn describe(&self) -> String {
        self.words(true)
    }

    /// The filters in words without the typed search and attribute value, e.g.
    /// "customers in DE, matching a search". Those are often the very email, name or
    /// personal attribute of the people being erased, and this text outlives them: the
    /// job, its receipt and the audit log's hash chain keep it for good.
    pub fn describe_for_record(&self) -> String {
        self.words(false)
    }

    fn words(&self, typed_values: bool) -> String {
        let mut head = match self.status {
            Some(status) => format!("{} customers", status.key()),
            None if self.narrows() => "customers".to_owned(),
            None => "all customers".to_owned(),
        };
        match (&self.city, &self.country) {
            (Some(city), Some(country)) => head.push_str(&format!(" in {city}, {country}")),
            (Some(place), None) | (None, Some(place)) => head.push_str(&format!(" in {place}")),
            (None, None) => {}
        }
        let mut parts = vec![head];
        if self.unarchived && self.status.is_none() {
            parts.push("not archived yet".to_owned());
        }
        match (self.seen_from, self.seen_to) {
            (Some(from), Some(to)) if from == to => parts.push(format!("seen on {}", format_date(from))),
            (Some(from), Some(to)) => parts.push(format!(
                "seen between {} and {}",
                format_date(from),
                format_date(to)
            )),
            (Some(from), None) => parts.push(format!("seen on or after {}", format_date(from))),
            (None, Some(to)) => parts.push(format!("seen on or before {}", format_date(to))),
            (None, None) => {}
        }
        match &self.attr {
            Some(attr) if typed_values => parts.push(format!("with {} “{}”", attr.key, attr.value)),
            Some(attr) => parts.push(format!("with a chosen {}", attr.key)),
            None => {}
        }
        if let Some(id) = self.id {
            parts.push(format!("with internal id {id}"));
        }
        match &self.q {
            Some(q) if typed_values => parts.push(format!("matching “{q}”")),
            Some(_) => parts.push("matching a search".to_owned()),
            None => {}
        }
        parts.join(", ")
    }
}

fn bounded_text(value: &str, max_chars: usize, what: &str) -> Result<String, String> {
    if value.chars().count() > max_chars {
        return Err(format!("a {what} can be at most {max_chars} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("a {what} cannot contain control characters"));
    }
    Ok(value.to_owned())
}

/// Two letters are taken as an ISO country code and upper-cased, so `de` finds `DE`;
/// anything longer is kept as written, for data that stores country names.
fn parse_country(value: &str) -> Result<String, String> {
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(value.to_ascii_uppercase());
    }
    bounded_text(value, MAX_COUNTRY_CHARS, "country")
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let shaped = value.len() == 10
        && value.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    let message = "enter a date as YYYY-MM-DD, e.g. 2026-03-31";
    if !shaped {
        return Err(message.to_owned());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| message.to_owned())
}

fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<CustomerFilter, FilterErrors> {
        CustomerFilter::from_query_string(query)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn each_tallied_criterion_stands_alone() {
        let filter = parse(
            "q=ada&country=DE&city=Berlin&status=active&seen_from=2026-01-01&seen_to=2026-01-31\
             &attr=plan%3Dpro&sort=name&per_page=100",
        )
        .unwrap();
        let alone: Vec<String> = filter
            .tallied_criteria()
            .iter()
            .map(CustomerFilter::to_query_string)
            .collect();
        assert_eq!(
            alone,
            [
                "country=DE",
                "city=Berlin",
                "status=active",
                "seen_from=2026-01-01&seen_to=2026-01-31",
                "attr=plan%3Dpro",
            ]
        );
        assert!(parse("q=ada").unwrap().tallied_criteria().is_empty());
    }

    #[test]
    fn an_empty_query_is_every_customer_by_last_seen() {
        let filter = parse("").unwrap();
        assert_eq!(filter, CustomerFilter::default());
        assert!(!filter.narrows());
        assert_eq!(filter.sort(), CustomerSort::LastSeen);
        assert_eq!(filter.describe(), "all customers");
        assert_eq!(filter.to_query_string(), "");
    }

    #[test]
    fn the_stored_form_keeps_every_field_that_decides_who_matches() {
        let matching = "q=Ada&country=de&city=Berlin&status=active&seen_from=2026-01-01&seen_to=2026-03-31&attr=plan%3Dpro";
        let full = parse(&format!("{matching}&sort=name&dir=desc&per_page=100")).unwrap();
        let back = CustomerFilter::from_stored(&full.to_stored()).unwrap();
        assert_eq!(
            back,
            parse(matching).unwrap(),
            "every criterion, in the default order"
        );

        let masked = parse("q=cio_42&attr=plan%3Dpro")
            .unwrap()
            .without_personal_criteria(&crate::domain::PersonalData::new(&["loyalty_no"]))
            .0;
        assert_eq!(masked.id(), Some(42));
        assert!(masked.attr_skips_identifying());
        let back = CustomerFilter::from_stored(&masked.to_stored()).unwrap();
        assert_eq!(back, masked, "the id and the skipping survive");
        assert_eq!(back.q(), None, "an id is not a search for its text");

        assert_eq!(
            CustomerFilter::from_stored("").unwrap(),
            CustomerFilter::default()
        );
    }

    #[test]
    fn blank_fields_mean_any() {
        let filter = parse("q=++&country=&city=%20&status=&seen_from=&seen_to=&attr=&sort=&cursor=").unwrap();
        assert_eq!(filter, CustomerFilter::default());
    }

    #[test]
    fn every_field_is_parsed_and_normalized() {
        let filter = parse(
            "q=+Ada+&country=de&city=Berlin&status=active&seen_from=2026-01-01&seen_to=2026-03-31\
             &attr=plan%3Dpro&sort=name",
        )
        .unwrap();
        assert_eq!(filter.q(), Some("Ada"));
        assert_eq!(filter.country(), Some("DE"));
        assert_eq!(filter.city(), Some("Berlin"));
        assert_eq!(filter.status(), Some(CustomerStatus::Active));
        assert_eq!(filter.seen_from(), Some(date(2026, 1, 1)));
        assert_eq!(filter.seen_to(), Some(date(2026, 3, 31)));
        assert_eq!(filter.attr().map(|a| (a.key(), a.value())), Some(("plan", "pro")));
        assert_eq!(filter.sort(), CustomerSort::Name);
        assert!(filter.narrows());
    }

    #[test]
    fn longer_countries_are_kept_as_written() {
        assert_eq!(
            parse("country=Deutschland").unwrap().country(),
            Some("Deutschland")
        );
        assert_eq!(parse("country=d3").unwrap().country(), Some("d3"));
        assert!(parse(&format!("country={}", "x".repeat(65))).is_err());
    }

    #[test]
    fn the_date_range_is_inclusive_of_both_days() {
        let filter = parse("seen_from=2026-01-01&seen_to=2026-01-31").unwrap();
        assert_eq!(
            filter.seen_from_start(),
            Some(date(2026, 1, 1).and_hms_opt(0, 0, 0).unwrap())
        );
        assert_eq!(
            filter.seen_to_end(),
            Some(date(2026, 2, 1).and_hms_opt(0, 0, 0).unwrap())
        );
        assert!(parse("seen_from=2026-01-01&seen_to=2026-01-01").is_ok());
    }

    #[test]
    fn wrong_values_are_reported_per_field_all_at_once() {
        let errors =
            parse("status=gone&seen_from=2026-13-01&seen_to=yesterday&attr=novalue&sort=random&cursor=xyz")
                .unwrap_err();
        for field in [
            FilterField::Status,
            FilterField::SeenFrom,
            FilterField::SeenTo,
            FilterField::Attr,
            FilterField::Sort,
            FilterField::Cursor,
        ] {
            assert!(errors.message(field).is_some(), "{field:?} has no error");
        }
        assert!(errors.message(FilterField::Q).is_none());
    }

    #[test]
    fn an_end_date_before_the_start_date_is_refused() {
        let errors = parse("seen_from=2026-03-01&seen_to=2026-02-01").unwrap_err();
        assert_eq!(
            errors.message(FilterField::SeenTo),
            Some("the end date is before the start date")
        );
    }

    #[test]
    fn dates_must_be_written_in_full() {
        for bad in [
            "2026-1-01",
            "2026-02-30",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T00:00",
        ] {
            assert!(parse(&format!("seen_from={bad}")).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn text_fields_are_bounded() {
        assert!(parse(&format!("q={}", "a".repeat(200))).is_ok());
        assert!(parse(&format!("q={}", "a".repeat(201))).is_err());
        assert!(parse(&format!("city={}", "é".repeat(100))).is_ok());
        assert!(parse(&format!("city={}", "é".repeat(101))).is_err());
        assert!(parse("q=a%00b").is_err());
    }

    #[test]
    fn attribute_keys_are_restricted() {
        assert!(parse("attr=signup_source%3Dads").is_ok());
        assert!(parse("attr=a.b-c_d%3D").is_ok(), "an empty value is a value");
        for bad in ["attr=%3Dpro", "attr=pl%20an%3Dpro", "attr=pl%22an%3Dpro"] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse(&format!("attr={}%3Dx", "k".repeat(65))).is_err());
    }

    #[test]
    fn the_query_string_round_trips() {
        let cursor = Cursor::Name { id: 42 };
        let filter = parse(
            "q=a%26b%3Dc&country=FR&city=Saint-%C3%89tienne&status=inactive&seen_from=2025-01-01\
             &seen_to=2025-12-31&attr=plan%3Dpro%20plus&sort=name&dir=desc&per_page=250",
        )
        .unwrap()
        .page_after(cursor.clone());
        let again = parse(&filter.to_query_string()).unwrap();
        assert_eq!(again, filter);
        assert_eq!(again.start(), Some(&PageStart::After(cursor.clone())));
        assert_eq!(again.first_page().start(), None);
        assert!(!again.first_page().to_query_string().contains("cursor="));
        assert!(again.first_page().to_query_string().contains("per_page=250"));

        let back = filter.page_before(cursor.clone());
        let again = parse(&back.to_query_string()).unwrap();
        assert_eq!(again.start(), Some(&PageStart::Before(cursor)));
        assert!(!back.to_query_string().contains("cursor="));
    }

    #[test]
    fn the_usual_order_and_page_size_stay_out_of_links() {
        for query in [
            "sort=last_seen&dir=desc",
            "sort=name&dir=asc",
            "per_page=50",
            "dir=desc",
        ] {
            let filter = parse(query).unwrap();
            assert!(!filter.to_query_string().contains("dir="), "{query}");
            assert!(!filter.to_query_string().contains("per_page="), "{query}");
        }
        let oldest_first = parse("dir=asc").unwrap();
        assert_eq!(
            (oldest_first.sort(), oldest_first.direction()),
            (CustomerSort::LastSeen, SortDirection::Ascending)
        );
        assert_eq!(oldest_first.to_query_string(), "dir=asc");
        assert_eq!(parse("sort=name").unwrap().direction(), SortDirection::Ascending);
        assert_eq!(
            parse("sort=created").unwrap().direction(),
            SortDirection::Descending
        );
        assert_eq!(parse("per_page=25").unwrap().per_page().get(), 25);
        assert_eq!(CustomerFilter::default().per_page().get(), 50);
    }

    #[test]
    fn a_new_order_starts_from_the_first_page_with_the_same_filters() {
        let filter = parse("country=de&per_page=100")
            .unwrap()
            .page_after(Cursor::LastSeen {
                at: date(2026, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
                id: 3,
            });
        let by_name = filter.sorted_by(CustomerSort::Name, SortDirection::Descending);
        assert_eq!(by_name.start(), None);
        assert_eq!(by_name.country(), Some("DE"));
        assert_eq!(
            by_name.to_query_string(),
            "country=DE&sort=name&dir=desc&per_page=100"
        );
        let smaller = by_name
            .page_after(Cursor::Name { id: 9 })
            .paged_by(PageSize::parse("25").unwrap());
        assert_eq!(
            smaller.start(),
            None,
            "a new page size starts from the first page"
        );
        assert_eq!(
            smaller.to_query_string(),
            "country=DE&sort=name&dir=desc&per_page=25"
        );
    }

    #[test]
    fn a_wrong_direction_page_size_or_page_link_is_reported_beside_its_field() {
        let errors = parse("dir=up&per_page=10&before=xyz").unwrap_err();
        assert!(errors.message(FilterField::Dir).is_some());
        assert_eq!(
            errors.message(FilterField::PerPage),
            Some("choose 25, 50, 100 or 250 customers per page")
        );
        assert!(errors.message(FilterField::Before).is_some());
        for bad in ["0", "1000", "abc", "-50", "50.5"] {
            let errors = parse(&format!("per_page={bad}&country=DE")).unwrap_err();
            assert!(errors.message(FilterField::PerPage).is_some(), "{bad}");
            assert!(errors.message(FilterField::Country).is_none(), "{bad}");
        }
        let at = date(2026, 1, 1).and_hms_opt(0, 0, 0).unwrap();
        let cursor = Cursor::LastSeen { at, id: 3 }.encode(SortDirection::Descending);
        let both = parse(&format!("cursor={cursor}&before={cursor}")).unwrap_err();
        assert!(both.message(FilterField::Cursor).is_some(), "a link goes one way");
        let reversed = parse(&format!("cursor={cursor}&dir=asc")).unwrap_err();
        assert!(reversed
            .message(FilterField::Cursor)
            .is_some_and(|m| m.contains("another sort order")));
    }

    #[test]
    fn descriptions_read_as_a_sentence() {
        let filter = parse("country=de&seen_from=2026-01-01&seen_to=2026-03-31&q=ada").unwrap();
        assert_eq!(
            filter.describe(),
            "customers in DE, seen between 2026-01-01 and 2026-03-31, matching “ada”"
        );
        let filter =
            parse("status=active&city=Berlin&country=DE&attr=plan%3Dpro&seen_to=2026-01-01").unwrap();
        assert_eq!(
            filter.describe(),
            "active customers in Berlin, DE, seen on or before 2026-01-01, with plan “pro”"
        );
    }

    #[test]
    fn the_description_kept_on_record_leaves_out_typed_values() {
        let filter = parse("country=de&q=ada%40example.com&attr=ssn%3D123-45-6789").unwrap();
        let recorded = filter.describe_for_record();
        assert_eq!(recorded, "customers in DE, with a chosen ssn, matching a search");
        assert!(!recorded.contains("ada") && !recorded.contains("123-45"));
        let plain = parse("country=de").unwrap();
        assert_eq!(plain.describe_for_record(), plain.describe());
    }
}
