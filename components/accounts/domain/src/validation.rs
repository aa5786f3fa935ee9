//! The rules for what users send: each check answers the message a client sees under
//! the field's name.

use crate::{Credentials, PasswordChange, ProfileUpdate, Registration};
use kit::FieldError;
use kit::json::{FieldErrors, Validate};

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounds the work one login can demand of the hasher.
pub const MAX_PASSWORD_CHARS: usize = 1024;
pub const MAX_NAME_CHARS: usize = 200;
/// RFC 5321's limits: a path of 256 octets less the angle brackets, a local part of 64.
const MAX_EMAIL_BYTES: usize = 254;
const MAX_LOCAL_PART_BYTES: usize = 64;
const MAX_DOMAIN_LABEL_BYTES: usize = 63;

/// The stored form of an email: trimmed and lower-case, so uniqueness ignores case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks the syntax of a normalized email: `local@domain`, a dotted domain of letters,
/// digits and hyphens, no spaces. Deliberately stricter than RFC 5322 (no quoted local
/// parts or address literals), which real sign-ups do not use.
pub fn check_email(email: &str) -> Result<(), &'static str> {
    const INVALID: &str = "must be an email address like name@example.com";
    if email.is_empty() {
        return Err("must not be empty");
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err("must be at most 254 characters");
    }
    let (local, domain) = email.split_once('@').ok_or(INVALID)?;
    let local_ok = !local.is_empty()
        && local.len() <= MAX_LOCAL_PART_BYTES
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@\"(),:;<>[\\]".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_DOMAIN_LABEL_BYTES
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(INVALID)
    }
}

pub fn check_password(password: &str) -> Result<(), &'static str> {
    match password.chars().count() {
        n if n < MIN_PASSWORD_CHARS => Err("must be at least 10 characters"),
        n if n > MAX_PASSWORD_CHARS => Err("must be at most 1024 characters"),
        _ => Ok(()),
    }
}

/// Checks a display name as it will be stored (trimmed).
pub fn check_name(name: &str) -> Result<(), &'static str> {
    match name.trim().chars().count() {
        0 => Err("must not be empty"),
        n if n > MAX_NAME_CHARS => Err("must be at most 200 characters"),
        _ => Ok(()),
    }
}

fn record(errors: &mut FieldErrors, field: &str, outcome: Result<(), &'static str>) {
    if let Err(message) = outcome {
        errors.push(field, message);
    }
}

impl Validate for Registration {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        record(
            &mut errors,
            "email",
            check_email(&normalize_email(&self.email)),
        );
        record(&mut errors, "password", check_password(&self.password));
        record(&mut errors, "name", check_name(&self.name));
        errors.into_result()
    }
}

/// Only that both are present: the rules of registration are not revealed at login.
impl Validate for Credentials {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors
            .check(!self.email.trim().is_empty(), "email", "must not be empty")
            .check(!self.password.is_empty(), "password", "must not be empty");
        errors.into_result()
    }
}

impl Validate for ProfileUpdate {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        if let Some(name) = &self.name {
            record(&mut errors, "name", check_name(name));
        }
        errors.into_result()
    }
}

impl Validate for PasswordChange {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors.check(
            !self.current_password.is_empty(),
            "current_password",
            "must not be empty",
        );
        record(
            &mut errors,
            "new_password",
            check_password(&self.new_password),
        );
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "a@b.co",
            "first.last+tag@example.com",
            "x_y-z@sub.example.org",
            "üser@exämple.de",
        ] {
            assert_eq!(check_email(good), Ok(()), "{good}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example..com",
            "a@example.com.",
            "a@1.2.3.4",
            "a@exa_mple.com",
            "\"a\"@example.com",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(check_password("123456789").is_err());
        assert_eq!(check_password("1234567890"), Ok(()));
        assert_eq!(check_password("ééééééééééé"), Ok(()));
        assert!(check_password("éééé").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(check_name("Ada"), Ok(()));
        assert_eq!(check_name(&"n".repeat(200)), Ok(()));
        for bad in ["", "   ", &"n".repeat(201)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registration_names_every_broken_field() {
        let registration = Registration {
            email: "nope".into(),
            password: "short".into(),
            name: " ".into(),
        };
        let fields: Vec<String> = registration
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "password", "name"]);
        let valid = Registration {
            email: " Ada@Example.com".into(),
            password: "correct horse".into(),
            name: "Ada".into(),
        };
        assert_eq!(valid.validate(), Ok(()));
    }

    #[test]
    fn password_change_checks_the_new_password() {
        let change = PasswordChange {
            current_password: String::new(),
            new_password: "short".into(),
        };
        let fields: Vec<String> = change
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["current_password", "new_password"]);
    }
}
