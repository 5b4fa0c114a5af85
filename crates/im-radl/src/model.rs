//! The typed RADL model: features, their storage and merging rules, and the
//! sentences (aspects) of a document.
//!
//! Storage follows the reference (`radl.radl.Features`): numeric features are
//! intervals that intersect when re-added, string features conflict when they
//! differ, `contains` blocks are keyed by their `name`, and `soft` blocks pile up.

use indexmap::IndexMap;

use crate::error::{Pos, RadlError};
use crate::units::Number;

/// A comparison operator of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
}

impl Operator {
    /// The operator as written in RADL.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Lt => "<",
            Operator::Gt => ">",
            Operator::Le => "<=",
            Operator::Ge => ">=",
            Operator::Contains => "contains",
        }
    }
}

/// The value of a feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number; its unit is on the feature.
    Number(Number),
    /// A single-quoted string.
    Str(String),
    /// A list of strings (`['a','b']`).
    List(Vec<String>),
    /// The body of a `contains (...)` block (boxed: see [`Prop::Interval`]).
    Features(Box<Features>),
}

impl Value {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a numeric value.
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// Python truthiness, as the reference's `if value:` tests use it.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Number(n) => !n.is_zero(),
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Features(_) => true,
        }
    }
}

/// One `name op value[unit]` constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Feature name (`cpu.count`).
    pub name: String,
    /// Operator.
    pub op: Operator,
    /// Value.
    pub value: Value,
    /// Unit text as written (`M`, `GiB`, `ECU`), empty when none.
    pub unit: String,
    /// Where it was written.
    pub pos: Option<Pos>,
}

impl Feature {
    /// A feature `name op value` without unit or position.
    pub fn new(name: impl Into<String>, op: Operator, value: Value) -> Self {
        Feature {
            name: name.into(),
            op,
            value,
            unit: String::new(),
            pos: None,
        }
    }

    /// The numeric value in base units (bytes for memory units), if numeric.
    pub fn base_number(&self) -> Option<Number> {
        self.value.as_number().map(|n| n.in_base_units(&self.unit))
    }

    /// The numeric value converted to `unit` (the reference's `getValue(unit)`).
    pub fn number_in(&self, unit: &str) -> Option<Number> {
        self.value.as_number().map(|n| n.convert(&self.unit, unit))
    }
}

/// A `soft W ( ... )` block: optional features with a weight.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftFeatures {
    /// Weight added to a candidate's score when the block applies.
    pub weight: Number,
    /// The block's features.
    pub features: Features,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// An element of a feature list as written: a feature or a soft block.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureItem {
    /// A plain, numeric or `contains` feature.
    Feature(Feature),
    /// A `soft` block.
    Soft(SoftFeatures),
}

/// A feature as stored, for iteration.
#[derive(Debug, Clone, Copy)]
pub enum FeatureRef<'a> {
    /// A feature.
    Feature(&'a Feature),
    /// A soft block.
    Soft(&'a SoftFeatures),
}

/// What to do when a feature clashes with a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Fail.
    Error,
    /// Keep the stored value.
    Ignore,
    /// Keep the stored value.
    Me,
    /// Take the new value.
    Other,
}

/// What to do when a feature is not stored yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Fail.
    Error,
    /// Skip the new feature.
    Ignore,
    /// Add it (the reference's "me" adds too).
    Me,
    /// Add it.
    Other,
}

/// The storage of one feature name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prop {
    /// A numeric interval `[lower, upper]`; `=` stores the same feature twice.
    /// Boxed, as is a `contains` body in [`Value`]: a map entry is then a
    /// third of the size, and an infrastructure's RADLs stay in memory.
    Interval(Box<(Option<Feature>, Option<Feature>)>),
    /// A string or list feature.
    Simple(Feature),
    /// `contains` blocks keyed by their `name` value.
    Contains(IndexMap<Option<String>, Feature>),
    /// Soft blocks.
    Soft(Vec<SoftFeatures>),
}

