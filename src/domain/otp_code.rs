use rand::Rng;

/// A six-digit one-time code.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Codes never reach logs.
        f.write_str("OtpCode(******)")
    }
}

impl OtpCode {
    /// A fresh code from the operating system's CSPRNG.
    pub fn generate() -> OtpCode {
        OtpCode(format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000)))
    }

    /// What a person typed: six digits, spaces and dashes ignored.
    pub fn parse(typed: &str) -> Option<OtpCode> {
        let digits: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(OtpCode(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = OtpCode::generate();
            assert_eq!(code.as_str().len(), 6);
            assert_eq!(OtpCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn typed_codes_tolerate_spaces_and_refuse_the_rest() {
        assert_eq!(OtpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(OtpCode::parse("123-456").unwrap().as_str(), "123456");
        assert!(OtpCode::parse("12345").is_none());
        assert!(OtpCode::parse("1234567").is_none());
        assert!(OtpCode::parse("12345a").is_none());
        assert!(format!("{:?}", OtpCode::generate()).contains("***"));
    }
}
