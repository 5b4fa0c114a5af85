//! The RADL lexer: a faithful port of the reference's PLY lexer.
//!
//! Three states (INITIAL, body inside parentheses, recipe between `@begin` and
//! `@end`), first-match token rules in the reference's order, and its leniency:
//! characters that start no token are skipped silently (so CRLF files, `;` and
//! `-` typos behave as in the reference).
//!
//! It runs over the bytes of the source and hands out tokens one at a time,
//! borrowing names, strings and recipe lines from the source: the parser never
//! holds more than one token, so a large document is not copied into a token
//! list first. Positions are in characters, as the reference counts them.

use std::borrow::Cow;

use crate::error::Pos;
use crate::units::Number;

/// A token kind, named as in the reference's error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Number(Number),
    Eq,
    Lt,
    Gt,
    Ge,
    Le,
    /// A string without its quotes, `\'` already turned into `'`.
    Str(Cow<'a, str>),
    /// `'random(N)'`
    Random(usize),
    Var(&'a str),
    Keyword(Keyword),
    RecipeBegin,
    RecipeEnd,
    /// One line of a recipe, with its newline.
    RecipeLine(&'a str),
    /// A `)` with no open `(`: the reference's lexer crashes here.
    Unbalanced,
}

/// Reserved words (lower case only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Network,
    Ansible,
    System,
    Soft,
    And,
    Contains,
    Deploy,
    Configure,
    Contextualize,
    Step,
    With,
    Option,
    Description,
}

impl Keyword {
    fn from_word(w: &str) -> Option<Keyword> {
        Some(match w {
            "network" => Keyword::Network,
            "ansible" => Keyword::Ansible,
            "system" => Keyword::System,
            "soft" => Keyword::Soft,
            "and" => Keyword::And,
            "contains" => Keyword::Contains,
            "deploy" => Keyword::Deploy,
            "configure" => Keyword::Configure,
            "contextualize" => Keyword::Contextualize,
            "step" => Keyword::Step,
            "with" => Keyword::With,
            "option" => Keyword::Option,
            "description" => Keyword::Description,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Keyword::Network => "network",
            Keyword::Ansible => "ansible",
            Keyword::System => "system",
            Keyword::Soft => "soft",
            Keyword::And => "and",
            Keyword::Contains => "contains",
            Keyword::Deploy => "deploy",
            Keyword::Configure => "configure",
            Keyword::Contextualize => "contextualize",
            Keyword::Step => "step",
            Keyword::With => "with",
            Keyword::Option => "option",
            Keyword::Description => "description",
        }
    }
}

/// A token with its position: `lexpos` is the 0-based character offset, as the
/// reference prints it.
#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub pos: Pos,
    pub lexpos: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Body,
    Recipe,
}

fn is_var_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.'
}