/// The items of one stored name, for [`Features::iter`] (an iterator rather
/// than a vector per name: `check()` walks every feature).
pub(crate) enum PropIter<'a> {
    /// One or two features (an interval's bounds, or a simple feature).
    Bounds(Option<&'a Feature>, Option<&'a Feature>),
    Contains(indexmap::map::Values<'a, Option<String>, Feature>),
    Soft(std::slice::Iter<'a, SoftFeatures>),
}

impl<'a> Iterator for PropIter<'a> {
    type Item = FeatureRef<'a>;

    fn next(&mut self) -> Option<FeatureRef<'a>> {
        match self {
            PropIter::Bounds(first, second) => first
                .take()
                .or_else(|| second.take())
                .map(FeatureRef::Feature),
            PropIter::Contains(values) => values.next().map(FeatureRef::Feature),
            PropIter::Soft(blocks) => blocks.next().map(FeatureRef::Soft),
        }
    }
}

impl Prop {
    /// This name's items in the reference's order (see [`Features::iter`]).
    pub(crate) fn items(&self) -> PropIter<'_> {
        match self {
            Prop::Interval(ends) => match &**ends {
                (Some(a), Some(b)) if eq_bounds_of_one_value(a, b) => {
                    PropIter::Bounds(Some(a), None)
                }
                (a, b) => PropIter::Bounds(a.as_ref(), b.as_ref()),
            },
            Prop::Simple(f) => PropIter::Bounds(Some(f), None),
            Prop::Contains(m) => PropIter::Contains(m.values()),
            Prop::Soft(l) => PropIter::Soft(l.iter()),
        }
    }
}

/// Both ends of an interval are `=` with the same value (in base units): the
/// reference lists the lower one alone.
pub(crate) fn eq_bounds_of_one_value(a: &Feature, b: &Feature) -> bool {
    a.op == Operator::Eq && b.op == Operator::Eq && a.base_number() == b.base_number()
}

/// The interval that adding `first` then `second` to an empty set stores, as
/// the parser would build it from `first and second` (`None` when that is an
/// error: disjoint intervals).
#[allow(clippy::type_complexity)]
pub(crate) fn interval_of<'f>(
    first: &'f Feature,
    second: &'f Feature,
) -> Option<(Option<&'f Feature>, Option<&'f Feature>)> {
    let ends = |f: &'f Feature| match f.op {
        Operator::Eq => (Some(f), Some(f)),
        Operator::Lt | Operator::Le => (None, Some(f)),
        _ => (Some(f), None),
    };
    let (old, new) = (ends(first), ends(second));
    let values = |(lo, hi): (Option<&Feature>, Option<&Feature>)| (bound(lo), bound(hi));
    let (lo, hi) = interval_pick(values(old), values(new), Conflict::Error)?;
    let take = |end: End, o: Option<&'f Feature>, n: Option<&'f Feature>| match end {
        End::Old => o,
        End::New => n,
    };
    Some((take(lo, old.0, new.0), take(hi, old.1, new.1)))
}

/// The reserved property name under which soft blocks are stored.
pub const SOFT: &str = "__soft__";

/// A set of features keyed by name, in order of first appearance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Features {
    pub(crate) props: IndexMap<String, Prop>,
}

fn kind_mismatch(f: &Feature) -> RadlError {
    RadlError::model(
        format!(
            "Conflict adding `{}` because `{}` is already set with a value of another kind",
            crate::print::FeatureDisplay(f),
            f.name
        ),
        f.pos,
    )
}

impl Features {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from items added in order with the parser's rules
    /// (conflicts are errors).
    pub fn from_items(items: impl IntoIterator<Item = FeatureItem>) -> Result<Self, RadlError> {
        let items = items.into_iter();
        let mut fs = Features {
            props: IndexMap::with_capacity(items.size_hint().0),
        };
        for item in items {
            fs.add(item, Conflict::Error, Missing::Other)?;
        }
        Ok(fs)
    }

