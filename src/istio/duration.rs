//! Go-style durations (`30ms`, `1.5s`, `1h30m`, `7200s`), as Go's `time.ParseDuration` reads
//! them and as Kubernetes' CEL `duration()` checks them.

use std::fmt;
use std::time::Duration;

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a Go duration.
    #[error("`{0}` is not a duration")]
    Malformed(String),
    /// A number without a unit.
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    /// A unit Go does not know.
    #[error("`{text}` has an unknown unit `{unit}`")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unit found.
        unit: String,
    },
    /// Beyond Go's range (about 292 years).
    #[error("`{0}` is out of range")]
    Overflow(String),
}

/// A parsed Go duration: signed, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration {
    nanos: i64,
}

impl GoDuration {
    /// The duration in nanoseconds (negative durations are valid Go durations).
    pub fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// The duration as a `std::time::Duration`, or `None` when negative.
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.nanos).ok().map(Duration::from_nanos)
    }

    /// A duration from a `std::time::Duration`, saturating at Go's range.
    pub fn from_std(d: Duration) -> Self {
        Self {
            nanos: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

impl fmt::Display for GoDuration {
    /// Formats as Go does for whole units: `1h30m0s`, `1.5s`, `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_nanos(self.nanos))
    }
}

/// Formats nanoseconds compactly: `90s` as `1m30s`, `1500ms` as `1.5s`, `250ms`.
fn format_nanos(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000_000_000 {
        return match n {
            n if n % 1_000_000 == 0 => format!("{sign}{}ms", n / 1_000_000),
            n if n % 1_000 == 0 => format!("{sign}{}us", n / 1_000),
            n => format!("{sign}{n}ns"),
        };
    }
    let (h, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let (s, frac) = (rest / 1_000_000_000, rest % 1_000_000_000);
    let mut out = String::from(sign);
    if h > 0 {
        out += &format!("{h}h");
    }
    if h > 0 || m > 0 {
        out += &format!("{m}m");
    }
    if frac == 0 {
        out += &format!("{s}s");
    } else {
        let digits = format!("{frac:09}");
        out += &format!("{s}.{}s", digits.trim_end_matches('0'));
    }
    out
}

/// Parses a Go duration: an optional sign, then one or more decimal numbers each with a unit
/// (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), or a bare `0`.
pub fn parse(text: &str) -> Result<GoDuration, DurationError> {
    let malformed = || DurationError::Malformed(text.to_owned());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(GoDuration { nanos: 0 });
    }
    if rest.is_empty() {
        return Err(malformed());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(malformed());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(DurationError::MissingUnit(text.to_owned())),
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        let overflow = || DurationError::Overflow(text.to_owned());
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| overflow())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(overflow)?;
        // Fractional digits beyond nanosecond precision cannot matter; 30 digits keep the
        // arithmetic in range.
        let frac_digits = &frac_part[..frac_part.len().min(30)];
        if !frac_digits.is_empty() {
            let frac: u128 = frac_digits.parse().map_err(|_| malformed())?;
            value += frac * scale / 10u128.pow(frac_digits.len() as u32);
        }
        total = total.checked_add(value).ok_or_else(overflow)?;
        if total > i64::MAX as u128 {
            return Err(overflow());
        }
        rest = next;
    }
    let nanos = i64::try_from(total).map_err(|_| DurationError::Overflow(text.to_owned()))?;
    Ok(GoDuration {
        nanos: if negative { -nanos } else { nanos },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        parse(text).unwrap().as_nanos() / 1_000_000
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(ms("30ms"), 30);
        assert_eq!(ms("1.5s"), 1500);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("7200s"), 7_200_000);
        assert_eq!(ms(".5s"), 500);
        assert_eq!(ms("5.s"), 5000);
        assert_eq!(ms("+2m"), 120_000);
        assert_eq!(parse("-1s").unwrap().as_nanos(), -1_000_000_000);
        assert_eq!(parse("0").unwrap().as_nanos(), 0);
        assert_eq!(parse("1µs").unwrap().as_nanos(), 1_000);
        assert_eq!(parse("1.000000001s").unwrap().as_nanos(), 1_000_000_001);
        assert_eq!(
            parse("2562047h").unwrap().as_nanos(),
            2_562_047 * 3_600_000_000_000
        );
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            "s",
            ".s",
            "1",
            "10 s",
            "1d",
            "1.2.3s",
            "-",
            "1s2",
            "30 seconds",
            "2562048h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            parse("5").unwrap_err(),
            DurationError::MissingUnit("5".into())
        );
        assert!(
            matches!(parse("3d").unwrap_err(), DurationError::UnknownUnit { unit, .. } if unit == "d")
        );
        assert!(matches!(
            parse("99999999999999999999h").unwrap_err(),
            DurationError::Overflow(_)
        ));
    }

    #[test]
    fn formats_compactly() {
        let show = |t: &str| parse(t).unwrap().to_string();
        assert_eq!(show("90s"), "1m30s");
        assert_eq!(show("1500ms"), "1.5s");
        assert_eq!(show("250ms"), "250ms");
        assert_eq!(show("1h"), "1h0m0s");
        assert_eq!(show("0"), "0s");
    }
}
