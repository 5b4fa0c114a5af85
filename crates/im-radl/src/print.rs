//! The plain-text printer: the reference's `str(RADL)` layout, with its
//! defects fixed so that printing then parsing gives the same model back:
//! single quotes inside strings are escaped (`\'`), recipes are written
//! between `@begin` and `@end` without adding newlines, and the two ends of a
//! numeric interval come upper end first where the reference's order would
//! read back as another interval.

use std::fmt::{self, Display, Formatter, Write};

use crate::model::{
    Ansible, Configure, Contextualize, ContextualizeItem, Deploy, Description, Feature, FeatureRef,
    Features, Network, Prop, Radl, SoftFeatures, System, Value, eq_bounds_of_one_value,
    interval_of,
};
use crate::units::Number;

/// Writes a string literal. IM-compat: the reference does not escape `'`, which
/// makes such values unparsable; we write `\'`, which both parsers read back.
fn write_str_lit(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    f.write_str(&s.replace('\'', "\\'"))?;
    f.write_char('\'')
}

/// Displays one feature as `name op value` (used in error messages too).
pub struct FeatureDisplay<'a>(pub &'a Feature);

impl Display for FeatureDisplay<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let ft = self.0;
        match &ft.value {
            Value::Features(inner) => write!(f, "{} contains ({})", ft.name, inner),
            Value::List(list) => {
                write!(f, "{} {} [", ft.name, ft.op.as_str())?;
                // Both parsers drop a leading empty string (`['', 'a']` is
                // `['a']`): one more keeps a list that starts with `''`.
                if list.first().is_some_and(String::is_empty) {
                    f.write_str("'',")?;
                }
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_str_lit(f, s)?;
                }
                f.write_char(']')
            }
            Value::Str(s) => {
                write!(f, "{} {} ", ft.name, ft.op.as_str())?;
                write_str_lit(f, s)
            }
            // A unit starting with `.` would be read as the number's decimals:
            // keep it apart (the reference glues it and reads back another value).
            Value::Number(n) if ft.unit.starts_with('.') => {
                write!(f, "{} {} {} {}", ft.name, ft.op.as_str(), n, ft.unit)
            }
            Value::Number(n) => write!(f, "{} {} {}{}", ft.name, ft.op.as_str(), n, ft.unit),
        }
    }
}

impl Display for SoftFeatures {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "soft {} ( {} )", self.weight, self.features)
    }
}

impl Display for Features {
    /// Features joined by ` and⏎`, in `iter()` order (the reference's), except
    /// for the interval ends that would not read back as the same interval.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut item = |f: &mut Formatter<'_>, item: FeatureRef<'_>| {
            if !std::mem::take(&mut first) {
                f.write_str(" and\n")?;
            }
            match item {
                FeatureRef::Feature(ft) => write!(f, "{}", FeatureDisplay(ft)),
                FeatureRef::Soft(s) => write!(f, "{s}"),
            }
        };
        for prop in self.props.values() {
            if let Prop::Interval(ends) = prop
                && let (Some(lo), Some(hi)) = &**ends
                && let Some((a, b)) = interval_order(lo, hi)
            {
                item(f, FeatureRef::Feature(a))?;
                item(f, FeatureRef::Feature(b))?;
                continue;
            }
            for it in prop.items() {
                item(f, it)?;
            }
        }
        Ok(())
    }
}

/// IM-compat: the order in which to print an interval's two ends when the
/// reference's (the lower end, alone if both are `=` of one value) would read
/// back as another interval: `x = 1G and x = 1000M` stores `(1000M, 1G)` and
/// prints `x = 1000M`; `c = 1 and c >= 1` stores `(>= 1, = 1)` and prints both,
/// which read back as `(= 1, = 1)`. Printed upper end first, they read back
/// as the same. `None` when the reference's order is right (or no order is).
fn interval_order<'f>(lo: &'f Feature, hi: &'f Feature) -> Option<(&'f Feature, &'f Feature)> {
    let reference_ok = if eq_bounds_of_one_value(lo, hi) {
        lo == hi
    } else {
        interval_of(lo, hi) == Some((Some(lo), Some(hi)))
    };
    if reference_ok {
        return None;
    }
    (interval_of(hi, lo) == Some((Some(lo), Some(hi)))).then_some((hi, lo))
}

