//! Which part of a search text to look up in PostgreSQL's trigram indexes.
//!
//! A GIN trigram index answers `lower(email) LIKE '%user12345%'` by reading the list
//! of rows of every trigram in the text, and `use` and `ser` are in every email of a
//! workspace whose addresses all start with "user": a search for one customer read
//! two lists of a million entries each. Any part of the text narrows the rows just as
//! surely, since a row containing the text contains each of its parts, so the index
//! is asked for the cheapest part and the whole text is checked on the rows it finds.
//! The choice weighs each trigram by how often it occurs in a sample of the table
//! (`trigram_sample`); a bad guess costs time, never a wrong answer.

/// Trigram frequencies: in how many of `rows` sampled texts each trigram occurs.
pub trait TrigramCounts {
    fn rows(&self) -> usize;
    fn rows_with(&self, trigram: &str) -> usize;
}

/// The part of `text` (already lower-cased) to look up in the index, when a part is
/// cheaper than the whole; `None` to look up the whole text.
///
/// Only runs of letters and digits are candidates: pg_trgm splits a LIKE pattern into
/// words at any other character, so a part within one word gives exactly the trigrams
/// the estimate counted. The cost of a part is the entries the index reads (the
/// occurrences of its trigrams) plus the rows it lets through to be checked, which
/// assumes trigrams occur independently.
///
/// A part has at least `MIN_PART_CHARS` characters (three trigrams) when its word
/// does. The sample is of pages, not rows, and rows stored side by side are alike
/// (customers made one after the other have neighbouring numbers), so a trigram the
/// sample missed may still be in thousands of rows; three of them together almost
/// never are.
pub fn cheapest_part(text: &str, counts: &impl TrigramCounts) -> Option<String> {
    let sampled = counts.rows();
    if sampled == 0 {
        return None;
    }
    let share = |trigram: &str| {
        // A trigram the sample never saw is still rare, not absent.
        (counts.rows_with(trigram) as f64).max(1.0) / sampled as f64
    };
    let mut best: Option<(f64, &str)> = None;
    for word in words(text) {
        let starts: Vec<usize> = word
            .char_indices()
            .map(|(at, _)| at)
            .chain([word.len()])
            .collect();
        let chars = starts.len() - 1;
        let shortest = chars.min(MIN_PART_CHARS);
        for first in 0..chars.saturating_sub(2) {
            let mut read = 0.0;
            let mut passed = 1.0;
            for last in first + 2..chars {
                let trigram = &word[starts[last - 2]..starts[last + 1]];
                let s = share(trigram);
                read += s;
                passed *= s;
                // Checking a row costs more than reading an index entry.
                let cost = read + 10.0 * passed;
                if last + 1 - first < shortest {
                    continue;
                }
                if best.is_none_or(|(lowest, _)| cost < lowest) {
                    best = Some((cost, &word[starts[first]..starts[last + 1]]));
                }
            }
        }
    }
    let (_, part) = best?;
    (part != text).then(|| part.to_owned())
}

const MIN_PART_CHARS: usize = 5;

/// The runs of letters and digits in `text`, at least three characters long.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 3)
}

/// Every trigram of every word of `text`: what a sampled text counts towards.
pub fn trigrams_of(text: &str) -> impl Iterator<Item = &str> {
    words(text).flat_map(|word| {
        let starts: Vec<usize> = word
            .char_indices()
            .map(|(at, _)| at)
            .chain([word.len()])
            .collect();
        (0..starts.len().saturating_sub(3)).map(move |first| &word[starts[first]..starts[first + 3]])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Sample(HashMap<&'static str, usize>, usize);

    impl TrigramCounts for Sample {
        fn rows(&self) -> usize {
            self.1
        }
        fn rows_with(&self, trigram: &str) -> usize {
            self.0.get(trigram).copied().unwrap_or(0)
        }
    }

    #[test]
    fn the_common_prefix_is_left_to_the_check() {
        let sample = Sample(
            HashMap::from([
                ("use", 1000),
                ("ser", 1000),
                ("er1", 120),
                ("r12", 12),
                ("123", 4),
            ]),
            1000,
        );
        let part = cheapest_part("user12345", &sample).unwrap();
        assert!("user12345".contains(&part));
        assert!(!part.contains("use") && !part.contains("ser"), "{part}");
        assert!(part.chars().count() >= 3);
    }

    #[test]
    fn a_text_of_rare_trigrams_is_looked_up_whole_or_in_part() {
        let sample = Sample(HashMap::new(), 1000);
        let part = cheapest_part("zqxw", &sample);
        assert!(part.is_none_or(|p| "zqxw".contains(&p)));
    }

    #[test]
    fn a_trigram_the_sample_missed_is_never_the_whole_part() {
        // "234" was not sampled; alone it would look like the rarest choice.
        let sample = Sample(
            HashMap::from([("use", 900), ("ser", 900), ("123", 40), ("345", 40)]),
            1000,
        );
        let part = cheapest_part("user12345", &sample).unwrap();
        assert!(part.chars().count() >= 5, "{part}");
        assert!("user12345".contains(&part));
        // A word shorter than five characters is a part as a whole.
        let part = cheapest_part("ann@example.com", &sample).unwrap();
        assert!(
            ["ann", "com"].contains(&part.as_str()) || part.chars().count() >= 5,
            "{part}"
        );
    }

    #[test]
    fn nothing_to_choose_without_a_sample_or_a_word() {
        assert_eq!(cheapest_part("user12345", &Sample(HashMap::new(), 0)), None);
        let sample = Sample(HashMap::new(), 10);
        assert_eq!(cheapest_part("a@b.c", &sample), None);
    }

    #[test]
    fn parts_stay_inside_words_and_characters() {
        let sample = Sample(HashMap::from([("exa", 900), ("xam", 900), ("amp", 900)]), 1000);
        let part = cheapest_part("ada@example.com", &sample).unwrap();
        assert!(
            ["ada", "com"].contains(&part.as_str()) || "example".contains(&part),
            "{part}"
        );
        // Multi-byte letters are whole characters of a part.
        let part = cheapest_part("jürgen", &Sample(HashMap::from([("jür", 5)]), 1000)).unwrap();
        assert!("jürgen".contains(&part));
    }

    #[test]
    fn trigrams_are_counted_per_word() {
        let all: Vec<&str> = trigrams_of("ann@ex.com").collect();
        assert_eq!(all, vec!["ann", "com"]);
        let all: Vec<&str> = trigrams_of("jürg").collect();
        assert_eq!(all, vec!["jür", "ürg"]);
    }
}
