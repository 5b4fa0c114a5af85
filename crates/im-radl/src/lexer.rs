//! The RADL lexer: a faithful port of the reference's PLY lexer.
//!
//! Three states (INITIAL, body inside parentheses, recipe between `@begin` and
//! `@end`), first-match token rules in the reference's order, and its leniency:
//! characters that start no token are skipped silently (so CRLF files, `;` and
//! `-` typos behave as in the reference).

use crate::error::Pos;
use crate::units::Number;

/// A token kind, named as in the reference's error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
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
    Str(String),
    /// `'random(N)'`
    Random(usize),
    Var(String),
    Keyword(Keyword),
    RecipeBegin,
    RecipeEnd,
    RecipeLine(String),
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
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
    pub lexpos: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Body,
    Recipe,
}

fn is_var_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

/// Python's `\w` in a `str` pattern: Unicode alphanumerics and `_`.
fn is_var_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Tokenizes a whole document (the reference lexes lazily, but its state changes
/// depend only on the tokens, so the result is the same).
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut stack: Vec<State> = Vec::new();
    let mut i = 0usize;
    let mut line = 1u32;
    let mut line_start = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos {
            line,
            column: (i - line_start) as u32 + 1,
        };
        let push = |tok: Tok, out: &mut Vec<Token>| {
            out.push(Token {
                tok,
                pos,
                lexpos: i,
            })
        };
        if stack.last() == Some(&State::Recipe) {
            if chars[i..].starts_with(&['@', 'e', 'n', 'd']) {
                push(Tok::RecipeEnd, &mut out);
                stack.pop();
                i += 4;
                continue;
            }
            match chars[i..].iter().position(|&c| c == '\n') {
                Some(n) => {
                    let text: String = chars[i..=i + n].iter().collect();
                    push(Tok::RecipeLine(text), &mut out);
                    i += n + 1;
                    line += 1;
                    line_start = i;
                }
                // No newline left: the reference skips the rest char by char.
                None => i = chars.len(),
            }
            continue;
        }
        let in_body = stack.last() == Some(&State::Body);
        match c {
            ' ' | '\t' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '<' | '>' | '=' if in_body => {
                let two = chars.get(i + 1) == Some(&'=');
                let tok = match (c, two) {
                    ('<', true) => Tok::Le,
                    ('>', true) => Tok::Ge,
                    ('<', false) => Tok::Lt,
                    ('>', false) => Tok::Gt,
                    _ => Tok::Eq,
                };
                push(tok, &mut out);
                i += if two && c != '=' { 2 } else { 1 };
            }
            '(' => {
                push(Tok::LParen, &mut out);
                stack.push(State::Body);
                i += 1;
            }
            ')' => {
                if stack.pop().is_some() {
                    push(Tok::RParen, &mut out);
                } else {
                    push(Tok::Unbalanced, &mut out);
                }
                i += 1;
            }
            '[' if in_body => {
                push(Tok::LBrack, &mut out);
                i += 1;
            }
            ']' if in_body => {
                push(Tok::RBrack, &mut out);
                i += 1;
            }
            ',' if in_body => {
                push(Tok::Comma, &mut out);
                i += 1;
            }
            '\n' => {
                i += 1;
                line += 1;
                line_start = i;
            }
            '\'' => {
                if let Some((n, len)) = lex_random(&chars[i..]) {
                    push(Tok::Random(n), &mut out);
                    i += len;
                    continue;
                }
                // STRING: '([^\\']|\\.)*' — `.` does not match a newline.
                let mut j = i + 1;
                let mut ok = false;
                while j < chars.len() {
                    match chars[j] {
                        '\'' => {
                            ok = true;
                            break;
                        }
                        '\\' if chars.get(j + 1).is_some_and(|&n| n != '\n') => j += 2,
                        '\\' => break,
                        _ => j += 1,
                    }
                }
                if ok {
                    let raw: String = chars[i + 1..j].iter().collect();
                    push(Tok::Str(raw.replace("\\'", "'")), &mut out);
                    for (k, &ch) in chars[i..j].iter().enumerate() {
                        if ch == '\n' {
                            line += 1;
                            line_start = i + k + 1;
                        }
                    }
                    i = j + 1;
                } else {
                    // Unterminated: the quote is an illegal character.
                    i += 1;
                }
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let mut float = false;
                if chars.get(i) == Some(&'.') {
                    float = true;
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let text: String = chars[start..i].iter().collect();
                // Integers beyond i64 become floats (Python has big ints); a
                // literal beyond f64 is capped so that it prints back as digits.
                let as_float =
                    || Number::Float(text.parse::<f64>().unwrap_or(f64::MAX).min(f64::MAX));
                let n = if float {
                    as_float()
                } else {
                    text.parse::<i64>().map_or_else(|_| as_float(), Number::Int)
                };
                out.push(Token {
                    tok: Tok::Number(n),
                    pos,
                    lexpos: start,
                });
            }
            c if is_var_start(c) => {
                let start = i;
                i += 1;
                while i < chars.len() && is_var_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = match Keyword::from_word(&word) {
                    Some(k) => Tok::Keyword(k),
                    None => Tok::Var(word),
                };
                out.push(Token {
                    tok,
                    pos,
                    lexpos: start,
                });
            }
            '@' if chars[i..].starts_with(&['@', 'b', 'e', 'g', 'i', 'n']) => {
                push(Tok::RecipeBegin, &mut out);
                stack.push(State::Recipe);
                i += 6;
            }
            // Anything else is silently skipped, as in the reference.
            _ => i += 1,
        }
    }
    out
}

/// `'random(N)'` exactly: returns N and the token length in characters.
fn lex_random(s: &[char]) -> Option<(usize, usize)> {
    const HEAD: [char; 8] = ['\'', 'r', 'a', 'n', 'd', 'o', 'm', '('];
    if !s.starts_with(&HEAD) {
        return None;
    }
    let digits = s[HEAD.len()..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let end = HEAD.len() + digits;
    if s.get(end) != Some(&')') || s.get(end + 1) != Some(&'\'') {
        return None;
    }
    let text: String = s[HEAD.len()..end].iter().collect();
    // A huge N is capped: a random string is never megabytes long.
    let n = text.parse::<usize>().unwrap_or(usize::MAX).min(4096);
    Some((n, end + 2))
}
