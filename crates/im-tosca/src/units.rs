//! TOSCA scalar units (`1 GB`, `512 MiB`, `2 GHz`), read as tosca-parser reads
//! them: the number, then a unit matched case-insensitively.

/// The kinds of scalar-unit types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// `scalar-unit.size`
    Size,
    /// `scalar-unit.frequency`
    Frequency,
    /// `scalar-unit.time`
    Time,
}

impl ScalarKind {
    /// The kind of a property type name, if it is a scalar-unit type.
    pub fn of_type(ty: &str) -> Option<ScalarKind> {
        match ty {
            "scalar-unit.size" => Some(ScalarKind::Size),
            "scalar-unit.frequency" => Some(ScalarKind::Frequency),
            "scalar-unit.time" => Some(ScalarKind::Time),
            _ => None,
        }
    }

    fn units(self) -> &'static [(&'static str, f64)] {
        match self {
            ScalarKind::Size => &[
                ("B", 1.0),
                ("kB", 1e3),
                ("KiB", 1024.0),
                ("MB", 1e6),
                ("MiB", 1_048_576.0),
                ("GB", 1e9),
                ("GiB", 1_073_741_824.0),
                ("TB", 1e12),
                ("TiB", 1_099_511_627_776.0),
            ],
            ScalarKind::Frequency => &[("Hz", 1.0), ("kHz", 1e3), ("MHz", 1e6), ("GHz", 1e9)],
            ScalarKind::Time => &[
                ("d", 86400.0),
                ("h", 3600.0),
                ("m", 60.0),
                ("s", 1.0),
                ("ms", 1e-3),
                ("us", 1e-6),
                ("ns", 1e-9),
            ],
        }
    }
}

/// A scalar read from text: its number and its canonical unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scalar {
    /// The number as written.
    pub number: f64,
    /// The unit's factor to the base unit.
    pub factor: f64,
}

/// Reads `"<number> <unit>"`; the error is tosca-parser's message.
pub fn parse_scalar(text: &str, kind: ScalarKind) -> Result<Scalar, String> {
    let t = text.trim_start();
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_len);
    let unit = rest.trim();
    let invalid = || format!("\"{text}\" is not a valid scalar-unit.");
    let number: f64 = num.parse().map_err(|_| invalid())?;
    if unit.is_empty() || !unit.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(invalid());
    }
    let units = kind.units();
    let found = units
        .iter()
        .find(|(u, _)| *u == unit)
        .or_else(|| units.iter().find(|(u, _)| u.eq_ignore_ascii_case(unit)));
    match found {
        Some((_, factor)) => Ok(Scalar {
            number,
            factor: *factor,
        }),
        None => Err(format!(
            "The unit \"{unit}\" is not valid. Valid units are \"[{}]\".",
            units
                .iter()
                .map(|(u, _)| format!("'{u}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A size in bytes, as tosca-parser's `get_num_from_scalar_unit('B')`: an
/// integer when the result is integral.
pub fn size_in_bytes(text: &str) -> Result<im_radl::Number, String> {
    let s = parse_scalar(text, ScalarKind::Size)?;
    let v = s.number * s.factor;
    if v - v.trunc() < 1e-13 && v.abs() < 9.0e18 {
        Ok(im_radl::Number::Int(v.trunc() as i64))
    } else {
        Ok(im_radl::Number::Float(v))
    }
}

/// A size in an arbitrary size unit (`MiB` for OSCAR memory), as a float.
pub fn size_in(text: &str, unit: &str) -> Result<f64, String> {
    let s = parse_scalar(text, ScalarKind::Size)?;
    let target = parse_scalar(&format!("1 {unit}"), ScalarKind::Size)?;
    Ok(s.number * s.factor / target.factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_radl::Number;

    #[test]
    fn sizes_convert_to_bytes_as_tosca_parser_does() {
        assert_eq!(size_in_bytes("1 GB"), Ok(Number::Int(1_000_000_000)));
        assert_eq!(size_in_bytes("1.5 GiB"), Ok(Number::Int(1_610_612_736)));
        assert_eq!(size_in_bytes("10GB"), Ok(Number::Int(10_000_000_000)));
        assert_eq!(size_in_bytes("2 gib"), Ok(Number::Int(2_147_483_648)));
        assert!(
            size_in_bytes("1 XB")
                .unwrap_err()
                .starts_with("The unit \"XB\" is not valid.")
        );
        assert!(size_in_bytes("GB").is_err());
    }
}
