//! The plain-text RADL parser: recursive descent over the lexer's tokens,
//! accepting exactly the reference's LALR grammar and reporting a syntax error
//! at the same token, in the reference's words plus what was expected.

use crate::error::{ErrorKind, Pos, RadlError};
use crate::lexer::{Keyword, Tok, Token, tokenize};
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
    let mut src = String::with_capacity(text.len() + 1);
    src.push_str(text);
    src.push('\n');
    let tokens = tokenize(&src);
    Parser { tokens, i: 0 }.document()
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
}

fn token_name(t: &Tok) -> String {
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

fn token_value(t: &Tok) -> String {
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
        Tok::Str(s) | Tok::Var(s) | Tok::RecipeLine(s) => py_repr_str(s),
        Tok::Random(n) => n.to_string(),
        Tok::Keyword(k) => py_repr_str(k.as_str()),
        Tok::RecipeBegin => "'@begin'".into(),
        Tok::RecipeEnd => "'@end'".into(),
    }
}

type PResult<T> = Result<T, RadlError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.i).map(|t| &t.tok)
    }

    fn peek_kw(&self, k: Keyword) -> bool {
        self.peek() == Some(&Tok::Keyword(k))
    }

    fn pos(&self) -> Option<Pos> {
        self.tokens.get(self.i).map(|t| t.pos)
    }

    /// A syntax error at the current token (or at the end of input).
    fn error(&self, expected: &str) -> RadlError {
        match self.tokens.get(self.i) {
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

    fn bump(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.i).map(|t| t.tok.clone());
        self.i += 1;
        t
    }

    fn expect_kw(&mut self, k: Keyword) -> PResult<Pos> {
        if self.peek_kw(k) {
            let p = self.pos().unwrap_or_default();
            self.i += 1;
            Ok(p)
        } else {
            Err(self.error(&format!("'{}'", k.as_str())))
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> PResult<()> {
        if self.peek() == Some(t) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn var(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(Tok::Var(v)) => {
                let v = v.clone();
                self.i += 1;
                Ok(v)
            }
            _ => Err(self.error(what)),
        }
    }

    fn number(&mut self, what: &str) -> PResult<Number> {
        match self.peek() {
            Some(Tok::Number(n)) => {
                let n = *n;
                self.i += 1;
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
        let mut seen: std::collections::HashSet<(u8, String)> = std::collections::HashSet::new();
        loop {
            let aspect = match self.peek() {
                Some(Tok::Keyword(Keyword::Network)) => Aspect::Network(self.network()?),
                Some(Tok::Keyword(Keyword::System)) => Aspect::System(self.system()?),
                Some(Tok::Keyword(Keyword::Ansible)) => Aspect::Ansible(self.ansible()?),
                Some(Tok::Keyword(Keyword::Configure)) => Aspect::Configure(self.configure()?),
                Some(Tok::Keyword(Keyword::Deploy)) => Aspect::Deploy(self.deploy()?),
                Some(Tok::Keyword(Keyword::Contextualize)) => {
                    Aspect::Contextualize(self.contextualize()?)
                }
                None if sentences > 0 => break,
                _ => return Err(self.error(SENTENCE)),
            };
            // Duplicates by id per kind, in a set: `Radl::add` searches its
            // lists, which is quadratic on documents with many sentences.
            let key = match &aspect {
                Aspect::Network(n) => Some((0u8, n.id.clone())),
                Aspect::System(s) => Some((1, s.name.clone())),
                Aspect::Ansible(a) => Some((2, a.id.clone())),
                Aspect::Configure(c) => Some((3, c.name.clone())),
                _ => None,
            };
            if let Some(k) = key
                && !seen.insert(k)
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
    fn named_body(&mut self, kw: Keyword) -> PResult<(Pos, String, Option<Features>)> {
        let pos = self.expect_kw(kw)?;
        let id = self.var("an identifier")?;
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let items = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            let fs = Features::from_items(items)?;
            Ok((pos, id, Some(fs)))
        } else {
            Ok((pos, id, None))
        }
    }

    fn description(&mut self) -> PResult<Description> {
        let (pos, id, body) = self.named_body(Keyword::Description)?;
        Ok(Description {
            id,
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        })
    }

    fn network(&mut self) -> PResult<Network> {
        let (pos, id, body) = self.named_body(Keyword::Network)?;
        Ok(Network {
            id,
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        })
    }

    fn system(&mut self) -> PResult<System> {
        let (pos, name, body) = self.named_body(Keyword::System)?;
        Ok(System {
            name,
            reference: body.is_none(),
            features: body.unwrap_or_default(),
            pos: Some(pos),
        })
    }

    fn ansible(&mut self) -> PResult<Ansible> {
        let pos = self.expect_kw(Keyword::Ansible)?;
        let id = self.var("an identifier")?;
        self.expect(&Tok::LParen, "'('")?;
        let items = self.features()?;
        self.expect(&Tok::RParen, "'and' or ')'")?;
        Ok(Ansible {
            id,
            features: Features::from_items(items)?,
            pos: Some(pos),
        })
    }

    fn configure(&mut self) -> PResult<Configure> {
        let pos = self.expect_kw(Keyword::Configure)?;
        let name = self.var("an identifier")?;
        let mut c = Configure {
            name,
            recipes: None,
            reference: true,
            pos: Some(pos),
        };
        if self.peek() != Some(&Tok::LParen) {
            return Ok(c);
        }
        self.i += 1;
        c.reference = false;
        match self.peek() {
            Some(Tok::RParen) => {
                self.i += 1;
                Ok(c)
            }
            Some(Tok::RecipeBegin) => {
                self.i += 1;
                let mut recipe = String::new();
                while let Some(Tok::RecipeLine(l)) = self.peek() {
                    recipe.push_str(l);
                    self.i += 1;
                }
                if recipe.is_empty() {
                    return Err(self.error("a recipe line after '@begin'"));
                }
                self.expect(&Tok::RecipeEnd, "'@end' at the start of a line")?;
                self.expect(&Tok::RParen, "')'")?;
                c.recipes = Some(recipe);
                Ok(c)
            }
            _ => Err(self.error("'@begin' or ')'")),
        }
    }

    fn deploy(&mut self) -> PResult<Deploy> {
        let pos = self.expect_kw(Keyword::Deploy)?;
        let system = self.var("a system id")?;
        let vm_number = self.number("the number of VMs")?;
        let cloud_id = match self.peek() {
            Some(Tok::Var(v)) => {
                let v = v.clone();
                self.i += 1;
                Some(v)
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
                self.i += 1;
                n
            }
            _ => Number::Int(0),
        };
        self.expect(&Tok::LParen, "'(' or a max time")?;
        let mut options = indexmap::IndexMap::new();
        while self.peek_kw(Keyword::Option) {
            let opos = self.pos();
            self.i += 1;
            let name = self.var("an option name")?;
            let op = self.comparator()?;
            let value = match self.bump() {
                Some(Tok::Str(s)) => Value::Str(s),
                Some(Tok::Number(n)) => Value::Number(n),
                _ => {
                    self.i -= 1;
                    return Err(self.error("a string or a number"));
                }
            };
            let mut f = Feature::new(name.clone(), op, value);
            f.pos = opos;
            options.insert(name, f);
        }
        let mut items = indexmap::IndexMap::new();
        while self.peek_kw(Keyword::System) {
            let ipos = self.pos();
            self.i += 1;
            let system = self.var("a system id")?;
            self.expect_kw(Keyword::Configure)?;
            let configure = self.var("a configure id")?;
            let mut item = ContextualizeItem {
                system,
                configure,
                step: Number::Int(0),
                ctxt_tool: None,
                pos: ipos,
            };
            if self.peek_kw(Keyword::Step) {
                self.i += 1;
                item.step = self.number("a step number")?;
            } else if self.peek_kw(Keyword::With) {
                self.i += 1;
                item.ctxt_tool = Some(self.var("a contextualization tool")?);
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
        self.i += 1;
        Ok(op)
    }

    /// `features : features AND feature | feature | empty`
    fn features(&mut self) -> PResult<Vec<FeatureItem>> {
        let mut items = Vec::new();
        if matches!(
            self.peek(),
            Some(Tok::Var(_)) | Some(Tok::Keyword(Keyword::Soft))
        ) {
            items.push(self.feature()?);
        }
        while self.peek_kw(Keyword::And) {
            self.i += 1;
            items.push(self.feature()?);
        }
        Ok(items)
    }

    fn feature(&mut self) -> PResult<FeatureItem> {
        let pos = self.pos();
        if self.peek_kw(Keyword::Soft) {
            self.i += 1;
            let weight = self.number("a weight")?;
            self.expect(&Tok::LParen, "'('")?;
            let items = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            return Ok(FeatureItem::Soft(SoftFeatures {
                weight,
                features: Features::from_items(items)?,
                pos,
            }));
        }
        let name = self.var("a feature name or 'soft'")?;
        if self.peek_kw(Keyword::Contains) {
            self.i += 1;
            self.expect(&Tok::LParen, "'('")?;
            let items = self.features()?;
            self.expect(&Tok::RParen, "'and' or ')'")?;
            let mut f = Feature::new(
                name,
                Operator::Contains,
                Value::Features(Features::from_items(items)?),
            );
            f.pos = pos;
            return Ok(FeatureItem::Feature(f));
        }
        let op = match self.comparator() {
            Ok(op) => op,
            Err(_) => return Err(self.error("a comparator (=, <, >, <=, >=) or 'contains'")),
        };
        let mut unit = String::new();
        let value = match self.bump() {
            Some(Tok::Number(n)) => {
                if let Some(Tok::Var(u)) = self.peek() {
                    unit = u.clone();
                    self.i += 1;
                }
                Value::Number(n)
            }
            Some(Tok::Str(s)) => Value::Str(s),
            Some(Tok::Random(n)) => Value::Str(random_string(n)),
            Some(Tok::LBrack) => {
                let mut list = Vec::new();
                if let Some(Tok::Str(s)) = self.peek() {
                    // IM-compat: the reference's grammar action drops a leading
                    // empty string (`['', 'a']` is `['a']`).
                    if !s.is_empty() {
                        list.push(s.clone());
                    }
                    self.i += 1;
                }
                while self.peek() == Some(&Tok::Comma) {
                    self.i += 1;
                    match self.bump() {
                        Some(Tok::Str(s)) => list.push(s),
                        _ => {
                            self.i -= 1;
                            return Err(self.error("a string"));
                        }
                    }
                }
                self.expect(&Tok::RBrack, "',' or ']'")?;
                Value::List(list)
            }
            _ => {
                self.i -= 1;
                return Err(self.error("a number, a string, 'random(N)' or a list"));
            }
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
