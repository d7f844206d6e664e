use super::Cursor;

/// How many customers one page of the list shows: one of a few sizes, so that a
/// link cannot ask the database for a million rows at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(i64);

impl PageSize {
    pub const CHOICES: [i64; 4] = [25, 50, 100, 250];
    /// The choices as written in query strings and forms.
    const KEYS: [&'static str; 4] = ["25", "50", "100", "250"];

    pub fn parse(raw: &str) -> Option<PageSize> {
        let n: i64 = raw.parse().ok()?;
        PageSize::CHOICES.contains(&n).then_some(PageSize(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The size as written in query strings.
    pub fn key(self) -> &'static str {
        PageSize::CHOICES
            .iter()
            .position(|n| *n == self.0)
            .map_or("50", |at| PageSize::KEYS[at])
    }

    /// Every size a person may choose, smallest first.
    pub fn choices() -> impl Iterator<Item = PageSize> {
        PageSize::CHOICES.into_iter().map(PageSize)
    }
}

impl Default for PageSize {
    fn default() -> PageSize {
        PageSize(50)
    }
}

/// Where a page starts: after the last row of the page before it (the "Next page"
/// link), or before the first row of the page after it ("Previous page"), whose rows
/// are read in reverse and shown in the list's own order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    After(Cursor),
    Before(Cursor),
}

impl PageStart {
    pub fn cursor(&self) -> &Cursor {
        match self {
            PageStart::After(cursor) | PageStart::Before(cursor) => cursor,
        }
    }

    pub fn is_before(&self) -> bool {
        matches!(self, PageStart::Before(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_sizes_are_taken() {
        for n in ["25", "50", "100", "250"] {
            assert_eq!(PageSize::parse(n).map(PageSize::get), n.parse().ok());
        }
        for bad in [
            "",
            "0",
            "-25",
            "10",
            "51",
            "1000",
            "1e2",
            "50.0",
            " 50",
            "999999999999999999999",
        ] {
            assert_eq!(PageSize::parse(bad), None, "{bad:?}");
        }
        assert_eq!(PageSize::default().get(), 50);
        assert_eq!(PageSize::choices().count(), PageSize::CHOICES.len());
        for size in PageSize::choices() {
            assert_eq!(size.key(), size.get().to_string());
            assert_eq!(PageSize::parse(size.key()), Some(size));
        }
    }
}
