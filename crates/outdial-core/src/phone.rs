//! Phone numbers in E.164, parsed and validated with libphonenumber's rules through the
//! [`phonenumber`] crate (metadata from Google's libphonenumber, Apache-2.0).
//!
//! E.164 is ITU-T Recommendation E.164: `+`, a country code and a national number, at most
//! 15 digits in all. outdial stores and compares numbers only in this form, so `(415) 555-2671`,
//! `415.555.2671` and `+1 415 555 2671` are one number.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a raw string is not a dialable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The field was empty.
    #[error("phone number is empty")]
    Empty,
    /// libphonenumber could not parse the string at all (letters, too short, too long…).
    #[error("'{raw}' is not a phone number: {reason}")]
    Unparseable {
        /// The input as given.
        raw: String,
        /// libphonenumber's reason.
        reason: String,
    },
    /// The string parses but is not a valid number for its region (for example an
    /// unassigned area code such as 555-0100 fictional ranges or a 1xx exchange).
    #[error("'{raw}' is not a valid number (checked as {e164})")]
    Invalid {
        /// The input as given.
        raw: String,
        /// What it normalised to before validation failed.
        e164: String,
    },
}

/// A region (ISO 3166-1 alpha-2 country) used to read numbers written without `+` and a
/// country code. Default: `US`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    /// The United States (NANP, country code 1).
    pub const US: Region = Region(phonenumber::country::Id::US);
}

impl Default for Region {
    fn default() -> Self {
        Region::US
    }
}

impl FromStr for Region {
    type Err = String;
    /// Parses a two-letter ISO 3166-1 code such as `US`, `CA` or `GB` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| format!("'{s}' is not an ISO 3166-1 alpha-2 region code"))
    }
}

/// A validated phone number in E.164 form (`+14155552671`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses and validates `raw`, reading a number without a country code as one of
    /// `default_region`.
    ///
    /// Errors: [`PhoneError::Empty`] for an empty string, [`PhoneError::Unparseable`] when
    /// libphonenumber cannot read it, [`PhoneError::Invalid`] when it reads but is not a valid
    /// number in its region.
    pub fn parse(raw: &str, default_region: Region) -> Result<E164, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let number = phonenumber::parse(Some(default_region.0), trimmed).map_err(|e| {
            PhoneError::Unparseable {
                raw: trimmed.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid {
                raw: trimmed.to_owned(),
                e164,
            });
        }
        Ok(E164(e164))
    }

    /// Wraps a string already in E.164 form (as stored), checking only its shape:
    /// `+` then 8 to 15 digits, the first not 0. Used when reading back from the store.
    pub fn from_stored(s: &str) -> Result<E164, PhoneError> {
        let digits = s.strip_prefix('+').unwrap_or("");
        let shape_ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if shape_ok {
            Ok(E164(s.to_owned()))
        } else {
            Err(PhoneError::Unparseable {
                raw: s.to_owned(),
                reason: "not in E.164 form (+ and 8 to 15 digits)".into(),
            })
        }
    }

    /// The number as `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For a NANP number (`+1` and ten digits) the area code (NPA), else `None`.
    pub fn nanp_area_code(&self) -> Option<&str> {
        self.nanp_national().map(|n| &n[0..3])
    }

    /// For a NANP number the first six national digits (NPA-NXX), else `None`.
    pub fn nanp_npa_nxx(&self) -> Option<&str> {
        self.nanp_national().map(|n| &n[0..6])
    }

    fn nanp_national(&self) -> Option<&str> {
        let n = self.0.strip_prefix("+1")?;
        (n.len() == 10).then_some(n)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        E164::from_stored(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<&str, &str>) {
        let got = E164::parse(raw, Region::US);
        match (got, expected) {
            (Ok(n), Ok(e)) => assert_eq!(n.as_str(), e, "input {raw:?}"),
            (Err(err), Err(kind)) => assert!(
                format!("{err:?}").starts_with(kind),
                "input {raw:?}: expected {kind}, got {err:?}"
            ),
            (got, expected) => panic!("input {raw:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn normalises_common_us_formats() {
        check("(415) 555-2671", Ok("+14155552671"));
        check("415.555.2671", Ok("+14155552671"));
        check("+1 415 555 2671", Ok("+14155552671"));
        check("1-415-555-2671", Ok("+14155552671"));
        check("2125550123", Ok("+12125550123"));
        check("+44 20 7946 0958", Ok("+442079460958"));
    }

    #[test]
    fn rejects_bad_numbers_with_a_reason() {
        check("", Err("Empty"));
        check("   ", Err("Empty"));
        check("not a number", Err("Unparseable"));
        check("123", Err("Invalid"));
        check("(011) 555-2671", Err("Invalid"));
    }

    #[test]
    fn region_parses_case_insensitively() {
        assert_eq!("us".parse::<Region>().unwrap(), Region::US);
        assert!("XX".parse::<Region>().is_err());
        let gb: Region = "GB".parse().unwrap();
        assert_eq!(
            E164::parse("020 7946 0958", gb).unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn nanp_parts() {
        let n = E164::parse("4155552671", Region::US).unwrap();
        assert_eq!(n.nanp_area_code(), Some("415"));
        assert_eq!(n.nanp_npa_nxx(), Some("415555"));
        let uk = E164::parse("+442079460958", Region::US).unwrap();
        assert_eq!(uk.nanp_area_code(), None);
    }

    #[test]
    fn stored_shape_check() {
        assert!(E164::from_stored("+14155552671").is_ok());
        assert!(E164::from_stored("14155552671").is_err());
        assert!(E164::from_stored("+0123456789").is_err());
    }
}
