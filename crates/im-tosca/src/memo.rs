//! What was made from a fetched document (its parsed YAML, its type table),
//! kept by the document's text for the life of the process.
//!
//! The same type files, `template_file` bases and playbooks come back with
//! nearly every conversion (the service's fetcher caches their bodies for an
//! hour, as the reference does), and parsing them again each time was most of
//! a conversion's cost. The key is the whole text, not the URL: a document
//! whose body changed is parsed afresh, so results never depend on the cache.
//! Only successes are kept; templates a user posts are not (they differ).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// At most this many documents, of at most this many bytes of text in all,
/// are kept per memo; when one more would not fit it is emptied (the working
/// set of a service is a handful of files, the largest type file ≈ 75 KB;
/// a parsed document takes several times its text's size).
const MAX_ENTRIES: usize = 64;
const MAX_TOTAL: usize = 2 << 20;
/// Longer texts are not kept (a user-supplied URL could name anything).
const MAX_TEXT: usize = 512 << 10;

/// A process-wide memo of `T`s made from texts.
pub(crate) struct Memo<T> {
    map: OnceLock<Mutex<Kept<T>>>,
}

/// The kept values and the bytes of their texts.
struct Kept<T> {
    values: HashMap<String, Arc<T>>,
    bytes: usize,
}

impl<T> Memo<T> {
    /// An empty memo (usable in a `static`).
    pub(crate) const fn new() -> Self {
        Memo {
            map: OnceLock::new(),
        }
    }

    /// What `make` makes of `text`, made once per distinct text.
    pub(crate) fn get_or_try<E>(
        &self,
        text: &str,
        make: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if text.len() > MAX_TEXT {
            return make(text).map(Arc::new);
        }
        let map = self.map.get_or_init(|| {
            Mutex::new(Kept {
                values: HashMap::new(),
                bytes: 0,
            })
        });
        if let Ok(m) = map.lock()
            && let Some(hit) = m.values.get(text)
        {
            return Ok(Arc::clone(hit));
        }
        // Not held while making: another thread may make the same value too,
        // which costs time but gives the same result.
        let made = Arc::new(make(text)?);
        if let Ok(mut m) = map.lock() {
            if m.values.len() >= MAX_ENTRIES || m.bytes + text.len() > MAX_TOTAL {
                m.values.clear();
                m.bytes = 0;
            }
            if m.values
                .insert(text.to_string(), Arc::clone(&made))
                .is_none()
            {
                m.bytes += text.len();
            }
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_made_once_and_failures_are_not_kept() {
        let memo: Memo<usize> = Memo::new();
        let mut calls = 0;
        let mut make = |t: &str| -> Result<usize, ()> {
            calls += 1;
            Ok(t.len())
        };
        assert_eq!(*memo.get_or_try("abc", &mut make).unwrap(), 3);
        assert_eq!(*memo.get_or_try("abc", &mut make).unwrap(), 3);
        assert_eq!(*memo.get_or_try("abcd", &mut make).unwrap(), 4);
        assert_eq!(calls, 2);
        assert!(memo.get_or_try("x", |_| Err::<usize, ()>(())).is_err());
        assert_eq!(*memo.get_or_try("x", |_| Ok::<usize, ()>(7)).unwrap(), 7);
    }

    #[test]
    fn what_is_kept_stays_bounded() {
        let memo: Memo<usize> = Memo::new();
        for i in 0..40 {
            let text = format!("{}{i}", " ".repeat(300 << 10));
            assert_eq!(
                *memo
                    .get_or_try(&text, |t| Ok::<usize, ()>(t.len()))
                    .unwrap(),
                text.len()
            );
        }
        for i in 0..200 {
            let _ = memo.get_or_try(&i.to_string(), |t| Ok::<usize, ()>(t.len()));
        }
        let kept = memo.map.get().unwrap().lock().unwrap();
        assert!(kept.bytes <= MAX_TOTAL && kept.values.len() <= MAX_ENTRIES);
        assert_eq!(
            kept.bytes,
            kept.values.keys().map(String::len).sum::<usize>()
        );
    }
}
