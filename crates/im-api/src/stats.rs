//! `GET /stats` helpers (spec §6): the date parameters, checked as the
//! reference checks them (`int()` of the first three parts and a valid date,
//! then `strptime("%Y-%m-%d")` in the core), and the CSV representation
//! written as Python's `csv.writer` writes it.

use indexmap::IndexMap;
use serde_json::Value;

use im_core::Date;

/// Why a date parameter was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum DateError {
    /// `Incorrect format in <name> parameter: YYYY/MM/dd` (the route's check).
    Format,
    /// What Python's `strptime` says (`unconverted data remains: -05`); the
    /// route answers `Error getting stats: <this>`.
    Strptime(String),
}

/// Python's `int()` of a string (whitespace, a sign, `_` between digits).
fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Matches one of the alternatives of a `strptime` directive (Python's `re`
/// takes the first alternative that lets the whole pattern go on; here each
/// directive is followed by a literal, so the first prefix match is kept
/// unless the caller's next literal fails, which then fails the whole date).
/// One alternative of a directive: the length it matches at the start (0: none).
type Alt = fn(&[u8]) -> usize;

fn take<'a>(s: &'a str, alternatives: &[Alt]) -> Option<(&'a str, &'a str)> {
    let b = s.as_bytes();
    alternatives.iter().find_map(|alt| {
        let n = alt(b);
        (n > 0).then(|| s.split_at(n))
    })
}

fn digit(b: &[u8], i: usize, lo: u8, hi: u8) -> bool {
    b.get(i).is_some_and(|c| (lo..=hi).contains(c))
}

/// Python's `datetime.strptime(text, "%Y-%m-%d")`, reduced to its messages.
fn strptime(text: &str) -> Result<(), String> {
    let no_match = || {
        format!(
            "time data {} does not match format '%Y-%m-%d'",
            crate::negotiate::py_str_repr(text)
        )
    };
    let year: Alt = |b| {
        if (0..4).all(|i| digit(b, i, b'0', b'9')) {
            4
        } else {
            0
        }
    };
    let month: [Alt; 3] = [
        |b| {
            if digit(b, 0, b'1', b'1') && digit(b, 1, b'0', b'2') {
                2
            } else {
                0
            }
        },
        |b| {
            if digit(b, 0, b'0', b'0') && digit(b, 1, b'1', b'9') {
                2
            } else {
                0
            }
        },
        |b| usize::from(digit(b, 0, b'1', b'9')),
    ];
    let day: [Alt; 5] = [
        |b| {
            if digit(b, 0, b'3', b'3') && digit(b, 1, b'0', b'1') {
                2
            } else {
                0
            }
        },
        |b| {
            if digit(b, 0, b'1', b'2') && digit(b, 1, b'0', b'9') {
                2
            } else {
                0
            }
        },
        |b| {
            if digit(b, 0, b'0', b'0') && digit(b, 1, b'1', b'9') {
                2
            } else {
                0
            }
        },
        |b| usize::from(digit(b, 0, b'1', b'9')),
        |b| {
            if b.first() == Some(&b' ') && digit(b, 1, b'1', b'9') {
                2
            } else {
                0
            }
        },
    ];
    let (_, rest) = take(text, &[year]).ok_or_else(no_match)?;
    let rest = rest.strip_prefix('-').ok_or_else(no_match)?;
    let (_, rest) = take(rest, &month).ok_or_else(no_match)?;
    let rest = rest.strip_prefix('-').ok_or_else(no_match)?;
    let (_, rest) = take(rest, &day).ok_or_else(no_match)?;
    if !rest.is_empty() {
        return Err(format!("unconverted data remains: {rest}"));
    }
    Ok(())
}

/// A date parameter: `None` when absent or empty (the route's default).
pub fn date_param(v: Option<&str>) -> Result<Option<Date>, DateError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let norm = v.replace('/', "-");
    let parts: Vec<&str> = norm.split('-').collect();
    let (Some(y), Some(m), Some(d)) = (
        parts.first().and_then(|p| py_int(p)),
        parts.get(1).and_then(|p| py_int(p)),
        parts.get(2).and_then(|p| py_int(p)),
    ) else {
        return Err(DateError::Format);
    };
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(DateError::Format);
    }
    strptime(&norm).map_err(DateError::Strptime)?;
    Ok(Some((y as i32, m as u32, d as u32)))
}

/// One CSV cell as `csv.writer` writes Python's value.
fn cell(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => String::new(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => im_radl::python_float_repr(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows as CSV: a header with the keys of the first row, `\r\n` line
/// ends; no rows is a single empty line.
pub fn csv(rows: &[IndexMap<String, Value>]) -> String {
    let Some(first) = rows.first() else {
        return "\r\n".into();
    };
    let mut out = first
        .keys()
        .map(|k| cell(&Value::String(k.clone())))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.values().map(cell).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_are_checked_as_the_reference_checks_them() {
        assert_eq!(date_param(None), Ok(None));
        assert_eq!(date_param(Some("")), Ok(None));
        assert_eq!(date_param(Some("2020/02/29")), Ok(Some((2020, 2, 29))));
        assert_eq!(date_param(Some("2020-1-5")), Ok(Some((2020, 1, 5))));
        assert_eq!(date_param(Some("2019-02-29")), Err(DateError::Format));
        assert_eq!(date_param(Some("2020-13-01")), Err(DateError::Format));
        assert_eq!(date_param(Some("foo")), Err(DateError::Format));
        assert_eq!(date_param(Some("2020-01")), Err(DateError::Format));
        assert_eq!(
            date_param(Some("2020-01-01-05")),
            Err(DateError::Strptime("unconverted data remains: -05".into()))
        );
        assert_eq!(
            date_param(Some("20-01-01")),
            Err(DateError::Strptime(
                "time data '20-01-01' does not match format '%Y-%m-%d'".into()
            ))
        );
    }

    #[test]
    fn csv_is_written_as_python_writes_it() {
        let mut row = IndexMap::new();
        row.insert("a".to_string(), json!("x,y"));
        row.insert("b".to_string(), json!(true));
        row.insert("c".to_string(), json!(1.5));
        row.insert("d".to_string(), json!(2));
        row.insert("e".to_string(), json!(null));
        assert_eq!(csv(&[row]), "a,b,c,d,e\r\n\"x,y\",True,1.5,2,\r\n");
        assert_eq!(csv(&[]), "\r\n");
    }
}