    /// Whether there is no feature.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    /// Adds one item with the reference's `addFeature` rules.
    pub fn add(
        &mut self,
        item: FeatureItem,
        conflict: Conflict,
        missing: Missing,
    ) -> Result<(), RadlError> {
        let name = match &item {
            FeatureItem::Feature(f) => f.name.as_str(),
            FeatureItem::Soft(_) => SOFT,
        };
        // (Only these two policies care: no lookup otherwise.)
        if matches!(missing, Missing::Error | Missing::Ignore) && !self.props.contains_key(name) {
            match missing {
                Missing::Error => {
                    return Err(RadlError::model("Property has not set.", None));
                }
                Missing::Ignore => return Ok(()),
                Missing::Me | Missing::Other => {}
            }
        }
        let f = match item {
            FeatureItem::Soft(s) => {
                match self
                    .props
                    .entry(SOFT.to_string())
                    .or_insert_with(|| Prop::Soft(Vec::new()))
                {
                    Prop::Soft(list) => list.push(s),
                    _ => {
                        return Err(RadlError::model(
                            "Conflict adding a soft block: `__soft__` is already set",
                            s.pos,
                        ));
                    }
                }
                return Ok(());
            }
            FeatureItem::Feature(f) => f,
        };
        match &f.value {
            Value::Number(_) => self.add_number(f, conflict),
            Value::Features(_) if f.op == Operator::Contains => {
                self.add_contains(f, conflict, missing)
            }
            _ => self.add_simple(f, conflict),
        }
    }

