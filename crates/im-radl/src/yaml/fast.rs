//! A quick well-formedness check for the usual shape of Ansible recipes.
//!
//! A port of the parts of PyYAML's `Scanner` and `Parser` (the reference
//! validates recipes with `yaml.safe_load`) that recipes commonly use: block
//! sequences and mappings, flow collections on one line, plain scalars,
//! quoted scalars on one line, literal and folded block scalars, comments and
//! one leading `---`. Names and steps follow `yaml/scanner.py` and
//! `yaml/parser.py` so that the two can be read side by side.
//!
//! It answers only "well-formed" or "not sure". Everything outside that
//! subset, every place where PyYAML (YAML 1.1) and serde-saphyr (YAML 1.2,
//! whose verdict and message we report) could disagree, and every error give
//! up, and the caller then runs the full parser. So the check must never
//! accept a text that serde-saphyr rejects; the unit tests and the fuzz
//! targets (feature `yaml-cross-check`) verify exactly that implication.
//!
//! It allocates no scalar values: tokens are bare kinds, which is where its
//! speed comes from (about 20× serde-saphyr's deserializer on the corpus).

use std::collections::VecDeque;

/// The full parser has to decide (an error, or a construct outside the subset).
pub(super) struct GiveUp;

type R<T = ()> = Result<T, GiveUp>;

/// Lines longer than this give up: PyYAML forgets a possible simple key after
/// 1024 characters and serde-saphyr after 1024 bytes of lookahead, and the
/// check never has to model either limit below it.
const MAX_LINE: usize = 1000;
/// Nesting limit, well below serde-saphyr's default budget (depth 64).
const MAX_DEPTH: usize = 32;
/// Node limit, well below serde-saphyr's default budget (250,000 nodes,
/// 1,000,000 events).
const MAX_NODES: usize = 100_000;

/// Whether `text` is certainly one well-formed YAML document for both PyYAML's
/// `safe_load` and serde-saphyr. `false` means "not sure", not "malformed".
pub(super) fn is_well_formed(text: &str) -> bool {
    let Some(ascii) = prescan(text) else {
        return false;
    };
    let mut p = Parser {
        sc: Scanner::new(text.as_bytes(), ascii),
        nodes: 0,
        depth: 0,
    };
    p.stream().is_ok()
}

/// Characters and line lengths. PyYAML's reader refuses non-printable
/// characters; tabs, carriage returns, NEL, the Unicode line and paragraph
/// separators and the byte-order mark are printable but handled differently by
/// YAML 1.1 and 1.2 (or by PyYAML and the specification), so they give up too.
/// Returns whether the text is ASCII.
fn prescan(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    // Branch-free, so that it is vectorized: this runs over every byte.
    let odd = bytes.iter().fold(0u8, |acc, &b| {
        acc | u8::from(b < 0x20 && b != b'\n') | u8::from(b == 0x7f)
    });
    if odd != 0 {
        return None;
    }
    if bytes.len() > MAX_LINE && text.split('\n').any(|line| line.len() > MAX_LINE) {
        return None;
    }
    if text.is_ascii() {
        return Some(true);
    }
    let odd = |c: char| {
        matches!(
            c,
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    };
    if text.chars().any(odd) {
        return None;
    }
    Some(false)
}

/// PyYAML's token kinds, without values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    StreamStart,
    StreamEnd,
    DocumentStart,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowMappingStart,
    FlowSequenceEnd,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Scalar,
}

/// A place where a simple key (`key: value`) may start.
#[derive(Clone, Copy)]
struct SimpleKey {
    token_number: usize,
    required: bool,
    line: usize,
    column: usize,
    /// A scalar; a flow collection as a key gives up (PyYAML's constructor
    /// refuses it as unhashable).
    scalar: bool,
}

/// `\0`, space or line break (tabs and carriage returns never get here).
fn blank_z(b: u8) -> bool {
    matches!(b, 0 | b' ' | b'\n')
}

struct Scanner<'a> {
    s: &'a [u8],
    /// Columns are in characters, as PyYAML counts them; for ASCII text
    /// they are byte offsets.
    ascii: bool,
    pos: usize,
    line: usize,
    line_start: usize,
    done: bool,
    flow_level: usize,
    tokens: VecDeque<Tok>,
    tokens_taken: usize,
    indent: isize,
    indents: Vec<isize>,
    allow_simple_key: bool,
    /// Indexed by flow level; levels above the current one are always `None`.
    possible_simple_keys: Vec<Option<SimpleKey>>,
}

