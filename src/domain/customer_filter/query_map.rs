/// A query string's pairs, decoded and in order. Decoding never fails: bytes that are
/// not valid percent-encoding or UTF-8 are replaced, and the field's own parser then
/// decides whether what is left makes sense.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryMap(Vec<(String, String)>);

impl QueryMap {
    pub fn parse(query: &str) -> QueryMap {
        QueryMap(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value given for `key`: a filter field is single-valued, and a link
    /// that repeats one (`?country=DE&country=FR`) must not mean both.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value given for `key`, for multi-valued fields such as selected ids.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl FromIterator<(String, String)> for QueryMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        QueryMap(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_the_first_of_a_repeated_key_wins() {
        let query = QueryMap::parse("q=ada+lovelace&country=DE&country=FR&ids=1&ids=2&x=%ZZ");
        assert_eq!(query.get("q"), Some("ada lovelace"));
        assert_eq!(query.get("country"), Some("DE"));
        assert_eq!(query.get_all("ids").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(query.get("x"), Some("%ZZ"));
        assert_eq!(query.get("missing"), None);
    }
}
