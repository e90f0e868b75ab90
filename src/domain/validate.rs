//! Validation of what people type: names, phone numbers, e-mail, logins, passwords, lengths.
//!
//! Each check returns the cleaned value or a [`ValidationError`] naming the field, so every
//! adapter shows the same message for the same mistake.

use std::fmt;

/// A value was refused; `field` names it, `problem` says why in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: &'static str,
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        ValidationError {
            field,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ValidationError {}

/// Longest person name accepted.
pub const MAX_NAME: usize = 100;
/// Longest ticket subject.
pub const MAX_SUBJECT: usize = 200;
/// Longest ticket description or reply (Telegram's message limit).
pub const MAX_TEXT: usize = 4096;
/// Largest quantity in one order line.
pub const MAX_ORDER_QUANTITY: u32 = 100;

/// Trims, collapses inner whitespace and checks the length in characters.
pub fn text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let cleaned = value.trim().to_string();
    let n = cleaned.chars().count();
    if n < min {
        return Err(if min <= 1 {
            ValidationError::new(field, "must not be empty")
        } else {
            ValidationError::new(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {n})"),
        ));
    }
    if cleaned
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ValidationError::new(field, "contains control characters"));
    }
    Ok(cleaned)
}

/// A person's name: letters (any script), spaces, hyphens, apostrophes and dots.
pub fn person_name(value: &str) -> Result<String, ValidationError> {
    let cleaned = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = cleaned.chars().count();
    if n < 2 {
        return Err(ValidationError::new("name", "must be at least 2 letters"));
    }
    if n > MAX_NAME {
        return Err(ValidationError::new(
            "name",
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    if !cleaned.chars().any(char::is_alphabetic) {
        return Err(ValidationError::new("name", "must contain letters"));
    }
    if let Some(bad) = cleaned
        .chars()
        .find(|c| !(c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.')))
    {
        return Err(ValidationError::new(
            "name",
            format!("must not contain '{bad}'"),
        ));
    }
    Ok(cleaned)
}

/// A phone number: an optional leading `+`, then 10–15 digits; spaces, dashes, dots and
/// brackets are dropped. A Russian/Ukrainian trunk `8XXXXXXXXXX` stays as typed.
pub fn phone(value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let plus = trimmed.starts_with('+');
    let mut digits = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => {
                return Err(ValidationError::new(
                    "phone",
                    format!("must not contain '{c}'"),
                ));
            }
        }
    }
    if !(10..=15).contains(&digits.len()) {
        return Err(ValidationError::new("phone", "must have 10 to 15 digits"));
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

/// An e-mail address: one `@`, a dotted domain, no spaces.
pub fn email(value: &str) -> Result<String, ValidationError> {
    let v = value.trim();
    let bad = || ValidationError::new("email", "is not an e-mail address");
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A staff login: 2–32 of lowercase latin letters, digits, `.`, `_`, `-`.
pub fn login(value: &str) -> Result<String, ValidationError> {
    let v = value.trim().to_lowercase();
    if !(2..=32).contains(&v.len()) {
        return Err(ValidationError::new("login", "must be 2 to 32 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ValidationError::new(
            "login",
            "may contain only latin letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(v)
}

/// A password: 8–256 characters.
pub fn password(value: &str) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n < 8 {
        return Err(ValidationError::new(
            "password",
            "must be at least 8 characters",
        ));
    }
    if n > 256 {
        return Err(ValidationError::new(
            "password",
            "must be at most 256 characters",
        ));
    }
    Ok(())
}

/// A quantity in an order line.
pub fn order_quantity(value: i64) -> Result<u32, ValidationError> {
    if value < 1 || value > i64::from(MAX_ORDER_QUANTITY) {
        return Err(ValidationError::new(
            "quantity",
            format!("must be from 1 to {MAX_ORDER_QUANTITY}"),
        ));
    }
    Ok(value as u32)
}

/// A star rating.
pub fn rating(value: i64) -> Result<u8, ValidationError> {
    if !(1..=5).contains(&value) {
        return Err(ValidationError::new("rating", "must be from 1 to 5"));
    }
    Ok(value as u8)
}

/// A stock SKU: 1–64 printable characters without spaces at the ends.
pub fn sku(value: &str) -> Result<String, ValidationError> {
    let v = text("sku", value, 1, 64)?;
    if v.contains(['\n', '\t', '\r']) {
        return Err(ValidationError::new("sku", "must be on one line"));
    }
    Ok(v)
}

/// `s` on one line: control characters (line breaks, tabs, …), which error messages may quote
/// from hostile input, are shown escaped (`\n`, `\u{1b}`).
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: PartialEq + std::fmt::Debug>(
        f: impl Fn(&str) -> Result<T, ValidationError>,
        ok: &[(&str, T)],
        bad: &[&str],
    ) {
        for (input, expected) in ok {
            assert_eq!(f(input).as_ref(), Ok(expected), "{input:?}");
        }
        for input in bad {
            assert!(f(input).is_err(), "{input:?} should be refused");
        }
    }

    #[test]
    fn names() {
        check(
            person_name,
            &[
                ("  Иван   Петров ", "Иван Петров".to_string()),
                ("Олена Шевченко-Коваль", "Олена Шевченко-Коваль".to_string()),
                ("D'Artagnan J.", "D'Artagnan J.".to_string()),
            ],
            &["", "A", "12345", "Ivan<script>", "Bob_1", &"я".repeat(101)],
        );
    }

    #[test]
    fn phones() {
        check(
            phone,
            &[
                ("+7 (912) 345-67-89", "+79123456789".to_string()),
                ("8 912 345 67 89", "89123456789".to_string()),
                ("+380 44 123 4567", "+380441234567".to_string()),
            ],
            &[
                "",
                "12345",
                "+7 912 abc",
                "++79123456789",
                "+7912345678901234567",
                "7-912-345",
            ],
        );
    }

    #[test]
    fn emails_logins_passwords() {
        check(
            email,
            &[(" a.b@office.local ", "a.b@office.local".to_string())],
            &["a", "a@b", "@b.c", "a b@c.d", "a@b.c."],
        );
        check(
            login,
            &[("Ivan.P", "ivan.p".to_string())],
            &["a", "иван", "a b", &"x".repeat(33)],
        );
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        assert!(password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn text_lengths_and_quantities() {
        assert_eq!(text("subject", "  hi ", 1, 10), Ok("hi".into()));
        assert_eq!(
            text("subject", "   ", 1, 10).unwrap_err().problem,
            "must not be empty"
        );
        assert!(text("subject", &"x".repeat(11), 1, 10).is_err());
        assert!(text("subject", "a\u{0}b", 1, 10).is_err());
        assert!(text("description", "line1\nline2", 1, 100).is_ok());
        assert_eq!(order_quantity(1), Ok(1));
        assert!(order_quantity(0).is_err());
        assert!(order_quantity(101).is_err());
        assert_eq!(rating(5), Ok(5));
        assert!(rating(6).is_err());
        assert!(sku("CE285A").is_ok());
        assert!(sku("").is_err());
    }
}