impl<'a> Scanner<'a> {
    fn new(s: &'a [u8], ascii: bool) -> Self {
        let mut tokens = VecDeque::with_capacity(16);
        tokens.push_back(Tok::StreamStart);
        Scanner {
            s,
            ascii,
            pos: 0,
            line: 0,
            line_start: 0,
            done: false,
            flow_level: 0,
            tokens,
            tokens_taken: 0,
            indent: -1,
            indents: Vec::new(),
            allow_simple_key: true,
            possible_simple_keys: vec![None],
        }
    }

    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn peek_at(&self, k: usize) -> u8 {
        self.s.get(self.pos + k).copied().unwrap_or(0)
    }

    fn column(&self) -> usize {
        if self.ascii {
            self.pos - self.line_start
        } else {
            self.s[self.line_start..self.pos]
                .iter()
                .filter(|&&b| b & 0xc0 != 0x80)
                .count()
        }
    }

    /// Consumes a `\n` (the only line break the prescan lets through).
    fn line_break(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_to_line_end(&mut self) {
        self.pos = match self.s[self.pos..].iter().position(|&b| b == b'\n') {
            Some(n) => self.pos + n,
            None => self.s.len(),
        };
    }

    // Public methods.

    fn peek_token(&mut self) -> R<Tok> {
        while self.need_more_tokens()? {
            self.fetch_more_tokens()?;
        }
        self.tokens.front().copied().ok_or(GiveUp)
    }

    fn get_token(&mut self) -> R<Tok> {
        let t = self.peek_token()?;
        self.tokens.pop_front();
        self.tokens_taken += 1;
        Ok(t)
    }

    fn check(&mut self, kinds: &[Tok]) -> R<bool> {
        Ok(kinds.contains(&self.peek_token()?))
    }

    // Private methods.

    fn need_more_tokens(&mut self) -> R<bool> {
        if self.done {
            return Ok(false);
        }
        if self.tokens.is_empty() {
            return Ok(true);
        }
        // The current token may be a potential simple key, so we need to
        // look further.
        self.stale_possible_simple_keys()?;
        Ok(self.next_possible_simple_key() == Some(self.tokens_taken))
    }

    fn fetch_more_tokens(&mut self) -> R {
        self.scan_to_next_token()?;
        self.stale_possible_simple_keys()?;
        let column = self.column();
        self.unwind_indent(column as isize);
        let ch = self.peek();
        let next = self.peek_at(1);
        match ch {
            0 => self.fetch_stream_end(),
            // Directives.
            b'%' if column == 0 => Err(GiveUp),
            b'-' if column == 0 && self.check_document_indicator(b'-') => {
                self.fetch_document_start()
            }
            // `...`: a document end marker.
            b'.' if column == 0 && self.check_document_indicator(b'.') => Err(GiveUp),
            b'[' => self.fetch_flow_collection_start(Tok::FlowSequenceStart),
            b'{' => self.fetch_flow_collection_start(Tok::FlowMappingStart),
            b']' => self.fetch_flow_collection_end(Tok::FlowSequenceEnd),
            b'}' => self.fetch_flow_collection_end(Tok::FlowMappingEnd),
            b',' => self.fetch_flow_entry(),
            b'-' if blank_z(next) => self.fetch_block_entry(),
            // Explicit keys.
            b'?' if self.flow_level > 0 || blank_z(next) => Err(GiveUp),
            b':' if self.flow_level > 0 || blank_z(next) => self.fetch_value(),
            // Aliases, anchors and tags.
            b'*' | b'&' | b'!' => Err(GiveUp),
            b'|' | b'>' if self.flow_level == 0 => self.fetch_block_scalar(),
            b'\'' => self.fetch_flow_scalar(false),
            b'"' => self.fetch_flow_scalar(true),
            _ if self.check_plain() => self.fetch_plain(),
            // "found character that cannot start any token"
            _ => Err(GiveUp),
        }
    }

    // Simple keys treatment.

    fn next_possible_simple_key(&self) -> Option<usize> {
        self.possible_simple_keys
            .iter()
            .flatten()
            .map(|k| k.token_number)
            .min()
    }

    /// Simple keys are limited to a single line (the 1024-character limit
    /// never applies: longer lines gave up in the prescan).
    fn stale_possible_simple_keys(&mut self) -> R {
        for slot in &mut self.possible_simple_keys {
            if let Some(key) = slot
                && key.line != self.line
            {
                if key.required {
                    // "could not find expected ':'"
                    return Err(GiveUp);
                }
                *slot = None;
            }
        }
        Ok(())
    }

    fn save_possible_simple_key(&mut self, scalar: bool) -> R {
        let column = self.column();
        // A simple key is required at the current position.
        let required = self.flow_level == 0 && self.indent == column as isize;
        if self.allow_simple_key {
            self.remove_possible_simple_key()?;
            let key = SimpleKey {
                token_number: self.tokens_taken + self.tokens.len(),
                required,
                line: self.line,
                column,
                scalar,
            };
            if let Some(slot) = self.possible_simple_keys.get_mut(self.flow_level) {
                *slot = Some(key);
            }
        }
        Ok(())
    }

    fn remove_possible_simple_key(&mut self) -> R {
        if let Some(slot) = self.possible_simple_keys.get_mut(self.flow_level)
            && let Some(key) = slot.take()
            && key.required
        {
            return Err(GiveUp);
        }
        Ok(())
    }

    // Indentation functions.

    fn unwind_indent(&mut self, column: isize) {
        // In the flow context, indentation is ignored.
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            let Some(indent) = self.indents.pop() else {
                break;
            };
            self.indent = indent;
            self.tokens.push_back(Tok::BlockEnd);
        }
    }

