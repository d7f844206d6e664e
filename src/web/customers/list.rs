//! GET /w/{workspace}/customers: the filtered, paged list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::view::{thousands, CustomerRow, Viewer};
use crate::domain::{
    CustomerFilter, CustomerSort, CustomerStatus, FilterErrors, FilterField, PageSize, Permission, QueryMap,
    SortDirection, Withheld,
};
use crate::store::{self, StoreError};
use crate::web::extractors::{perm, Authorized};
use crate::web::layout::{render_with_status, Layout, Section};
use crate::web::session::TypedSession;
use crate::web::state::AppState;
use crate::web::WebError;

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    layout: Layout,
    base: String,
    fields: Vec<FormField>,
    /// An error that belongs to no form field: a damaged page link.
    page_error: Option<String>,
    /// What was asked and not applied because it runs over personal data.
    withheld: Vec<&'static str>,
    /// None when the filters could not be understood: nothing is listed then, rather
    /// than a list that silently ignores part of what was asked.
    results: Option<Results>,
    /// Which erasure controls the viewer's role allows; the server checks again.
    may_delete: bool,
    may_archive: bool,
    may_delete_all: bool,
    may_import: bool,
    /// The workspace's own pages (jobs) sit beside the customers.
    workspace_base: String,
    /// For the demo-data command shown in an empty workspace.
    workspace_slug: String,
    /// Whether the filters start unfolded on a phone: when one narrows the list or was
    /// wrong, so that what is applied (or needs correcting) is in view.
    filters_open: bool,
    /// The list without filters, in the same order and page size.
    clear_href: String,
}

struct Results {
    count_text: String,
    /// When the count was left for later (a search with many matches): where the
    /// script fetches it, and the same page counted in full for a browser without it.
    counting: Option<PendingCount>,
    description: String,
    masked: bool,
    no_customers: bool,
    no_matches: bool,
    rows: Vec<CustomerRow>,
    /// How many match, in figures; `None` while still counting.
    matching_text: Option<String>,
    spans_pages: bool,
    page_ids: String,
    filter_fields: Vec<(&'static str, String)>,
    /// The order in words, e.g. "last seen, most recent first".
    order: &'static str,
    headers: Headers,
    first_href: Option<String>,
    previous_href: Option<String>,
    next_href: Option<String>,
    /// Each page size with the link to it; none for the one shown. Offered once more
    /// customers match than the smallest page holds.
    page_sizes: Vec<(&'static str, Option<String>)>,
}

impl Results {
    fn has_pager(&self) -> bool {
        self.first_href.is_some() || self.previous_href.is_some() || self.next_href.is_some()
    }
}

/// The sortable column headers.
struct Headers {
    customer: SortHeader,
    last_seen: SortHeader,
    created: SortHeader,
}

/// A column header that sorts the list: a link to the first page in this column's
/// order (the other direction when the list is already sorted by it), and the
/// `aria-sort` of the column the list is sorted by.
struct SortHeader {
    label: &'static str,
    /// None when the viewer may not sort by this column.
    href: Option<String>,
    aria_sort: Option<&'static str>,
    /// What following the link does, e.g. "Sort by last seen, longest ago first".
    title: String,
    /// ▲ or ▼ beside the sorted column's label; hidden from screen readers, which hear
    /// `aria-sort`.
    arrow: &'static str,
}

impl SortHeader {
    fn new(
        label: &'static str,
        sort: CustomerSort,
        filter: &CustomerFilter,
        allowed: bool,
        href: &dyn Fn(&CustomerFilter) -> String,
    ) -> SortHeader {
        let sorted = filter.sort() == sort;
        let direction = if sorted {
            filter.direction().reversed()
        } else {
            sort.default_direction()
        };
        SortHeader {
            label,
            href: allowed.then(|| href(&filter.sorted_by(sort, direction))),
            aria_sort: sorted.then(|| filter.direction().aria_sort()),
            title: format!("Sort by {}", sort.describe(direction)),
            arrow: match (sorted, filter.direction()) {
                (false, _) => "",
                (true, SortDirection::Ascending) => "▲",
                (true, SortDirection::Descending) => "▼",
            },
        }
    }
}

struct PendingCount {
    json_href: String,
    exact_href: String,
}

/// "1 customer matches", "1,204 customers match".
fn count_text(matching: i64) -> String {
    match matching {
        1 => "1 customer matches".to_owned(),
        n => format!("{} customers match", thousands(n)),
    }
}

/// The query key that asks the list to count every match before answering.
const EXACT_COUNT_KEY: &str = "count";

/// One field of the filter form, with what was typed and what was wrong with it.
struct FormField {
    name: &'static str,
    label: &'static str,
    input_type: &'static str,
    max_length: usize,
    placeholder: &'static str,
    hint: &'static str,
    /// For a select; empty for an input.
    options: Vec<Choice>,
    value: String,
    error: Option<String>,
}

struct Choice {
    value: &'static str,
    label: &'static str,
}

impl FormField {
    fn is_select(&self) -> bool {
        !self.options.is_empty()
    }

    fn id(&self) -> String {
        format!("filter-{}", self.name)
    }

    /// The ids of the hint and the error, for `aria-describedby`.
    fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() && !self.is_select() {
            ids.push(format!("{}-hint", self.id()));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id()));
        }
        ids.join(" ")
    }
}