impl Display for Network {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.reference {
            write!(f, "network {} ", self.id)
        } else {
            write!(f, "network {} ( {} )", self.id, self.features)
        }
    }
}

impl Display for System {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.reference {
            write!(f, "system {} ", self.name)
        } else {
            write!(f, "system {} (\n{}\n)\n", self.name, self.features)
        }
    }
}

impl Display for Ansible {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "ansible {} ({})", self.id, self.features)
    }
}

impl Display for Description {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "description {} ({})", self.id, self.features)
    }
}

impl Display for Configure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (&self.recipes, self.reference) {
            (_, true) => write!(f, "configure {}", self.name),
            (None, false) => write!(f, "configure {} ()", self.name),
            (Some(r), false) => {
                // IM-compat: the reference writes `@begin\n{r}\n@end`, so every
                // store/load cycle grows the recipe by two newlines. The text after
                // `@begin` up to the line end is already part of the recipe.
                let nl = if r.ends_with('\n') { "" } else { "\n" };
                write!(f, "configure {} (\n@begin{}{}@end\n)", self.name, r, nl)
            }
        }
    }
}

impl Display for Deploy {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "deploy {} {}", self.system, self.vm_number)?;
        if let Some(c) = &self.cloud_id {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

impl Display for ContextualizeItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let step = if self.step.is_zero() {
            String::new()
        } else {
            format!("step {}", self.step)
        };
        let with = match &self.ctxt_tool {
            Some(t) => format!("with {t}"),
            None => String::new(),
        };
        write!(
            f,
            "system {} configure {} {} {}",
            self.system, self.configure, step, with
        )
    }
}

impl Display for Contextualize {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.is_present() {
            return Ok(());
        }
        let items = self.items.as_ref().filter(|i| !i.is_empty());
        let options = self.options.as_ref().filter(|o| !o.is_empty());
        // IM-compat: the reference leaves out a max time of 0.0, and any max
        // time of an empty block, which then read back as another one; only
        // the parser's default (no number) is left out here.
        let max_time = (self.max_time != Number::Int(0)).then_some(self.max_time);
        if items.is_none() && options.is_none() {
            return match max_time {
                Some(t) => write!(f, "contextualize {t} ()"),
                None => f.write_str("contextualize ()"),
            };
        }
        f.write_str("contextualize ")?;
        if let Some(t) = max_time {
            write!(f, "{t}")?;
        }
        f.write_str(" (\n")?;
        for o in options.into_iter().flat_map(|o| o.values()) {
            writeln!(f, "option {}", FeatureDisplay(o))?;
        }
        for (i, item) in items.into_iter().flat_map(|i| i.values()).enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            write!(f, "{item}")?;
        }
        f.write_str("\n)")
    }
}

impl Display for Radl {
    /// The document in the reference's `str()` layout.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.description {
            writeln!(f, "{d}")?;
        }
        let mut first = true;
        let mut sep = |f: &mut Formatter<'_>| {
            if first {
                first = false;
                Ok(())
            } else {
                f.write_char('\n')
            }
        };
        for a in &self.ansible_hosts {
            sep(f)?;
            write!(f, "{a}")?;
        }
        for n in &self.networks {
            sep(f)?;
            write!(f, "{n}")?;
        }
        for s in &self.systems {
            sep(f)?;
            write!(f, "{s}")?;
        }
        for c in &self.configures {
            sep(f)?;
            write!(f, "{c}")?;
        }
        sep(f)?;
        write!(f, "{}", self.contextualize)?;
        for d in &self.deploys {
            sep(f)?;
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