    fn add_indent(&mut self, column: isize) -> R<bool> {
        if self.indent < column {
            if self.indents.len() >= MAX_DEPTH {
                return Err(GiveUp);
            }
            self.indents.push(self.indent);
            self.indent = column;
            return Ok(true);
        }
        Ok(false)
    }

    // Fetchers.

    fn fetch_stream_end(&mut self) -> R {
        self.unwind_indent(-1);
        self.remove_possible_simple_key()?;
        self.allow_simple_key = false;
        self.possible_simple_keys.iter_mut().for_each(|k| *k = None);
        self.tokens.push_back(Tok::StreamEnd);
        self.done = true;
        Ok(())
    }

    fn fetch_document_start(&mut self) -> R {
        // Only a `---` before any content: a second one starts a second
        // document, which `safe_load` refuses (and the full parser reports).
        if self.tokens_taken + self.tokens.len() != 1 {
            return Err(GiveUp);
        }
        self.unwind_indent(-1);
        self.remove_possible_simple_key()?;
        self.allow_simple_key = false;
        self.pos += 3;
        self.tokens.push_back(Tok::DocumentStart);
        Ok(())
    }

    fn fetch_flow_collection_start(&mut self, tok: Tok) -> R {
        // '[' and '{' may start a simple key.
        self.save_possible_simple_key(false)?;
        self.flow_level += 1;
        if self.flow_level > MAX_DEPTH {
            return Err(GiveUp);
        }
        if self.possible_simple_keys.len() <= self.flow_level {
            self.possible_simple_keys.push(None);
        }
        self.allow_simple_key = true;
        self.pos += 1;
        self.tokens.push_back(tok);
        Ok(())
    }

    fn fetch_flow_collection_end(&mut self, tok: Tok) -> R {
        self.remove_possible_simple_key()?;
        // A closing bracket in the block context: the parser would refuse it.
        if self.flow_level == 0 {
            return Err(GiveUp);
        }
        self.flow_level -= 1;
        self.allow_simple_key = false;
        self.pos += 1;
        self.tokens.push_back(tok);
        Ok(())
    }

    fn fetch_flow_entry(&mut self) -> R {
        self.allow_simple_key = true;
        self.remove_possible_simple_key()?;
        self.pos += 1;
        self.tokens.push_back(Tok::FlowEntry);
        Ok(())
    }

    fn fetch_block_entry(&mut self) -> R {
        // In the flow context the parser would refuse it.
        if self.flow_level > 0 {
            return Err(GiveUp);
        }
        // "sequence entries are not allowed here"
        if !self.allow_simple_key {
            return Err(GiveUp);
        }
        if self.add_indent(self.column() as isize)? {
            self.tokens.push_back(Tok::BlockSequenceStart);
        }
        self.allow_simple_key = true;
        self.remove_possible_simple_key()?;
        self.pos += 1;
        self.tokens.push_back(Tok::BlockEntry);
        Ok(())
    }