/// Python's `\w` in a `str` pattern: Unicode alphanumerics and `_`.
fn is_var_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// The lexer over one document (the reference lexes lazily too; its state
/// changes depend only on the tokens, never on the parser).
pub(crate) struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    /// Character offsets are byte offsets when the source is ASCII.
    ascii: bool,
    /// Byte offset of the next character.
    i: usize,
    /// Character offset of `i`.
    ci: usize,
    line: u32,
    /// Character offset of the current line's start.
    line_start: usize,
    stack: Vec<State>,
    /// A `\n` that the source lacks at its end but is lexed as if there.
    final_newline: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer over `src` followed by one more `\n` (the reference appends
    /// one before lexing); `src` must end with a `\n` itself, so that the
    /// extra one can only matter at the very end.
    pub(crate) fn with_final_newline(src: &'a str) -> Self {
        Lexer {
            final_newline: src.ends_with('\n'),
            ..Lexer::new(src)
        }
    }

    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            ascii: src.is_ascii(),
            i: 0,
            ci: 0,
            line: 1,
            line_start: 0,
            stack: Vec::new(),
            final_newline: false,
        }
    }

    /// Moves `n` bytes on (always to a character boundary).
    fn advance(&mut self, n: usize) {
        self.ci += if self.ascii {
            n
        } else {
            self.bytes[self.i..self.i + n]
                .iter()
                .filter(|&&b| b & 0xc0 != 0x80)
                .count()
        };
        self.i += n;
    }

    /// Moves past a `\n`.
    fn newline(&mut self) {
        self.i += 1;
        self.ci += 1;
        self.line += 1;
        self.line_start = self.ci;
    }

    fn token(&self, tok: Tok<'a>, pos: Pos, lexpos: usize) -> Token<'a> {
        Token { tok, pos, lexpos }
    }

    /// The next token, or `None` at the end of the source.
    pub(crate) fn next_token(&mut self) -> Option<Token<'a>> {
        while self.i < self.bytes.len() {
            if self.stack.last() != Some(&State::Recipe) {
                // Blanks between tokens, in one go.
                let blanks = self.bytes[self.i..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                self.i += blanks;
                self.ci += blanks;
                if self.i == self.bytes.len() {
                    break;
                }
            }
            let c = self.bytes[self.i];
            let pos = Pos {
                line: self.line,
                column: (self.ci - self.line_start) as u32 + 1,
            };
            let lexpos = self.ci;
            let rest = &self.bytes[self.i..];
            if self.stack.last() == Some(&State::Recipe) {
                if rest.starts_with(b"@end") {
                    self.stack.pop();
                    self.advance(4);
                    return Some(self.token(Tok::RecipeEnd, pos, lexpos));
                }
                match rest.iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        let text = &self.src[self.i..=self.i + n];
                        self.advance(n);
                        self.newline();
                        return Some(self.token(Tok::RecipeLine(text), pos, lexpos));
                    }
                    // No newline left: the reference skips the rest char by char.
                    None => {
                        self.advance(rest.len());
                        return None;
                    }
                }
            }
            let in_body = self.stack.last() == Some(&State::Body);
            let simple = |lexer: &mut Self, tok: Tok<'a>, len: usize| {
                lexer.advance(len);
                Some(lexer.token(tok, pos, lexpos))
            };
            match c {
                b' ' | b'\t' => self.advance(1),
                b'#' => {
                    let n = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                    self.advance(n);
                }
                b'<' | b'>' | b'=' if in_body => {
                    let two = rest.get(1) == Some(&b'=');
                    let tok = match (c, two) {
                        (b'<', true) => Tok::Le,
                        (b'>', true) => Tok::Ge,
                        (b'<', false) => Tok::Lt,
                        (b'>', false) => Tok::Gt,
                        _ => Tok::Eq,
                    };
                    return simple(self, tok, if two && c != b'=' { 2 } else { 1 });
                }
                b'(' => {
                    self.stack.push(State::Body);
                    return simple(self, Tok::LParen, 1);
                }
                b')' => {
                    let tok = if self.stack.pop().is_some() {
                        Tok::RParen
                    } else {
                        Tok::Unbalanced
                    };
                    return simple(self, tok, 1);
                }
                b'[' if in_body => return simple(self, Tok::LBrack, 1),
                b']' if in_body => return simple(self, Tok::RBrack, 1),
                b',' if in_body => return simple(self, Tok::Comma, 1),
                b'\n' => self.newline(),
                b'\'' => {
                    if let Some((n, len)) = lex_random(rest) {
                        return simple(self, Tok::Random(n), len);
                    }
                    if let Some(tok) = self.string(pos, lexpos) {
                        return Some(tok);
                    }
                    // Unterminated: the quote is an illegal character.
                    self.advance(1);
                }
                c if c.is_ascii_digit() => return Some(self.number(pos, lexpos)),
                c if is_var_start(c) => {
                    let start = self.i;
                    let mut end = start + 1;
                    while end < self.bytes.len() {
                        let b = self.bytes[end];
                        if b.is_ascii() {
                            if !is_var_char(char::from(b)) {
                                break;
                            }
                            end += 1;
                        } else {
                            match self.src[end..].chars().next() {
                                Some(ch) if is_var_char(ch) => end += ch.len_utf8(),
                                _ => break,
                            }
                        }
                    }
                    let word = &self.src[start..end];
                    let tok = match Keyword::from_word(word) {
                        Some(k) => Tok::Keyword(k),
                        None => Tok::Var(word),
                    };
                    return simple(self, tok, end - start);
                }
                b'@' if rest.starts_with(b"@begin") => {
                    self.stack.push(State::Recipe);
                    return simple(self, Tok::RecipeBegin, 6);
                }
                // Anything else is silently skipped, as in the reference.
                _ => {
                    let len = self.src[self.i..].chars().next().map_or(1, char::len_utf8);
                    self.advance(len);
                }
            }
        }
        // The appended newline: an empty recipe line when a recipe is open,
        // nothing otherwise.
        if std::mem::take(&mut self.final_newline) && self.stack.last() == Some(&State::Recipe) {
            let pos = Pos {
                line: self.line,
                column: (self.ci - self.line_start) as u32 + 1,
            };
            return Some(self.token(Tok::RecipeLine("\n"), pos, self.ci));
        }
        None
    }

    /// STRING: `'([^\\']|\\.)*'`, where `.` does not match a newline. `None`
    /// when unterminated (nothing consumed).
    fn string(&mut self, pos: Pos, lexpos: usize) -> Option<Token<'a>> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped_quote = false;
        loop {
            match *self.bytes.get(j)? {
                b'\'' => break,
                b'\\' => match self.bytes.get(j + 1) {
                    Some(b'\n') | None => return None,
                    Some(b'\'') => {
                        escaped_quote = true;
                        j += 2;
                    }
                    Some(_) => {
                        let len = self.src[j + 1..].chars().next().map_or(1, char::len_utf8);
                        j += 1 + len;
                    }
                },
                _ => j += 1,
            }
        }
        let raw = &self.src[start..j];
        // Newlines inside the string count as lines.
        let mut chars = 0;
        for &b in &self.bytes[self.i..j] {
            if b & 0xc0 != 0x80 {
                chars += 1;
            }
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.ci + chars;
            }
        }
        self.advance(j + 1 - self.i);
        let value = if escaped_quote {
            Cow::Owned(raw.replace("\\'", "'"))
        } else {
            Cow::Borrowed(raw)
        };
        Some(self.token(Tok::Str(value), pos, lexpos))
    }

    fn number(&mut self, pos: Pos, lexpos: usize) -> Token<'a> {
        let start = self.i;
        let digits = |from: usize| {
            self.bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut end = start + digits(start);
        let float = self.bytes.get(end) == Some(&b'.');
        if float {
            end += 1;
            end += digits(end);
        }
        let text = &self.src[start..end];
        // Integers beyond i64 become floats (Python has big ints); a literal
        // beyond f64 is capped so that it prints back as digits.
        let as_float = || Number::Float(text.parse::<f64>().unwrap_or(f64::MAX).min(f64::MAX));
        let n = if float {
            as_float()
        } else {
            text.parse::<i64>().map_or_else(|_| as_float(), Number::Int)
        };
        self.advance(end - start);
        self.token(Tok::Number(n), pos, lexpos)
    }
}

/// `'random(N)'` exactly: returns N and the token length in bytes (all ASCII).
fn lex_random(s: &[u8]) -> Option<(usize, usize)> {
    const HEAD: &[u8] = b"'random(";
    let tail = s.strip_prefix(HEAD)?;
    let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || !tail[digits..].starts_with(b")'") {
        return None;
    }
    // A huge N is capped: a random string is never megabytes long.
    let n = std::str::from_utf8(&tail[..digits])
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(usize::MAX)
        .min(4096);
    Some((n, HEAD.len() + digits + 2))
}