/// The filter form. Without `customers.view_pii` (`masked`), the search takes internal
/// ids only, the attribute filter non-personal keys only, and the sort offers no name.
fn form_fields(query: &QueryMap, errors: &FilterErrors, masked: bool) -> Vec<FormField> {
    let field = |key: FilterField, label, input_type, max_length, placeholder, hint| FormField {
        name: key.key(),
        label,
        input_type,
        max_length,
        placeholder,
        hint,
        options: Vec::new(),
        // What was typed comes back as typed, so a mistake can be corrected in place.
        value: query.get(key.key()).unwrap_or_default().to_owned(),
        error: errors.message(key).map(str::to_owned),
    };
    let mut status = field(FilterField::Status, "Status", "", 0, "", "");
    status.options = std::iter::once(Choice {
        value: "",
        label: "Any status",
    })
    .chain(CustomerStatus::ALL.into_iter().map(|s| Choice {
        value: s.key(),
        label: s.meaning(),
    }))
    .collect();
    let mut sort = field(FilterField::Sort, "Sort by", "", 0, "", "");
    sort.options = CustomerSort::ALL
        .into_iter()
        .filter(|s| !(masked && *s == CustomerSort::Name))
        .map(|s| Choice {
            value: s.key(),
            label: s.label(),
        })
        .collect();
    if sort.value.is_empty() {
        sort.value = CustomerSort::default().key().to_owned();
    }
    // Left at "usual", a change of the sort above takes that sort's own first order.
    let mut direction = field(FilterField::Dir, "Order", "", 0, "", "");
    direction.options = vec![
        Choice {
            value: "",
            label: "Usual for the sort",
        },
        Choice {
            value: SortDirection::Descending.key(),
            label: "Newest or Z first",
        },
        Choice {
            value: SortDirection::Ascending.key(),
            label: "Oldest or A first",
        },
    ];
    let mut per_page = field(FilterField::PerPage, "Per page", "", 0, "", "");
    per_page.options = PageSize::choices()
        .map(|size| Choice {
            value: size.key(),
            label: size.key(),
        })
        .collect();
    if per_page.value.is_empty() {
        per_page.value = PageSize::default().key().to_owned();
    }
    vec![
        field(
            FilterField::Q,
            "Search",
            "search",
            200,
            if masked { "cio_1042" } else { "" },
            if masked {
                "An internal id (1042 or cio_1042): your role cannot search personal data"
            } else {
                "Part of a name, email or external id"
            },
        ),
        field(FilterField::Country, "Country", "text", 64, "DE", ""),
        field(FilterField::City, "City", "text", 100, "", ""),
        status,
        field(
            FilterField::SeenFrom,
            "Last seen from",
            "date",
            10,
            "YYYY-MM-DD",
            "",
        ),
        field(
            FilterField::SeenTo,
            "Last seen until",
            "date",
            10,
            "YYYY-MM-DD",
            "",
        ),
        field(
            FilterField::Attr,
            "Attribute",
            "text",
            265,
            "plan=pro",
            if masked {
                "key=value, for attributes that are not personal data"
            } else {
                "key=value"
            },
        ),
        sort,
        direction,
        per_page,
    ]
}

