//! Units of measure and Python-compatible number formatting.
//!
//! RADL numbers carry an optional unit (`512M`, `1GiB`, `2.5GCEU`). The reference
//! converts them with SI factors (`M` = 10^6, not 2^20) and prints numbers the way
//! Python's `str()` does; both are reproduced here.

use std::fmt;

/// A RADL number: integers and floats stay distinct, as in the reference
/// (`memory.size` must be an integer, `1.` is a float).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer literal (`512`).
    Int(i64),
    /// A literal with a decimal point (`1.5`, `2.`).
    Float(f64),
}

impl Number {
    /// The value as a float, for comparisons.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// Whether this is an integer.
    pub fn is_int(self) -> bool {
        matches!(self, Number::Int(_))
    }

    /// Python truthiness: zero is false.
    pub fn is_zero(self) -> bool {
        self.as_f64() == 0.0
    }

    /// The value multiplied by the factor of `unit`: base units (bytes for memory
    /// units). An integer stays an integer unless it overflows.
    pub fn in_base_units(self, unit: &str) -> Number {
        let factor = unit_factor(unit);
        match self {
            Number::Int(i) => match i.checked_mul(factor) {
                Some(v) => Number::Int(v),
                None => Number::Float(i as f64 * factor as f64),
            },
            Number::Float(f) => Number::Float(f * factor as f64),
        }
    }

    /// Converts a value expressed in `own_unit` to `target_unit`, as the reference's
    /// `getValue(unit)`: integers are rounded to the nearest integer, floats stay floats.
    pub fn convert(self, own_unit: &str, target_unit: &str) -> Number {
        let r = self.as_f64() * unit_factor(own_unit) as f64 / unit_factor(target_unit) as f64;
        match self {
            Number::Int(_) => Number::Int(python_round(r)),
            Number::Float(_) => Number::Float(r),
        }
    }
}

/// Python 3 `round()` of a float to an integer: half to even.
fn python_round(v: f64) -> i64 {
    let r = v.round();
    let r = if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - v.signum()
    } else {
        r
    };
    r as i64
}

/// Numbers as RADL text: like Python's `str()` but never in exponent notation,
/// which RADL cannot read back (IM-compat: the reference prints `1e+16`).
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(v) if v.is_finite() && v.fract() == 0.0 => write!(f, "{v}.0"),
            Number::Float(v) => write!(f, "{v}"),
        }
    }
}

/// The multiplier of a unit: case-insensitive, one trailing `B` ignored, SI
/// (`K` = 1000) or binary (`Ki` = 1024); anything else (including `ECU`) is 1.
pub fn unit_factor(unit: &str) -> i64 {
    const FACTORS: [(&str, i64); 8] = [
        ("K", 1_000),
        ("KI", 1_024),
        ("M", 1_000_000),
        ("MI", 1_048_576),
        ("G", 1_000_000_000),
        ("GI", 1 << 30),
        ("T", 1_000_000_000_000),
        ("TI", 1 << 40),
    ];
    let u = unit.strip_suffix(['b', 'B']).unwrap_or(unit);
    FACTORS
        .iter()
        .find(|(name, _)| u.eq_ignore_ascii_case(name))
        .map_or(1, |&(_, factor)| factor)
}

/// Formats a float as Python's `repr()`/`str()` does: the shortest digits that
/// round-trip, fixed notation for exponents in `[-4, 16)`, a `.0` for integral values.
pub fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-tripping digits: "1.2345e3".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // position of the decimal point within `digits`
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(0.5), "0.5");
        assert_eq!(python_float_repr(1.5e12), "1500000000000.0");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(
            python_float_repr(1.2345678901234567e19),
            "1.2345678901234567e+19"
        );
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(0.00001), "1e-05");
        assert_eq!(python_float_repr(123.456), "123.456");
    }

    #[test]
    fn units_are_si_unless_binary() {
        assert_eq!(unit_factor("M"), 1_000_000);
        assert_eq!(unit_factor("mb"), 1_000_000);
        assert_eq!(unit_factor("GiB"), 1 << 30);
        assert_eq!(unit_factor("ECU"), 1);
        assert_eq!(unit_factor(""), 1);
        assert_eq!(
            Number::Int(512).in_base_units("M"),
            Number::Int(512_000_000)
        );
        assert_eq!(Number::Int(1).convert("G", "M"), Number::Int(1000));
        assert_eq!(Number::Int(1536).convert("M", "G"), Number::Int(2));
        assert_eq!(Number::Int(2500).convert("M", "G"), Number::Int(2));
    }
}
