//! The plain-text RADL parser: recursive descent over the lexer's tokens,
//! accepting exactly the reference's LALR grammar and reporting a syntax error
//! at the same token, in the reference's words plus what was expected.

use crate::error::{ErrorKind, Pos, RadlError};
use crate::lexer::{Keyword, Lexer, Tok, Token};
use crate::model::{
    Ansible, Aspect, Configure, Contextualize, ContextualizeItem, Deploy, Description, Feature,
    FeatureItem, Features, IfPresent, Network, Operator, Radl, SoftFeatures, System, Value,
};
use crate::pyrepr::{py_repr_str, random_string};
use crate::units::Number;

/// Parses a plain-text RADL document. Blank input is an empty document.
///
/// The document is not checked: call [`Radl::check`] for that.
pub fn parse_radl(text: &str) -> Result<Radl, RadlError> {
    if text.trim().is_empty() {
        return Ok(Radl::new());
    }
    // The reference appends a newline before lexing; positions depend on it.
    // A text that ends with one already is not copied for that.
    // A feature takes some 30 bytes of text: the item buffer is sized for the
    // largest body that the text can hold, up to 64 items, so that it seldom
    // grows (each growth moves every item).
    let capacity = (text.len() / 30).clamp(4, 64);
    if text.ends_with('\n') {
        return Parser::new(Lexer::with_final_newline(text), capacity).document();
    }
    let mut src = String::with_capacity(text.len() + 1);
    src.push_str(text);
    src.push('\n');
    Parser::new(Lexer::new(&src), capacity).document()
}

/// The parser holds the current token only: the grammar never looks further.
struct Parser<'a> {
    lexer: Lexer<'a>,
    cur: Option<Token<'a>>,
    /// The items of the bodies being parsed, innermost last: one buffer for
    /// the whole document rather than a vector per body.
    items: Vec<FeatureItem>,
}

fn token_name(t: &Tok<'_>) -> String {
    match t {
        Tok::LParen => "LPAREN".into(),
        Tok::RParen | Tok::Unbalanced => "RPAREN".into(),
        Tok::LBrack => "LBRACK".into(),
        Tok::RBrack => "RBRACK".into(),
        Tok::Comma => "COMMA".into(),
        Tok::Number(_) => "NUMBER".into(),
        Tok::Eq => "EQ".into(),
        Tok::Lt => "LT".into(),
        Tok::Gt => "GT".into(),
        Tok::Ge => "GE".into(),
        Tok::Le => "LE".into(),
        Tok::Str(_) => "STRING".into(),
        Tok::Random(_) => "RANDOM".into(),
        Tok::Var(_) => "VAR".into(),
        Tok::Keyword(k) => k.as_str().to_ascii_uppercase(),
        Tok::RecipeBegin => "RECIPE_BEGIN".into(),
        Tok::RecipeEnd => "RECIPE_END".into(),
        Tok::RecipeLine(_) => "RECIPE_LINE".into(),
    }
}

fn token_value(t: &Tok<'_>) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen | Tok::Unbalanced => "')'".into(),
        Tok::LBrack => "'['".into(),
        Tok::RBrack => "']'".into(),
        Tok::Comma => "','".into(),
        Tok::Number(Number::Float(f)) => crate::units::python_float_repr(*f),
        Tok::Number(n) => n.to_string(),
        Tok::Eq => "'='".into(),
        Tok::Lt => "'<'".into(),
        Tok::Gt => "'>'".into(),
        Tok::Ge => "'>='".into(),
        Tok::Le => "'<='".into(),
        Tok::Str(s) => py_repr_str(s),
        Tok::Var(s) | Tok::RecipeLine(s) => py_repr_str(s),
        Tok::Random(n) => n.to_string(),
        Tok::Keyword(k) => py_repr_str(k.as_str()),
        Tok::RecipeBegin => "'@begin'".into(),
        Tok::RecipeEnd => "'@end'".into(),
    }
}

type PResult<T> = Result<T, RadlError>;

impl<'a> Parser<'a> {
    fn new(mut lexer: Lexer<'a>, capacity: usize) -> Self {
        let cur = lexer.next_token();
        Parser {
            lexer,
            cur,
            items: Vec::with_capacity(capacity),
        }
    }