    fn fetch_value(&mut self) -> R {
        let key = self
            .possible_simple_keys
            .get_mut(self.flow_level)
            .and_then(Option::take);
        // Without a simple key this is an empty or complex key (`: a`), which
        // YAML 1.1 and 1.2 judge differently.
        let Some(key) = key else {
            return Err(GiveUp);
        };
        if !key.scalar {
            return Err(GiveUp);
        }
        let at = key
            .token_number
            .checked_sub(self.tokens_taken)
            .ok_or(GiveUp)?;
        if at > self.tokens.len() {
            return Err(GiveUp);
        }
        self.tokens.insert(at, Tok::Key);
        // If this key starts a new block mapping, we need to add
        // BLOCK-MAPPING-START.
        if self.flow_level == 0 && self.add_indent(key.column as isize)? {
            self.tokens.insert(at, Tok::BlockMappingStart);
        }
        // There cannot be two simple keys one after another.
        self.allow_simple_key = false;
        // In a flow collection YAML 1.2 wants a space after the ':' before a
        // value (`{a:[b]}` is an error there, not in PyYAML).
        if self.flow_level > 0 && !matches!(self.peek_at(1), 0 | b' ' | b'\n' | b',' | b']' | b'}')
        {
            return Err(GiveUp);
        }
        self.pos += 1;
        self.tokens.push_back(Tok::Value);
        Ok(())
    }

    fn fetch_block_scalar(&mut self) -> R {
        // A block scalar that starts a line no more indented than the current
        // block collection (`key:` then `|` below it): PyYAML takes it as the
        // value, YAML 1.2 wants it indented.
        let first_on_line = self.s[self.line_start..self.pos].iter().all(|&b| b == b' ');
        if self.flow_level == 0 && first_on_line && self.column() as isize <= self.indent {
            return Err(GiveUp);
        }
        // A simple key may follow a block scalar.
        self.allow_simple_key = true;
        self.remove_possible_simple_key()?;
        self.scan_block_scalar()?;
        self.tokens.push_back(Tok::Scalar);
        Ok(())
    }

    fn fetch_flow_scalar(&mut self, double: bool) -> R {
        // A flow scalar could be a simple key.
        self.save_possible_simple_key(true)?;
        self.allow_simple_key = false;
        self.scan_flow_scalar(double)?;
        self.tokens.push_back(Tok::Scalar);
        Ok(())
    }

    fn fetch_plain(&mut self) -> R {
        self.save_possible_simple_key(true)?;
        // No simple keys after plain scalars, unless `scan_plain` ends at the
        // beginning of a line.
        self.allow_simple_key = false;
        self.scan_plain()?;
        self.tokens.push_back(Tok::Scalar);
        Ok(())
    }

    // Checkers.

    fn check_document_indicator(&self, c: u8) -> bool {
        self.peek_at(1) == c && self.peek_at(2) == c && blank_z(self.peek_at(3))
    }

    /// A plain scalar may start with any non-space character except the
    /// indicators, and with `-` followed by a non-space. (PyYAML also allows
    /// `?` and `:` followed by a non-space in the block context, which YAML
    /// 1.2 reads differently in flow collections: those give up.)
    fn check_plain(&self) -> bool {
        let ch = self.peek();
        let indicator = matches!(
            ch,
            0 | b' '
                | b'\n'
                | b'-'
                | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        );
        let next = self.peek_at(1);
        // `-,` in a flow collection: YAML 1.2 does not start a plain scalar.
        let flow_indicator = matches!(next, b',' | b'[' | b']' | b'{' | b'}');
        !indicator || (ch == b'-' && !blank_z(next) && !(self.flow_level > 0 && flow_indicator))
    }

    // Scanners.

    fn scan_to_next_token(&mut self) -> R {
        loop {
            while self.peek() == b' ' {
                self.pos += 1;
            }
            if self.peek() == b'#' {
                // YAML 1.2 wants a comment separated from what precedes it
                // (`'a'#b`, `[a,#b]`); PyYAML does not.
                if self.pos > self.line_start && self.s[self.pos - 1] != b' ' {
                    return Err(GiveUp);
                }
                self.skip_to_line_end();
            }
            if self.peek() != b'\n' {
                return Ok(());
            }
            // A flow collection over several lines: PyYAML ignores the
            // indentation there, YAML 1.2 does not.
            if self.flow_level > 0 {
                return Err(GiveUp);
            }
            self.line_break();
            self.allow_simple_key = true;
        }
    }