    fn add_number(&mut self, f: Feature, conflict: Conflict) -> Result<(), RadlError> {
        // The new interval: `=` gives both ends, `<`/`<=` the upper, else the lower.
        let (new_has_lo, new_has_hi) = match f.op {
            Operator::Eq => (true, true),
            Operator::Lt | Operator::Le => (false, true),
            _ => (true, false),
        };
        let value = bound(Some(&f));
        let new = (
            if new_has_lo { value } else { INTERVAL_NONE },
            if new_has_hi { value } else { INTERVAL_NONE },
        );
        let (index, old) = match self.props.get_full(f.name.as_str()) {
            None => (None, (INTERVAL_NONE, INTERVAL_NONE)),
            Some((i, _, Prop::Interval(ends))) => {
                (Some(i), (bound(ends.0.as_ref()), bound(ends.1.as_ref())))
            }
            Some(_) => return Err(kind_mismatch(&f)),
        };
        let Some((lo, hi)) = interval_pick(old, new, conflict) else {
            let show = |x: Option<&Feature>| match x {
                Some(x) => crate::print::FeatureDisplay(x).to_string(),
                None => "None".to_string(),
            };
            let (a, b) = match index.and_then(|i| self.props.get_index(i)) {
                Some((_, Prop::Interval(ends))) => (ends.0.as_ref(), ends.1.as_ref()),
                _ => (None, None),
            };
            return Err(RadlError::model(
                format!(
                    "Disjoint intervals!. Involved features: ['{}', '{}']",
                    show(a),
                    show(b)
                ),
                f.pos,
            ));
        };
        // Move the new feature into the ends that take it (cloned only when
        // both do), and keep the stored ends in place.
        let key = index.is_none().then(|| f.name.clone());
        let (new_lo, new_hi) = match (new_has_lo && lo == End::New, new_has_hi && hi == End::New) {
            (true, true) => (Some(f.clone()), Some(f)),
            (true, false) => (Some(f), None),
            (false, true) => (None, Some(f)),
            (false, false) => (None, None),
        };
        match (index, key) {
            (Some(i), _) => {
                if let Some((_, Prop::Interval(ends))) = self.props.get_index_mut(i) {
                    if lo == End::New {
                        ends.0 = new_lo;
                    }
                    if hi == End::New {
                        ends.1 = new_hi;
                    }
                }
            }
            (None, Some(key)) => {
                self.props
                    .insert(key, Prop::Interval(Box::new((new_lo, new_hi))));
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn add_contains(
        &mut self,
        f: Feature,
        conflict: Conflict,
        missing: Missing,
    ) -> Result<(), RadlError> {
        let key = match &f.value {
            Value::Features(inner) => inner.name_key(),
            _ => None,
        };
        let map = match self
            .props
            .entry(f.name.clone())
            .or_insert_with(|| Prop::Contains(IndexMap::new()))
        {
            Prop::Contains(map) => map,
            _ => return Err(kind_mismatch(&f)),
        };
        match map.get(&key) {
            Some(existing) => {
                let mut merged = existing.clone();
                if let (Value::Features(target), Value::Features(new_inner)) =
                    (&mut merged.value, f.value)
                {
                    for item in (*new_inner).into_items() {
                        target.add(item, conflict, missing)?;
                    }
                }
                map.insert(key, merged);
            }
            None => {
                map.insert(key, f);
            }
        }
        Ok(())
    }

    fn add_simple(&mut self, f: Feature, conflict: Conflict) -> Result<(), RadlError> {
        match self.props.get(&f.name) {
            None => {
                self.props.insert(f.name.clone(), Prop::Simple(f));
            }
            Some(Prop::Simple(old)) => {
                if conflict == Conflict::Other {
                    self.props.insert(f.name.clone(), Prop::Simple(f));
                } else if old.value != f.value && conflict == Conflict::Error {
                    return Err(RadlError::model(
                        format!(
                            "Conflict adding `{}` because `{}` is already set and conflict is error",
                            crate::print::FeatureDisplay(&f),
                            crate::print::FeatureDisplay(old)
                        ),
                        f.pos,
                    ));
                }
            }
            Some(_) => return Err(kind_mismatch(&f)),
        }
        Ok(())
    }

    /// The key under which a `contains` block is stored: its `name` value.
    fn name_key(&self) -> Option<String> {
        match self.get("name")? {
            Value::Str(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::List(l) => Some(format!("{l:?}")),
            Value::Features(_) => None,
        }
    }

    /// Every stored feature in the reference's order: intervals give their lower
    /// then upper bound (once when both are the same `=` value), `contains` blocks
    /// one feature each, soft blocks one item each.
    pub fn iter(&self) -> impl Iterator<Item = FeatureRef<'_>> {
        self.props.values().flat_map(Prop::items)
    }

    /// The items, owned, in `iter()` order (re-adding them rebuilds this set).
    pub fn into_items(self) -> Vec<FeatureItem> {
        self.iter()
            .map(|r| match r {
                FeatureRef::Feature(f) => FeatureItem::Feature(f.clone()),
                FeatureRef::Soft(s) => FeatureItem::Soft(s.clone()),
            })
            .collect()
    }

    /// The stored names, in order of first appearance (soft blocks as `__soft__`).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.props.keys().map(String::as_str)
    }

    /// Whether a feature of that name exists (optionally also inside soft blocks).
    pub fn has_feature(&self, name: &str, check_softs: bool) -> bool {
        self.props.contains_key(name)
            || (check_softs
                && self
                    .soft_blocks()
                    .iter()
                    .any(|s| s.features.has_feature(name, false)))
    }

    /// The main feature of a name: a simple feature, or the lower (else upper)
    /// bound of an interval. `None` for `contains`/soft entries and unknown names.
    pub fn get_feature(&self, name: &str) -> Option<&Feature> {
        match self.props.get(name)? {
            Prop::Simple(f) => Some(f),
            Prop::Interval(ends) => ends.0.as_ref().or(ends.1.as_ref()),
            _ => None,
        }
    }

    /// The value of a feature as the reference's `getValue(name)` returns it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.get_feature(name).map(|f| &f.value)
    }

    /// A string feature's value.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A numeric feature's value converted to `unit` (`""` for base units).
    pub fn get_number(&self, name: &str, unit: &str) -> Option<Number> {
        self.get_feature(name).and_then(|f| f.number_in(unit))
    }

    /// The `contains` blocks stored under a name, in order.
    pub fn get_contains(&self, name: &str) -> Vec<&Features> {
        match self.props.get(name) {
            Some(Prop::Contains(m)) => m
                .values()
                .filter_map(|f| match &f.value {
                    Value::Features(inner) => Some(&**inner),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The soft blocks.
    pub fn soft_blocks(&self) -> &[SoftFeatures] {
        match self.props.get(SOFT) {
            Some(Prop::Soft(l)) => l,
            _ => &[],
        }
    }

    /// Sets `name = value` (the reference's `setValue`): a number replaces both
    /// ends of the interval, anything else replaces the feature.
    pub fn set_value(&mut self, name: &str, value: Value, unit: &str) {
        let mut f = Feature::new(name, Operator::Eq, value);
        f.unit = unit.to_string();
        let prop = if matches!(f.value, Value::Number(_)) {
            Prop::Interval(Box::new((Some(f.clone()), Some(f))))
        } else {
            Prop::Simple(f)
        };
        self.props.insert(name.to_string(), prop);
    }

    /// Removes a feature (all its bounds/blocks); order of the rest is kept.
    pub fn del_value(&mut self, name: &str) {
        self.props.shift_remove(name);
    }

    /// Adds every feature of `other` into a copy of this set with the given
    /// policies and keeps the copy only if all of them applied (the reference's
    /// `applyFeatures`). Soft blocks of `other` are not applied.
    pub fn apply_features(
        &mut self,
        other: &Features,
        conflict: Conflict,
        missing: Missing,
    ) -> Result<(), RadlError> {
        let mut copy = self.clone();
        for item in other.iter() {
            if let FeatureRef::Feature(f) = item {
                copy.add(FeatureItem::Feature(f.clone()), conflict, missing)?;
            }
        }
        *self = copy;
        Ok(())
    }
}

/// The value of a missing interval end in the reference's `_applyInter`.
const INTERVAL_NONE: f64 = -9_223_372_036_854_775_808.0;

/// An interval end's value in base units (`INTERVAL_NONE` when missing).
fn bound(f: Option<&Feature>) -> f64 {
    f.and_then(Feature::base_number)
        .map_or(INTERVAL_NONE, Number::as_f64)
}

/// Which interval an end of a merged interval comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Old,
    New,
}

/// `_applyInter` of the reference: the intersection of the stored interval
/// `i0` and the new one `i1` (lower and upper end values), as the source of
/// each end, or the `conflict` policy's choice when they are disjoint (`None`
/// for an error).
fn interval_pick(i0: (f64, f64), i1: (f64, f64), conflict: Conflict) -> Option<(End, End)> {
    const MIN: f64 = INTERVAL_NONE;
    let le00 = i0.0 <= i1.0;
    let le01 = i1.1 == MIN || i0.0 <= i1.1;
    let le11 = i1.1 == MIN || (i0.1 != MIN && i0.1 <= i1.1);
    let ge00 = !le00 || i0.0 == i1.0;
    let ge10 = i0.1 == MIN || i0.1 >= i1.0;
    if le00 && ge10 && le11 {
        Some((End::New, End::Old))
    } else if le00 && ge10 {
        Some((End::New, End::New))
    } else if ge00 && le01 && le11 {
        Some((End::Old, End::Old))
    } else if ge00 && le01 {
        Some((End::Old, End::New))
    } else {
        match conflict {
            Conflict::Me | Conflict::Ignore => Some((End::Old, End::Old)),
            Conflict::Other => Some((End::New, End::New)),
            Conflict::Error => None,
        }
    }
}

/// A `network` sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Network id.
    pub id: String,
    /// `network n` without a body: a reference to a stored definition.
    pub reference: bool,
    /// Features.
    pub features: Features,
    /// Where it was written.
    pub pos: Option<Pos>,
}

impl Network {
    /// Whether `outbound = 'yes'` (a public network).
    pub fn is_public(&self) -> bool {
        self.features.get_str("outbound") == Some("yes")
    }
}

/// A `system` sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    /// System name.
    pub name: String,
    /// `system s` without a body.
    pub reference: bool,
    /// Features.
    pub features: Features,
    /// Where it was written.
    pub pos: Option<Pos>,
}

impl System {
    /// A new system with no features.
    pub fn new(name: impl Into<String>) -> Self {
        System {
            name: name.into(),
            reference: false,
            features: Features::new(),
            pos: None,
        }
    }

    /// The reference's `concrete(other)`: a copy with `other` applied
    /// (`conflict` error, `missing` other), then each soft block applied in
    /// descending weight; the score is the sum of the weights that applied.
    pub fn concrete(&self, other: Option<&System>) -> Result<(System, f64), RadlError> {
        let mut new = self.clone();
        if let Some(o) = other {
            new.features
                .apply_features(&o.features, Conflict::Error, Missing::Other)?;
        }
        let mut softs: Vec<&SoftFeatures> = self.features.soft_blocks().iter().collect();
        softs.sort_by(|a, b| b.weight.as_f64().total_cmp(&a.weight.as_f64()));
        let mut score = 0.0;
        for s in softs {
            if new
                .features
                .apply_features(&s.features, Conflict::Error, Missing::Other)
                .is_ok()
            {
                score += s.weight.as_f64();
            }
        }
        new.features.del_value(SOFT);
        Ok((new, score))
    }

    /// The ids of the networks of `net_interface.0.connection`,
    /// `net_interface.1.connection`, … up to the first gap.
    pub fn network_ids(&self) -> Vec<&str> {
        (0..)
            .map_while(|i| {
                self.features
                    .get_str(&format!("net_interface.{i}.connection"))
            })
            .collect()
    }

    /// The copy Reconfigure makes: new credentials
    /// (`disk.0.os.credentials.new.*`) that differ are taken from `other`, and
    /// `disk.0.applications` are merged by application name (the part before
    /// `,`), the new definition winning.
    pub fn update_for_reconfigure(&mut self, other: &System) {
        for key in ["password", "public_key", "private_key"] {
            let name = format!("disk.0.os.credentials.new.{key}");
            if let Some(v) = other.features.get(&name)
                && self.features.get(&name) != Some(v)
            {
                self.features.set_value(&name, v.clone(), "");
            }
        }
        let app_name = |f: &Features| {
            f.get_str("name")
                .map(|n| n.split(',').next().unwrap_or(n).to_string())
        };
        let new_apps = other.features.get_contains("disk.0.applications");
        if new_apps.is_empty() {
            return;
        }
        let mut merged: IndexMap<Option<String>, Features> = IndexMap::new();
        for app in self.features.get_contains("disk.0.applications") {
            merged.insert(app_name(app), app.clone());
        }
        for app in new_apps {
            merged.insert(app_name(app), app.clone());
        }
        self.features.del_value("disk.0.applications");
        for app in merged.into_values() {
            let f = Feature::new(
                "disk.0.applications",
                Operator::Contains,
                Value::Features(Box::new(app)),
            );
            // Cannot conflict: the name key is new after the removal above.
            let _ = self
                .features
                .add(FeatureItem::Feature(f), Conflict::Other, Missing::Other);
        }
    }
}

/// An `ansible` sentence: an external Ansible master.
#[derive(Debug, Clone, PartialEq)]
pub struct Ansible {
    /// Id.
    pub id: String,
    /// Features (`host`, `credentials.*`).
    pub features: Features,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// The `description` sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Id.
    pub id: String,
    /// `description d` without a body.
    pub reference: bool,
    /// Free metadata features (`name` is the infrastructure name).
    pub features: Features,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// A `configure` sentence: an Ansible recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Configure {
    /// Name.
    pub name: String,
    /// The recipe text; `None` for `configure c ()` (no contextualization).
    pub recipes: Option<String>,
    /// `configure c` without a body.
    pub reference: bool,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// A `deploy` sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    /// The system to deploy.
    pub system: String,
    /// How many VMs.
    pub vm_number: Number,
    /// Optional cloud id from the auth data.
    pub cloud_id: Option<String>,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// One `system S configure C [step N | with TOOL]` line.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextualizeItem {
    /// System name.
    pub system: String,
    /// Configure name.
    pub configure: String,
    /// Step (0 when not given).
    pub step: Number,
    /// `with TOOL` (`Ansible` when not given).
    pub ctxt_tool: Option<String>,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// The merged `contextualize` sentences of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Contextualize {
    /// Timeout in seconds (0: the server default).
    pub max_time: Number,
    /// Items keyed by (system, configure); `None` when no sentence was given.
    pub items: Option<IndexMap<(String, String), ContextualizeItem>>,
    /// Options keyed by name; `None` when no sentence was given.
    pub options: Option<IndexMap<String, Feature>>,
    /// Where the first sentence was written (the reference keeps none).
    pub pos: Option<Pos>,
}

impl Default for Contextualize {
    fn default() -> Self {
        Contextualize {
            max_time: Number::Int(0),
            items: None,
            options: None,
            pos: None,
        }
    }
}

impl Contextualize {
    /// Whether a `contextualize` sentence was given at all.
    pub fn is_present(&self) -> bool {
        self.items.is_some() || self.options.is_some()
    }

    /// Whether contextualization is disabled: `contextualize ()` with no items.
    pub fn is_disabled(&self) -> bool {
        self.is_present() && self.items.as_ref().is_none_or(IndexMap::is_empty)
    }

    /// Merges another sentence in (`max_time` = max, items and options updated).
    pub fn update(&mut self, other: Contextualize) {
        if other.max_time.as_f64() > self.max_time.as_f64() {
            self.max_time = other.max_time;
        }
        if let Some(items) = other.items {
            self.items.get_or_insert_with(IndexMap::new).extend(items);
        }
        if let Some(opts) = other.options {
            self.options.get_or_insert_with(IndexMap::new).extend(opts);
        }
    }

    /// Items grouped by step, in ascending step order.
    pub fn items_by_step(&self) -> Vec<(Number, Vec<&ContextualizeItem>)> {
        let mut out: Vec<(Number, Vec<&ContextualizeItem>)> = Vec::new();
        for item in self.items.iter().flat_map(IndexMap::values) {
            match out.iter_mut().find(|(s, _)| *s == item.step) {
                Some((_, v)) => v.push(item),
                None => out.push((item.step, vec![item])),
            }
        }
        out.sort_by(|a, b| a.0.as_f64().total_cmp(&b.0.as_f64()));
        out
    }
}

/// Any sentence, as [`Radl::add`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Aspect {
    /// `description`
    Description(Description),
    /// `ansible`
    Ansible(Ansible),
    /// `network`
    Network(Network),
    /// `system`
    System(System),
    /// `configure`
    Configure(Configure),
    /// `deploy`
    Deploy(Deploy),
    /// `contextualize`
    Contextualize(Contextualize),
}

/// What [`Radl::add`] does when an element with the same id exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfPresent {
    /// Fail with `Aspect with the same id was found.`
    Error,
    /// Replace the old element.
    Replace,
    /// Keep the old element.
    Ignore,
}