    fn peek(&self) -> Option<&Tok<'a>> {
        self.cur.as_ref().map(|t| &t.tok)
    }

    fn peek_kw(&self, k: Keyword) -> bool {
        self.peek() == Some(&Tok::Keyword(k))
    }

    fn pos(&self) -> Option<Pos> {
        self.cur.as_ref().map(|t| t.pos)
    }

    /// Moves to the next token.
    fn advance(&mut self) {
        self.cur = self.lexer.next_token();
    }

    /// The current token, moving on.
    fn take(&mut self) -> Option<Tok<'a>> {
        let next = self.lexer.next_token();
        std::mem::replace(&mut self.cur, next).map(|t| t.tok)
    }

    /// A syntax error at the current token (or at the end of input).
    fn error(&self, expected: &str) -> RadlError {
        match &self.cur {
            None => RadlError::new(
                ErrorKind::Syntax,
                format!("Parse error in: None; unexpected end of input, expected {expected}"),
                None,
            ),
            Some(t) if t.tok == Tok::Unbalanced => RadlError::new(
                ErrorKind::Syntax,
                "Parse error: unbalanced ')' with no matching '('",
                Some(t.pos),
            ),
            Some(t) => RadlError::new(
                ErrorKind::Syntax,
                format!(
                    "Parse error in: LexToken({},{},{},{}); expected {} (column {})",
                    token_name(&t.tok),
                    token_value(&t.tok),
                    t.pos.line,
                    t.lexpos,
                    expected,
                    t.pos.column
                ),
                Some(t.pos),
            ),
        }
    }

    fn expect_kw(&mut self, k: Keyword) -> PResult<Pos> {
        if self.peek_kw(k) {
            let p = self.pos().unwrap_or_default();
            self.advance();
            Ok(p)
        } else {
            Err(self.error(&format!("'{}'", k.as_str())))
        }
    }

    fn expect(&mut self, t: &Tok<'_>, what: &str) -> PResult<()> {
        if self.peek() == Some(t) {
            self.advance();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// A name, borrowed from the source.
    fn var(&mut self, what: &str) -> PResult<&'a str> {
        match self.peek() {
            Some(&Tok::Var(v)) => {
                self.advance();
                Ok(v)
            }
            _ => Err(self.error(what)),
        }
    }

    fn number(&mut self, what: &str) -> PResult<Number> {
        match self.peek() {
            Some(Tok::Number(n)) => {
                let n = *n;
                self.advance();
                Ok(n)
            }
            _ => Err(self.error(what)),
        }
    }

    fn document(mut self) -> PResult<Radl> {
        let mut radl = Radl::new();
        let mut descriptions = Vec::new();
        while self.peek_kw(Keyword::Description) {
            descriptions.push(self.description()?);
        }
        const SENTENCE: &str =
            "a sentence (network, system, configure, contextualize, deploy or ansible)";
        let mut sentences = 0usize;
        // Duplicates by id per kind, in a set of names borrowed from the
        // source: `Radl::add` searches its lists, which is quadratic on
        // documents with many sentences.
        let mut seen: std::collections::HashSet<(u8, &'a str)> = std::collections::HashSet::new();
        loop {
            let (kind, id, aspect) = match self.peek() {
                Some(Tok::Keyword(Keyword::Network)) => {
                    let (id, n) = self.network()?;
                    (0u8, Some(id), Aspect::Network(n))
                }
                Some(Tok::Keyword(Keyword::System)) => {
                    let (id, s) = self.system()?;
                    (1, Some(id), Aspect::System(s))
                }
                Some(Tok::Keyword(Keyword::Ansible)) => {
                    let (id, a) = self.ansible()?;
                    (2, Some(id), Aspect::Ansible(a))
                }
                Some(Tok::Keyword(Keyword::Configure)) => {
                    let (id, c) = self.configure()?;
                    (3, Some(id), Aspect::Configure(c))
                }
                Some(Tok::Keyword(Keyword::Deploy)) => (4, None, Aspect::Deploy(self.deploy()?)),
                Some(Tok::Keyword(Keyword::Contextualize)) => {
                    (5, None, Aspect::Contextualize(self.contextualize()?))
                }
                None if sentences > 0 => break,
                _ => return Err(self.error(SENTENCE)),
            };
            if let Some(id) = id
                && !seen.insert((kind, id))
            {
                return Err(RadlError::model("Aspect with the same id was found.", None));
            }
            match aspect {
                Aspect::Network(n) => radl.networks.push(n),
                Aspect::System(s) => radl.systems.push(s),
                Aspect::Ansible(a) => radl.ansible_hosts.push(a),
                Aspect::Configure(c) => radl.configures.push(c),
                Aspect::Deploy(d) => radl.deploys.push(d),
                other => {
                    radl.add(other, IfPresent::Error)?;
                }
            }
            sentences += 1;
        }
        // The grammar nests `description radl`: the innermost (last) is added first.
        for d in descriptions.into_iter().rev() {
            radl.add(Aspect::Description(d), IfPresent::Error)?;
        }
        Ok(radl)
    }

    /// `NAME VAR [ '(' features ')' ]` shared by network, system and description.
    fn named_body(&mut self, kw: Keyword) -> PResult<(Pos, &'a str, Option<Features>)> {
        let pos = self.expect_kw(kw)?;
        let id = self.var("an identifier")?;
        if self.peek() == Some(&Tok::LParen) {
            self.advance();
            let start = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            let fs = self.body(start)?;
            Ok((pos, id, Some(fs)))
        } else {
            Ok((pos, id, None))
        }
    }

    fn description(&mut self) -> PResult<Description> {
        let (pos, id, body) = self.named_body(Keyword::Description)?;
        Ok(Description {
            id: id.to_string(),
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        })
    }

    fn network(&mut self) -> PResult<(&'a str, Network)> {
        let (pos, id, body) = self.named_body(Keyword::Network)?;
        let network = Network {
            id: id.to_string(),
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        };
        Ok((id, network))
    }

    fn system(&mut self) -> PResult<(&'a str, System)> {
        let (pos, name, body) = self.named_body(Keyword::System)?;
        let system = System {
            name: name.to_string(),
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        };
        Ok((name, system))
    }

    fn ansible(&mut self) -> PResult<(&'a str, Ansible)> {
        let pos = self.expect_kw(Keyword::Ansible)?;
        let id = self.var("an identifier")?;
        self.expect(&Tok::LParen, "'('")?;
        let start = self.features()?;
        self.expect(&Tok::RParen, "'and' or ')'")?;
        let ansible = Ansible {
            id: id.to_string(),
            features: self.body(start)?,
            pos: Some(pos),
        };
        Ok((id, ansible))
    }

    fn configure(&mut self) -> PResult<(&'a str, Configure)> {
        let pos = self.expect_kw(Keyword::Configure)?;
        let name = self.var("an identifier")?;
        let mut c = Configure {
            name: name.to_string(),
            recipes: None,
            reference: true,
            pos: Some(pos),
        };
        if self.peek() != Some(&Tok::LParen) {
            return Ok((name, c));
        }
        self.advance();
        c.reference = false;
        match self.peek() {
            Some(Tok::RParen) => {
                self.advance();
                Ok((name, c))
            }
            Some(Tok::RecipeBegin) => {
                self.advance();
                let mut recipe = String::new();
                while let Some(Tok::RecipeLine(l)) = self.peek() {
                    recipe.push_str(l);
                    self.advance();
                }
                if recipe.is_empty() {
                    return Err(self.error("a recipe line after '@begin'"));
                }
                self.expect(&Tok::RecipeEnd, "'@end' at the start of a line")?;
                self.expect(&Tok::RParen, "')'")?;
                c.recipes = Some(recipe);
                Ok((name, c))
            }
            _ => Err(self.error("'@begin' or ')'")),
        }
    }

    fn deploy(&mut self) -> PResult<Deploy> {
        let pos = self.expect_kw(Keyword::Deploy)?;
        let system = self.var("a system id")?.to_string();
        let vm_number = self.number("the number of VMs")?;
        let cloud_id = match self.peek() {
            Some(&Tok::Var(v)) => {
                self.advance();
                Some(v.to_string())
            }
            _ => None,
        };
        Ok(Deploy {
            system,
            vm_number,
            cloud_id,
            pos: Some(pos),
        })
    }

    fn contextualize(&mut self) -> PResult<Contextualize> {
        let pos = self.expect_kw(Keyword::Contextualize)?;
        let max_time = match self.peek() {
            Some(Tok::Number(n)) => {
                let n = *n;
                self.advance();
                n
            }
            _ => Number::Int(0),
        };
        self.expect(&Tok::LParen, "'(' or a max time")?;
        let mut options = indexmap::IndexMap::new();
        while self.peek_kw(Keyword::Option) {
            let opos = self.pos();
            self.advance();
            let name = self.var("an option name")?;
            let op = self.comparator()?;
            let value = match self.peek() {
                Some(Tok::Str(_) | Tok::Number(_)) => match self.take() {
                    Some(Tok::Str(s)) => Value::Str(s.into_owned()),
                    Some(Tok::Number(n)) => Value::Number(n),
                    _ => return Err(self.error("a string or a number")),
                },
                _ => return Err(self.error("a string or a number")),
            };
            let mut f = Feature::new(name, op, value);
            f.pos = opos;
            options.insert(name.to_string(), f);
        }
        let mut items = indexmap::IndexMap::new();
        while self.peek_kw(Keyword::System) {
            let ipos = self.pos();
            self.advance();
            let system = self.var("a system id")?.to_string();
            self.expect_kw(Keyword::Configure)?;
            let configure = self.var("a configure id")?.to_string();
            let mut item = ContextualizeItem {
                system,
                configure,
                step: Number::Int(0),
                ctxt_tool: None,
                pos: ipos,
            };
            if self.peek_kw(Keyword::Step) {
                self.advance();
                item.step = self.number("a step number")?;
            } else if self.peek_kw(Keyword::With) {
                self.advance();
                item.ctxt_tool = Some(self.var("a contextualization tool")?.to_string());
            }
            items.insert((item.system.clone(), item.configure.clone()), item);
        }
        self.expect(&Tok::RParen, "'option', 'system' or ')'")?;
        Ok(Contextualize {
            max_time,
            items: Some(items),
            options: Some(options),
            pos: Some(pos),
        })
    }

    fn comparator(&mut self) -> PResult<Operator> {
        let op = match self.peek() {
            Some(Tok::Eq) => Operator::Eq,
            Some(Tok::Lt) => Operator::Lt,
            Some(Tok::Gt) => Operator::Gt,
            Some(Tok::Le) => Operator::Le,
            Some(Tok::Ge) => Operator::Ge,
            _ => return Err(self.error("a comparator (=, <, >, <=, >=)")),
        };
        self.advance();
        Ok(op)
    }

    /// `features : features AND feature | feature | empty`: the items go to
    /// the buffer; returns where they start in it (see [`Parser::body`]).
    fn features(&mut self) -> PResult<usize> {
        let start = self.items.len();
        if matches!(
            self.peek(),
            Some(Tok::Var(_)) | Some(Tok::Keyword(Keyword::Soft))
        ) {
            let item = self.feature()?;
            self.items.push(item);
        }
        while self.peek_kw(Keyword::And) {
            self.advance();
            let item = self.feature()?;
            self.items.push(item);
        }
        Ok(start)
    }

    /// The features of the body whose items start at `start` in the buffer,
    /// taken out of it. (The whole body is parsed before its items are added,
    /// as the reference does: a syntax error wins over a conflict.)
    fn body(&mut self, start: usize) -> PResult<Features> {
        Features::from_items(self.items.drain(start..))
    }

    fn feature(&mut self) -> PResult<FeatureItem> {
        let pos = self.pos();
        if self.peek_kw(Keyword::Soft) {
            self.advance();
            let weight = self.number("a weight")?;
            self.expect(&Tok::LParen, "'('")?;
            let start = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            return Ok(FeatureItem::Soft(SoftFeatures {
                weight,
                features: self.body(start)?,
                pos,
            }));
        }
        let name = self.var("a feature name or 'soft'")?.to_string();
        if self.peek_kw(Keyword::Contains) {
            self.advance();
            self.expect(&Tok::LParen, "'('")?;
            let start = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            let mut f = Feature::new(
                name,
                Operator::Contains,
                Value::Features(Box::new(self.body(start)?)),
            );
            f.pos = pos;
            return Ok(FeatureItem::Feature(f));
        }
        let op = match self.comparator() {
            Ok(op) => op,
            Err(_) => return Err(self.error("a comparator (=, <, >, <=, >=) or 'contains'")),
        };
        let mut unit = String::new();
        let value = match self.peek() {
            Some(&Tok::Number(n)) => {
                self.advance();
                if let Some(&Tok::Var(u)) = self.peek() {
                    unit = u.to_string();
                    self.advance();
                }
                Value::Number(n)
            }
            Some(Tok::Str(_)) => match self.take() {
                Some(Tok::Str(s)) => Value::Str(s.into_owned()),
                _ => return Err(self.error("a string")),
            },
            Some(&Tok::Random(n)) => {
                self.advance();
                Value::Str(random_string(n))
            }
            Some(Tok::LBrack) => {
                self.advance();
                let mut list = Vec::new();
                if let Some(Tok::Str(s)) = self.peek() {
                    // IM-compat: the reference's grammar action drops a leading
                    // empty string (`['', 'a']` is `['a']`).
                    if !s.is_empty() {
                        list.push(s.to_string());
                    }
                    self.advance();
                }
                while self.peek() == Some(&Tok::Comma) {
                    self.advance();
                    match self.peek() {
                        Some(Tok::Str(s)) => {
                            list.push(s.to_string());
                            self.advance();
                        }
                        _ => return Err(self.error("a string")),
                    }
                }
                self.expect(&Tok::RBrack, "',' or ']'")?;
                Value::List(list)
            }
            _ => return Err(self.error("a number, a string, 'random(N)' or a list")),
        };
        Ok(FeatureItem::Feature(Feature {
            name,
            op,
            value,
            unit,
            pos,
        }))
    }
}