    fn scan_block_scalar(&mut self) -> R {
        self.pos += 1;
        // Chomping indicator; an explicit indentation indicator gives up.
        if matches!(self.peek(), b'+' | b'-') {
            self.pos += 1;
        }
        if !blank_z(self.peek()) {
            return Err(GiveUp);
        }
        // The rest of the header line: spaces and a comment.
        while self.peek() == b' ' {
            self.pos += 1;
        }
        if self.peek() == b'#' {
            self.skip_to_line_end();
        }
        match self.peek() {
            0 => {}
            b'\n' => self.line_break(),
            _ => return Err(GiveUp),
        }
        let min_indent = (self.indent + 1).max(1) as usize;
        // scan_block_scalar_indentation: we are at the start of a line, so
        // columns are byte offsets here.
        let mut max_indent = 0;
        loop {
            match self.peek() {
                b' ' => {
                    self.pos += 1;
                    max_indent = max_indent.max(self.pos - self.line_start);
                }
                b'\n' => self.line_break(),
                _ => break,
            }
        }
        // Leading blank lines more indented than the first text line: YAML
        // 1.2 refuses them, PyYAML reads the text as what follows the scalar.
        let column = self.pos - self.line_start;
        if max_indent > column || (max_indent > 0 && self.peek() == 0) {
            return Err(GiveUp);
        }
        let indent = min_indent.max(max_indent);
        while self.pos - self.line_start == indent && self.peek() != 0 {
            self.skip_to_line_end();
            if self.peek() == b'\n' {
                self.line_break();
            }
            // scan_block_scalar_breaks
            loop {
                while self.pos - self.line_start < indent && self.peek() == b' ' {
                    self.pos += 1;
                }
                if self.peek() != b'\n' {
                    break;
                }
                self.line_break();
            }
        }
        Ok(())
    }