/// A parsed RADL document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Radl {
    /// The `description`, if any.
    pub description: Option<Description>,
    /// `ansible` sentences.
    pub ansible_hosts: Vec<Ansible>,
    /// `network` sentences.
    pub networks: Vec<Network>,
    /// `system` sentences.
    pub systems: Vec<System>,
    /// `configure` sentences.
    pub configures: Vec<Configure>,
    /// `deploy` sentences (never deduplicated).
    pub deploys: Vec<Deploy>,
    /// All `contextualize` sentences merged.
    pub contextualize: Contextualize,
}

fn add_to<T>(
    list: &mut Vec<T>,
    item: T,
    id: impl Fn(&T) -> &str,
    ifpresent: IfPresent,
) -> Result<bool, RadlError> {
    match list.iter().position(|x| id(x) == id(&item)) {
        None => {
            list.push(item);
            Ok(true)
        }
        Some(i) => match ifpresent {
            IfPresent::Error => Err(RadlError::model("Aspect with the same id was found.", None)),
            IfPresent::Replace => {
                list.remove(i);
                list.push(item);
                Ok(true)
            }
            IfPresent::Ignore => Ok(false),
        },
    }
}

impl Radl {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it has no sentence at all (a new infrastructure's RADL).
    pub fn is_empty(&self) -> bool {
        *self == Radl::default()
    }

    /// Whether a network, system or configure is only a reference to one
    /// defined elsewhere (`system front`, without a body).
    pub fn has_references(&self) -> bool {
        self.networks.iter().any(|n| n.reference)
            || self.systems.iter().any(|s| s.reference)
            || self.configures.iter().any(|c| c.reference)
    }

    /// Adds a sentence; returns whether it was added.
    pub fn add(&mut self, aspect: Aspect, ifpresent: IfPresent) -> Result<bool, RadlError> {
        match aspect {
            Aspect::Contextualize(c) => {
                self.contextualize.update(c);
                Ok(true)
            }
            Aspect::Description(d) => match (&self.description, ifpresent) {
                (None, _) | (Some(_), IfPresent::Replace) => {
                    self.description = Some(d);
                    Ok(true)
                }
                (Some(_), IfPresent::Error) => Err(RadlError::model(
                    "Description can only be defined once.",
                    None,
                )),
                (Some(_), IfPresent::Ignore) => Ok(false),
            },
            Aspect::Network(n) => add_to(&mut self.networks, n, |x| &x.id, ifpresent),
            Aspect::System(s) => add_to(&mut self.systems, s, |x| &x.name, ifpresent),
            Aspect::Ansible(a) => add_to(&mut self.ansible_hosts, a, |x| &x.id, ifpresent),
            Aspect::Configure(c) => add_to(&mut self.configures, c, |x| &x.name, ifpresent),
            Aspect::Deploy(d) => {
                self.deploys.push(d);
                Ok(true)
            }
        }
    }

    /// The system of that name.
    pub fn get_system(&self, name: &str) -> Option<&System> {
        self.systems.iter().find(|s| s.name == name)
    }

    /// The system of that name, mutable.
    pub fn get_system_mut(&mut self, name: &str) -> Option<&mut System> {
        self.systems.iter_mut().find(|s| s.name == name)
    }

    /// The network of that id.
    pub fn get_network(&self, id: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.id == id)
    }