/// Whether the query asks for any filter (typed, even if wrong), as opposed to an
/// order, a page size or a page.
fn asks_for_a_filter(query: &QueryMap) -> bool {
    [
        FilterField::Q,
        FilterField::Country,
        FilterField::City,
        FilterField::Status,
        FilterField::SeenFrom,
        FilterField::SeenTo,
        FilterField::Attr,
    ]
    .into_iter()
    .any(|f| query.get(f.key()).is_some_and(|v| !v.trim().is_empty()))
}

pub async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let query = QueryMap::parse(req.query_string());
    let base = format!("{}/customers", access.base());
    let layout = Layout::workspace("Customers", Section::Customers, &session, &access);
    let viewer = Viewer::new(&access);
    let masked = !viewer.sees_pii();
    let parsed = CustomerFilter::from_query(&query).map(|filter| viewer.allowed_filter(filter));
    let failed = |layout, errors: FilterErrors, page_error: Option<String>| {
        render_with_status(
            StatusCode::BAD_REQUEST,
            &ListPage {
                layout,
                page_error,
                withheld: Vec::new(),
                fields: form_fields(&query, &errors, masked),
                base: base.clone(),
                results: None,
                may_delete: access.can(Permission::CustomersDelete),
                may_archive: access.can(Permission::CustomersArchive),
                may_delete_all: access.can(Permission::CustomersDeleteAll),
                may_import: crate::web::imports::may_import(&access),
                workspace_base: access.base(),
                workspace_slug: access.workspace.slug.clone(),
                filters_open: asks_for_a_filter(&query) || !errors.is_empty(),
                clear_href: base.clone(),
            },
        )
    };
    let (filter, withheld): (CustomerFilter, Withheld) = match parsed {
        Ok(allowed) => allowed,
        Err(errors) => {
            // A damaged page link belongs to no field: it is said above the form.
            let page_error = errors
                .message(FilterField::Cursor)
                .or(errors.message(FilterField::Before))
                .map(str::to_owned);
            return failed(layout, errors, page_error);
        }
    };
    let workspace_id = access.workspace.id;
    let wanted = filter.clone();
    let counting = if query.get(EXACT_COUNT_KEY) == Some("exact") {
        store::customers::Counting::Exact
    } else {
        store::customers::Counting::WhenCheap
    };
    let listed = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let page = store::customers::list_and_count(conn, workspace_id, &wanted, counting)?;
            // Only an empty result needs to know whether the workspace is empty too; a
            // count left for later comes with a full page.
            let any_at_all = page.matching.is_none_or(|m| m > 0)
                || (wanted.narrows() && store::customers::count_all(conn, workspace_id)? > 0);
            Ok((page, any_at_all))
        })
        .await;
    let (page, any_at_all) = match listed {
        // A name cursor's customer is gone: there is no place to continue from.
        Err(err) if err.is_not_found() => {
            let message = "This page link is out of date: start again from the first page.";
            return failed(layout, FilterErrors::default(), Some(message.to_owned()));
        }
        listed => listed?,
    };

    let href = |f: &CustomerFilter| match f.to_query_string() {
        qs if qs.is_empty() => base.clone(),
        qs => format!("{base}?{qs}"),
    };
    let matching = page.matching;
    let headers = Headers {
        customer: SortHeader::new("Customer", CustomerSort::Name, &filter, !masked, &href),
        last_seen: SortHeader::new("Last seen", CustomerSort::LastSeen, &filter, true, &href),
        created: SortHeader::new("Created", CustomerSort::Created, &filter, true, &href),
    };
    let results = Results {
        count_text: match matching {
            Some(n) => count_text(n),
            None => "Many customers match: still counting them.".to_owned(),
        },
        counting: matching.is_none().then(|| PendingCount {
            json_href: match filter.first_page().to_query_string() {
                qs if qs.is_empty() => format!("{base}/count"),
                qs => format!("{base}/count?{qs}"),
            },
            exact_href: {
                let page = href(&filter);
                let separator = if page.contains('?') { '&' } else { '?' };
                format!("{page}{separator}{EXACT_COUNT_KEY}=exact")
            },
        }),
        description: filter.describe(),
        masked,
        no_customers: !any_at_all,
        no_matches: any_at_all && matching == Some(0),
        page_ids: page
            .rows
            .iter()
            .map(|c| c.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        rows: page.rows.iter().map(|c| CustomerRow::new(c, &viewer)).collect(),
        matching_text: matching.map(thousands),
        spans_pages: matching.is_none_or(|m| m > filter.per_page().get()),
        // The bulk form's "all matching" is the filters alone: the order and the page
        // size ride along only to bring the person back to the same list.
        filter_fields: filter.first_page().to_query_pairs(),
        order: filter.sort().describe(filter.direction()),
        headers,
        // "First page" whenever rows lie before this one, and from a page link that
        // found nothing left (its rows erased meanwhile), the way back to the start.
        first_href: (page.previous.is_some() || (filter.start().is_some() && page.rows.is_empty()))
            .then(|| href(&filter.first_page())),
        previous_href: page.previous.map(|cursor| href(&filter.page_before(cursor))),
        next_href: page.next.map(|cursor| href(&filter.page_after(cursor))),
        page_sizes: PageSize::choices()
            .map(|size| {
                let link = (size != filter.per_page()).then(|| href(&filter.paged_by(size)));
                (size.key(), link)
            })
            .filter(|_| {
                PageSize::choices()
                    .next()
                    .is_some_and(|smallest| matching.is_none_or(|m| m > smallest.get()))
            })
            .collect(),
    };
    render_with_status(
        StatusCode::OK,
        &ListPage {
            layout,
            base: base.clone(),
            fields: form_fields(&query, &FilterErrors::default(), masked),
            page_error: None,
            withheld: withheld.notices(),
            results: Some(results),
            may_delete: access.can(Permission::CustomersDelete),
            may_archive: access.can(Permission::CustomersArchive),
            may_delete_all: access.can(Permission::CustomersDeleteAll),
            may_import: crate::web::imports::may_import(&access),
            workspace_base: access.base(),
            workspace_slug: access.workspace.slug.clone(),
            filters_open: filter.narrows(),
            clear_href: href(&filter.cleared()),
        },
    )
}

/// GET /w/{workspace}/customers/count: how many customers match the list's filters,
/// exactly, as JSON. The list leaves this count for later when it is costly (a search
/// with many matches); its script fetches it here. The same permission, workspace and
/// withheld criteria as the list: a viewer without `customers.view_pii` is counted the
/// list they are shown.
pub async fn count(
    state: web::Data<AppState>,
    access: Authorized<perm::CustomersView>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let query = QueryMap::parse(req.query_string());
    let viewer = Viewer::new(&access);
    let filter = match CustomerFilter::from_query(&query) {
        Ok(filter) => viewer.allowed_filter(filter).0,
        Err(_) => {
            return Ok(HttpResponse::BadRequest().json(serde_json::json!({
                "error": "The filters could not be understood.",
            })))
        }
    };
    let workspace_id = access.workspace.id;
    let matching = state
        .db
        .run(move |conn| store::customers::count(conn, workspace_id, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "count": matching,
        "text": count_text(matching),
        "matching_text": thousands(matching),
    })))
}