    /// A quoted scalar on one line (a line break gives up: the folding
    /// rules of YAML 1.1 and 1.2 differ in the details).
    fn scan_flow_scalar(&mut self, double: bool) -> R {
        self.pos += 1;
        loop {
            match self.peek() {
                0 | b'\n' => return Err(GiveUp),
                b'\'' if !double => {
                    if self.peek_at(1) == b'\'' {
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                b'"' if double => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' if double => {
                    self.pos += 1;
                    self.scan_escape()?;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// The escapes YAML 1.1 and 1.2 share; `\U` (whose range PyYAML does not
    /// check) and `\u` surrogates give up.
    fn scan_escape(&mut self) -> R {
        let hex = |s: &Self, n: usize| (1..=n).all(|k| s.peek_at(k).is_ascii_hexdigit());
        match self.peek() {
            b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"' | b'\\'
            | b'/' | b'N' | b'_' | b'L' | b'P' => self.pos += 1,
            b'x' if hex(self, 2) => self.pos += 3,
            b'u' if hex(self, 4) => {
                let digits = &self.s[self.pos + 1..self.pos + 5];
                let code = digits.iter().fold(0u32, |acc, &d| {
                    acc * 16 + char::from(d).to_digit(16).unwrap_or(0)
                });
                if (0xd800..=0xdfff).contains(&code) {
                    return Err(GiveUp);
                }
                self.pos += 5;
            }
            _ => return Err(GiveUp),
        }
        Ok(())
    }

    /// A plain scalar, over several lines in the block context (YAML 1.1
    /// and 1.2 agree on which lines continue it: those indented more than the
    /// enclosing block collection).
    fn scan_plain(&mut self) -> R {
        let indent = self.indent + 1;
        let start = self.pos;
        let mut first_chunk = 0;
        loop {
            if self.peek() == b'#' {
                break;
            }
            let mut length = 0;
            loop {
                let ch = self.peek_at(length);
                if blank_z(ch) {
                    break;
                }
                if ch == b':' {
                    let next = self.peek_at(length + 1);
                    if blank_z(next)
                        || (self.flow_level > 0 && matches!(next, b',' | b'[' | b']' | b'{' | b'}'))
                    {
                        break;
                    }
                }
                if self.flow_level > 0 && matches!(ch, b',' | b'?' | b'[' | b']' | b'{' | b'}') {
                    break;
                }
                length += 1;
            }
            if length == 0 {
                break;
            }
            self.allow_simple_key = false;
            self.pos += length;
            first_chunk = if first_chunk == 0 { length } else { usize::MAX };
            if !self.scan_plain_spaces()?
                || self.peek() == b'#'
                || (self.flow_level == 0 && (self.column() as isize) < indent)
            {
                break;
            }
        }
        if first_chunk != usize::MAX && special_plain(&self.s[start..start + first_chunk]) {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// The spaces and line breaks after a chunk of a plain scalar: whether
    /// there were any (and no document marker follows a line break).
    fn scan_plain_spaces(&mut self) -> R<bool> {
        let start = self.pos;
        while self.peek() == b' ' {
            self.pos += 1;
        }
        if self.peek() != b'\n' {
            return Ok(self.pos > start);
        }
        // A plain scalar over several lines of a flow collection: see
        // `scan_to_next_token`.
        if self.flow_level > 0 {
            return Err(GiveUp);
        }
        self.line_break();
        self.allow_simple_key = true;
        let marker =
            |s: &Self| matches!(s.peek(), b'-' | b'.') && s.check_document_indicator(s.peek());
        if marker(self) {
            return Ok(false);
        }
        loop {
            match self.peek() {
                b' ' => self.pos += 1,
                b'\n' => {
                    self.line_break();
                    if marker(self) {
                        return Ok(false);
                    }
                }
                _ => return Ok(true),
            }
        }
    }
}

/// Plain scalars that serde-saphyr's typeless deserializer treats apart: `<<`
/// (a merge key, with rules of its own in both parsers) and what reads as a
/// non-finite float (`.inf`, `-.NaN`, `1e999`, 400 digits), which it refuses
/// by default while PyYAML accepts it.
fn special_plain(text: &[u8]) -> bool {
    if text == b"<<" {
        return true;
    }
    let unsigned = match text.first() {
        Some(b'+' | b'-') => &text[1..],
        _ => text,
    };
    match unsigned {
        [b'.', ..] => {
            unsigned.eq_ignore_ascii_case(b".inf") || unsigned.eq_ignore_ascii_case(b".nan")
        }
        [d, ..] if d.is_ascii_digit() => {
            unsigned.len() > 300 || unsigned.iter().any(|&b| b == b'e' || b == b'E')
        }
        _ => false,
    }
}

/// PyYAML's parser as recursive descent, for the tokens the scanner emits.
struct Parser<'a> {
    sc: Scanner<'a>,
    nodes: usize,
    depth: usize,
}

impl Parser<'_> {
    fn stream(&mut self) -> R {
        self.expect(Tok::StreamStart)?;
        match self.sc.peek_token()? {
            Tok::DocumentStart => {
                self.sc.get_token()?;
                if self.sc.peek_token()? != Tok::StreamEnd {
                    self.block_node(false)?;
                }
            }
            Tok::StreamEnd => {}
            _ => self.block_node(false)?,
        }
        // Anything else would be a second document.
        self.expect(Tok::StreamEnd)
    }

    fn expect(&mut self, kind: Tok) -> R {
        if self.sc.get_token()? == kind {
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    fn count_node(&mut self) -> R {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn enter(&mut self) -> R {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        self.count_node()
    }

    /// `parse_block_node` / `parse_block_node_or_indentless_sequence`.
    fn block_node(&mut self, indentless_sequence: bool) -> R {
        match self.sc.peek_token()? {
            Tok::BlockEntry if indentless_sequence => self.indentless_sequence(),
            Tok::BlockSequenceStart => self.block_sequence(),
            Tok::BlockMappingStart => self.block_mapping(),
            _ => self.flow_node(),
        }
    }

    /// `parse_flow_node`: "expected the node content" for anything else.
    fn flow_node(&mut self) -> R {
        match self.sc.get_token()? {
            Tok::Scalar => self.count_node(),
            Tok::FlowSequenceStart => self.flow_collection(Tok::FlowSequenceEnd),
            Tok::FlowMappingStart => self.flow_collection(Tok::FlowMappingEnd),
            _ => Err(GiveUp),
        }
    }

    fn block_sequence(&mut self) -> R {
        self.enter()?;
        self.sc.get_token()?;
        loop {
            match self.sc.get_token()? {
                Tok::BlockEntry => {
                    if !self.sc.check(&[Tok::BlockEntry, Tok::BlockEnd])? {
                        self.block_node(false)?;
                    }
                }
                Tok::BlockEnd => break,
                // "expected <block end>"
                _ => return Err(GiveUp),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn indentless_sequence(&mut self) -> R {
        self.enter()?;
        while self.sc.peek_token()? == Tok::BlockEntry {
            self.sc.get_token()?;
            if !self
                .sc
                .check(&[Tok::BlockEntry, Tok::Key, Tok::Value, Tok::BlockEnd])?
            {
                self.block_node(false)?;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn block_mapping(&mut self) -> R {
        self.enter()?;
        self.sc.get_token()?;
        loop {
            match self.sc.get_token()? {
                Tok::Key => {
                    if !self.sc.check(&[Tok::Key, Tok::Value, Tok::BlockEnd])? {
                        self.block_node(true)?;
                    }
                    if self.sc.peek_token()? == Tok::Value {
                        self.sc.get_token()?;
                        if !self.sc.check(&[Tok::Key, Tok::Value, Tok::BlockEnd])? {
                            self.block_node(true)?;
                        }
                    }
                }
                Tok::BlockEnd => break,
                // "expected <block end>"
                _ => return Err(GiveUp),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Flow sequences and mappings: `parse_flow_sequence_entry` and
    /// `parse_flow_mapping_key` accept the same token shapes (a `KEY` entry
    /// in a sequence is a single-pair mapping).
    fn flow_collection(&mut self, end: Tok) -> R {
        self.enter()?;
        let mut first = true;
        loop {
            if self.sc.peek_token()? == end {
                self.sc.get_token()?;
                break;
            }
            if !first {
                // "expected ',' or ']'"
                self.expect(Tok::FlowEntry)?;
            }
            first = false;
            if self.sc.peek_token()? == Tok::Key {
                self.sc.get_token()?;
                if !self.sc.check(&[Tok::Value, Tok::FlowEntry, end])? {
                    self.flow_node()?;
                }
                if self.sc.peek_token()? == Tok::Value {
                    self.sc.get_token()?;
                    if !self.sc.check(&[Tok::FlowEntry, end])? {
                        self.flow_node()?;
                    }
                }
            } else if self.sc.peek_token()? != end {
                self.flow_node()?;
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

    use super::is_well_formed;

    /// serde-saphyr's verdict, as `yaml::validate` asks for it.
    fn saphyr_accepts(text: &str) -> bool {
        super::super::full(text).is_ok()
    }

    /// The recipes of the fixture corpus.
    fn corpus_recipes() -> Vec<String> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/radl");
        let mut out = Vec::new();
        for sub in ["", "extra"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for p in paths {
                if p.extension().is_none_or(|e| e != "radl") {
                    continue;
                }
                let Ok(radl) = crate::parse_radl(&std::fs::read_to_string(&p).unwrap()) else {
                    continue;
                };
                out.extend(radl.configures.iter().filter_map(|c| c.recipes.clone()));
            }
        }
        out
    }

    /// A small deterministic generator (xorshift), so that failures repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const PIECES: &[&str] = &[
        " ",
        "  ",
        "\n",
        "\n  ",
        "\n- ",
        "- ",
        ": ",
        ":",
        "#",
        " #",
        "'",
        "\"",
        "[",
        "]",
        "{",
        "}",
        ",",
        ", ",
        "|",
        ">",
        "|-",
        "&",
        "*",
        "!",
        "?",
        "? ",
        "%",
        "@",
        "`",
        "---",
        "...",
        "\\",
        "\\n",
        "a",
        "key",
        "<<",
        "{{ x }}",
        "'{{ x }}'",
        "http://h:80/p",
        "\t",
        "\r\n",
        "é",
        "0755",
        "2001-13-45",
        "~",
        "null",
        "- a: b",
        "\n---\n",
        "''",
        "\"\"",
    ];

    /// Deletes, inserts or replaces text, re-indents or duplicates lines.
    fn mutate(rng: &mut Rng, text: &str) -> String {
        let mut s = text.to_string();
        for _ in 0..1 + rng.below(3) {
            let at = if s.is_empty() {
                0
            } else {
                rng.below(s.len() + 1)
            };
            let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            match rng.below(5) {
                0 => s.insert_str(at, rng.pick(PIECES)),
                1 => {
                    let end = (at + 1 + rng.below(4)).min(s.len());
                    let end = (end..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap();
                    s.replace_range(at..end, "");
                }
                2 => {
                    let end = (at + 1 + rng.below(3)).min(s.len());
                    let end = (end..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap();
                    s.replace_range(at..end, rng.pick(PIECES));
                }
                3 => {
                    // Re-indent the line that holds `at`.
                    let line = s[..at].rfind('\n').map_or(0, |i| i + 1);
                    if rng.below(2) == 0 {
                        s.insert_str(line, &" ".repeat(1 + rng.below(3)));
                    } else if s[line..].starts_with(' ') {
                        s.remove(line);
                    }
                }
                _ => {
                    let line = s[..at].rfind('\n').map_or(0, |i| i + 1);
                    let end = s[line..].find('\n').map_or(s.len(), |i| line + i + 1);
                    let copy = s[line..end].to_string();
                    s.insert_str(line, &copy);
                }
            }
        }
        s
    }

    /// Lines of YAML-ish fragments.
    fn soup(rng: &mut Rng) -> String {
        const INDENT: &[&str] = &["", "", " ", "  ", "   ", "    "];
        const LEAD: &[&str] = &["", "", "- ", "- - ", "-", "? ", ": "];
        const KEY: &[&str] = &[
            "a", "b c", "'k'", "\"k\"", "<<", "[a]", "{a: 1}", "", "-x", "?x", ":x", "a:b",
        ];
        const SEP: &[&str] = &[": ", ":", " : ", "", ":  ", ": # c"];
        const VALUE: &[&str] = &[
            "",
            "v",
            "v w",
            "'x y'",
            "'it''s'",
            "\"a\\tb\"",
            "\"\\q\"",
            "\"\\u00e9\"",
            "[a, b]",
            "[a, [b, c]]",
            "{a: 1, b: [2]}",
            "{a}",
            "[a: b]",
            "[a,]",
            "[,]",
            "{a:b}",
            "{a:[b]}",
            "[\"a\":b]",
            "|",
            "|-",
            ">+",
            "|2",
            "| # c",
            "|x",
            "# c",
            "x # c",
            "x#c",
            "'x'#c",
            "a: b",
            "&a x",
            "*a",
            "!t x",
            "{{ v }}",
            "'{{ v }}' x",
            "http://h:80",
            "[a,",
            "}",
            "- x",
            "x: y: z",
            "@x",
            "`x`",
            "%x",
            "~",
            "\"unterminated",
            "'",
            "=",
            ".inf",
            "-.INF",
            "+.nan",
            ".NaN",
            "1e999",
            "1e9",
            "0x1F",
            "1_000",
            "infinity",
            "<< x",
        ];
        let mut out = String::new();
        if rng.below(4) == 0 {
            out.push_str(rng.pick(&["---\n", "--- ", "---", "%YAML 1.1\n---\n", "# c\n"]));
        }
        for _ in 0..1 + rng.below(6) {
            out.push_str(rng.pick(INDENT));
            out.push_str(rng.pick(LEAD));
            if rng.below(3) > 0 {
                out.push_str(rng.pick(KEY));
                out.push_str(rng.pick(SEP));
            }
            out.push_str(rng.pick(VALUE));
            out.push('\n');
            if rng.below(5) == 0 {
                out.push_str(rng.pick(INDENT));
                out.push_str(rng.pick(&["text", "  more text", "", "# c", "- y"]));
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn every_recipe_of_the_corpus_takes_the_quick_path() {
        let recipes = corpus_recipes();
        assert!(recipes.len() > 20, "{} recipes", recipes.len());
        for r in &recipes {
            assert!(is_well_formed(r), "not taken quickly:\n{r}");
            assert!(saphyr_accepts(r));
        }
    }

    /// Generated texts (`IM_YAML_ROUNDS` rounds, default 20,000, from seed
    /// `IM_YAML_SEED`): YAML-ish lines and mutations of the corpus recipes.
    #[test]
    fn what_the_quick_check_accepts_serde_saphyr_accepts_too() {
        let env = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(default)
        };
        let mut rng = Rng(env("IM_YAML_SEED", 0x9e37_79b9_7f4a_7c15));
        let rounds = env("IM_YAML_ROUNDS", 20_000) as usize;
        let seeds = corpus_recipes();
        let (mut accepted, mut total) = (0, 0);
        let mut check = |text: &str| {
            total += 1;
            if is_well_formed(text) {
                accepted += 1;
                assert!(
                    saphyr_accepts(text),
                    "quick check accepts what serde-saphyr refuses ({:?}):\n{text}",
                    super::super::full(text)
                );
            }
        };
        for _ in 0..rounds {
            let text = soup(&mut rng);
            check(&text);
            check(&mutate(&mut rng, &text));
        }
        for seed in &seeds {
            for _ in 0..rounds / 60 {
                let m = mutate(&mut rng, seed);
                check(&m);
                check(&mutate(&mut rng, &m));
            }
        }
        eprintln!("quick check: {accepted} of {total} texts accepted");
        // The generated texts must exercise acceptance, not only refusal.
        assert!(accepted * 20 > total, "{accepted} of {total}");
    }

    /// Texts that once passed the quick check although serde-saphyr refuses
    /// them (found by the `radl_yaml` fuzz target), and their kin.
    #[test]
    fn what_serde_saphyr_treats_apart_leaves_the_quick_path() {
        for text in [
            "#clo-co|2n\n  .INF\n",
            "a: .inf\n",
            "- -.Inf\n",
            "{a: .NaN}\n",
            "a: 1e999\n",
            "<<: {a: 1}\n",
            "[a, -, b]\n",
            "a:\n|\n  x\n",
        ] {
            assert!(!is_well_formed(text), "{text:?}");
        }
        // Their harmless neighbours stay on it.
        for text in [
            "a: .info\n",
            "a: nan\n",
            "a: x1e9\n",
            "a: 1.5\n",
            "[a, -b]\n",
        ] {
            assert!(is_well_formed(text), "{text:?}");
            assert!(saphyr_accepts(text), "{text:?}");
        }
    }
}