    /// The configure of that name.
    pub fn get_configure(&self, name: &str) -> Option<&Configure> {
        self.configures.iter().find(|c| c.name == name)
    }

    /// The ansible host of that id.
    pub fn get_ansible(&self, id: &str) -> Option<&Ansible> {
        self.ansible_hosts.iter().find(|a| a.id == id)
    }

    /// Merges a request into this stored document as AddResource does
    /// (the reference's `update_radl`): the description is replaced, networks
    /// and ansible hosts are added only when new, systems and configures are
    /// replaced whole, contextualize is merged, and deploys are replaced by the
    /// request's when it has any.
    pub fn update_with(&mut self, other: &Radl) {
        if let Some(d) = &other.description {
            self.description = Some(d.clone());
        }
        for n in &other.networks {
            if self.get_network(&n.id).is_none() {
                self.networks.push(n.clone());
            }
        }
        for a in &other.ansible_hosts {
            if self.get_ansible(&a.id).is_none() {
                self.ansible_hosts.push(a.clone());
            }
        }
        for s in &other.systems {
            let _ = add_to(
                &mut self.systems,
                s.clone(),
                |x| &x.name,
                IfPresent::Replace,
            );
        }
        for c in &other.configures {
            let _ = add_to(
                &mut self.configures,
                c.clone(),
                |x| &x.name,
                IfPresent::Replace,
            );
        }
        if other.contextualize.is_present() {
            self.contextualize.update(other.contextualize.clone());
        }
        if !other.deploys.is_empty() {
            self.deploys = other.deploys.clone();
        }
    }
}
