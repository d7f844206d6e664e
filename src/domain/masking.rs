//! Masked forms of personal data, for viewers without `customers.view_pii`.
//!
//! Masking happens on the server before rendering, so the raw value never reaches the
//! browser. Each mask keeps just enough to tell two customers apart at a glance, and
//! uses a fixed number of dots where the length itself would say something.

const DOTS: &str = "•••";

/// `jane.doe@example.com` → `j•••@e•••.com`: the first letter of each side and the
/// top-level domain.
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.trim().rsplit_once('@') else {
        return DOTS.to_owned();
    };
    let domain_part = match domain.rsplit_once('.') {
        Some((host, tld)) if !host.is_empty() && !tld.is_empty() => {
            format!("{}.{tld}", first_and_dots(host))
        }
        _ => first_and_dots(domain),
    };
    format!("{}@{domain_part}", first_and_dots(local))
}

/// `+44 7700 900112` → `+44 •••• ••12`: the country code (a leading `+` up to the first
/// space) and the last two digits, with a fixed-width mask between them so the
/// number's length is not shown either.
pub fn mask_phone(phone: &str) -> String {
    let phone = phone.trim();
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let prefix = match phone.split_once(' ') {
        Some((code, _)) if code.starts_with('+') && code.len() <= 5 => format!("{code} "),
        _ if phone.starts_with('+') => "+".to_owned(),
        _ => String::new(),
    };
    // Too short to show any digit without giving most of it away.
    if digits.len() < 6 {
        return format!("{prefix}•••• ••••");
    }
    let last_two: String = digits[digits.len() - 2..].iter().collect();
    format!("{prefix}•••• ••{last_two}")
}

/// `Jane Doe` → `J••• D••`: each word's initial, then one dot per further letter, at
/// most three.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().unwrap_or('•');
            let rest = chars.count().min(3);
            format!("{first}{}", "•".repeat(rest))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Any other personal value (an attribute a workspace marked as personal data).
pub fn mask_other(_value: &str) -> String {
    DOTS.to_owned()
}

fn first_and_dots(part: &str) -> String {
    match part.chars().next() {
        Some(first) => format!("{first}{DOTS}"),
        None => DOTS.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_the_first_letters_and_the_top_level_domain() {
        assert_eq!(mask_email("jane.doe@example.com"), "j•••@e•••.com");
        assert_eq!(mask_email("a@mail.example.co.uk"), "a•••@m•••.uk");
        assert_eq!(mask_email("ada@localhost"), "a•••@l•••");
        assert_eq!(mask_email("not an address"), "•••");
        assert_eq!(mask_email("@example.com"), "•••@e•••.com");
    }

    #[test]
    fn masked_emails_do_not_contain_the_address() {
        let masked = mask_email("jane.doe@example.com");
        assert!(!masked.contains("jane"));
        assert!(!masked.contains("example"));
    }

    #[test]
    fn phones_keep_the_country_code_and_the_last_two_digits() {
        assert_eq!(mask_phone("+44 7700 900112"), "+44 •••• ••12");
        assert_eq!(mask_phone("+4915112345678"), "+•••• ••78");
        assert_eq!(mask_phone("030 1234567"), "•••• ••67");
        assert_eq!(mask_phone("112"), "•••• ••••");
    }

    #[test]
    fn names_keep_each_initial_and_at_most_three_dots() {
        assert_eq!(mask_name("Jane Doe"), "J••• D••");
        assert_eq!(mask_name("  Ada   Lovelace "), "A•• L•••");
        assert_eq!(mask_name("Émile"), "É•••");
        assert_eq!(mask_name("J"), "J");
        assert_eq!(mask_name(""), "");
    }
}
