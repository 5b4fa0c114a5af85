//! `GET /static/{filename}` (`STATIC_FILES_DIR`, spec §8): one file of one
//! directory, never a path outside it, with the headers of Starlette's
//! `FileResponse` (`etag`, `last-modified`, `accept-ranges`) and single
//! byte ranges.

use std::path::Path;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::negotiate;

/// The content type of a file name, as Python's `mimetypes` guesses it for
/// the usual web files (text types get `charset=utf-8`).
fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "text/xml; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "yaml" | "yml" => "application/yaml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "webp" => "image/webp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        _ => "text/plain; charset=utf-8",
    }
}

/// An HTTP date (`Thu, 01 Jan 1970 00:00:00 GMT`).
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since the epoch (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A single `bytes=a-b` / `bytes=a-` / `bytes=-n` range within `len` bytes:
/// `Ok(None)` when there is no (usable) range header, `Err(())` when the
/// range cannot be satisfied.
fn byte_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        // Several ranges: answer the whole file.
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (start, end) = match (a.trim(), b.trim()) {
        ("", "") => return Ok(None),
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (a, "") => (a.parse().map_err(|_| ())?, len.saturating_sub(1)),
        (a, b) => {
            let b: u64 = b.parse().map_err(|_| ())?;
            (a.parse().map_err(|_| ())?, b.min(len.saturating_sub(1)))
        }
    };
    if len == 0 || start > end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// The answer for `GET /static/<name>`.
pub async fn serve(
    dir: Option<&Path>,
    name: &str,
    headers: &HeaderMap,
    accept: &[String],
) -> Response {
    let Some(dir) = dir else {
        return negotiate::error(StatusCode::NOT_FOUND, "Static files not enabled.", accept);
    };
    let not_found = || negotiate::error(StatusCode::NOT_FOUND, "File not found", accept);
    // One plain file name only: never a path that leaves the directory.
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return not_found();
    }
    let path = dir.join(name);
    // Nor through a symbolic link.
    let (Ok(real), Ok(real_dir)) = (
        tokio::fs::canonicalize(&path).await,
        tokio::fs::canonicalize(dir).await,
    ) else {
        return not_found();
    };
    if !real.starts_with(&real_dir) {
        return not_found();
    }
    let Ok(meta) = tokio::fs::metadata(&real).await else {
        return not_found();
    };
    if !meta.is_file() {
        return not_found();
    }
    let Ok(bytes) = tokio::fs::read(&real).await else {
        return not_found();
    };
    let len = bytes.len() as u64;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let etag = format!("\"{mtime:x}-{len:x}\"");
    let (status, content, range) = match byte_range(headers, len) {
        Ok(Some((s, e))) => (
            StatusCode::PARTIAL_CONTENT,
            bytes[s as usize..=e as usize].to_vec(),
            Some(format!("bytes {s}-{e}/{len}")),
        ),
        Ok(None) => (StatusCode::OK, bytes, None),
        Err(()) => {
            let mut r = negotiate::text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "text/plain",
                "Range Not Satisfiable",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let mut r = Response::new(Body::from(content));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    for (k, v) in [
        (header::ETAG, Some(etag)),
        (header::LAST_MODIFIED, Some(http_date(mtime))),
        (header::CONTENT_RANGE, range),
    ] {
        if let Some(v) = v.and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert(k, v);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_rfc_7231_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn single_byte_ranges_are_understood() {
        let mut h = HeaderMap::new();
        assert_eq!(byte_range(&h, 10), Ok(None));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=2-4"));
        assert_eq!(byte_range(&h, 10), Ok(Some((2, 4))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-3"));
        assert_eq!(byte_range(&h, 10), Ok(Some((7, 9))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=8-"));
        assert_eq!(byte_range(&h, 10), Ok(Some((8, 9))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=20-"));
        assert_eq!(byte_range(&h, 10), Err(()));
    }
}
