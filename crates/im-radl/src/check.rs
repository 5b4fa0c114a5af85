//! `check()`: the reference's validation rules and messages (`RADL.check()`).
//!
//! Order matters because the first error wins: networks, ansible hosts,
//! systems, deploys, configures, then the contextualize sentence.

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::error::RadlError;
use crate::model::{
    Ansible, Configure, Contextualize, Deploy, Feature, FeatureRef, Features, Network, Operator,
    Radl, System, Value,
};
use crate::outports::parse_outports;

/// The expected kind of a value, printed as the reference's Python class.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Float,
    Int,
    Str,
    Contains,
    /// A string or a list of strings (`disk.<i>.image.url`).
    StrOrList,
}

impl Kind {
    fn python_class(self) -> &'static str {
        match self {
            Kind::Float => "<class 'float'>",
            Kind::Int => "<class 'int'>",
            Kind::Str => "<class 'str'>",
            Kind::Contains => "<class 'radl.radl.Features'>",
            // IM-compat: the reference crashes formatting this message.
            Kind::StrOrList => "a string or a list of strings",
        }
    }
}

/// The value predicate of a rule.
enum Pred<'a> {
    None,
    OneOf(&'static [&'static str]),
    Custom(&'a dyn Fn(&Feature) -> bool),
}

/// Which units a rule accepts: `None` means no unit at all.
type Units = Option<&'static [&'static str]>;

const MEM_UNITS: &[&str] = &[
    "", "B", "K", "M", "G", "T", "KB", "MB", "GB", "TB", "KI", "MI", "GI", "KIB", "MIB", "GIB",
    "TIB",
];
const YES_NO: &[&str] = &["YES", "NO"];

/// Whether Python's `s.upper()` is one of `list` (upper-case ASCII words):
/// without allocating for ASCII text, which is all but always the case.
fn upper_is_in(s: &str, list: &[&str]) -> bool {
    if s.is_ascii() {
        list.iter().any(|v| v.eq_ignore_ascii_case(s))
    } else {
        // `ı`.upper() is `I`: only the full Unicode mapping is right here.
        list.contains(&s.to_uppercase().as_str())
    }
}

fn py_list(values: &[&str]) -> String {
    let inner: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    format!("[{}]", inner.join(", "))
}

/// `Feature._check`: type, then operator, then value, then unit.
fn check_feature(f: &Feature, kind: Kind, pred: &Pred<'_>, units: Units) -> Result<(), RadlError> {
    let type_ok = match (kind, &f.value) {
        (Kind::Float, Value::Number(_)) => true,
        (Kind::Int, Value::Number(n)) => n.is_int(),
        (Kind::Str, Value::Str(_)) => true,
        (Kind::Contains, Value::Features(_)) => true,
        (Kind::StrOrList, Value::Str(_) | Value::List(_)) => true,
        _ => false,
    };
    if !type_ok {
        return Err(RadlError::check(
            format!("Invalid type; expected {}", kind.python_class()),
            f.pos,
        ));
    }
    let has_version = f.name.contains("version");
    match &f.value {
        Value::Str(_) if !has_version => {
            if f.op != Operator::Eq {
                return Err(RadlError::check("Invalid operator; expected '='", f.pos));
            }
        }
        Value::Number(_) | Value::Str(_) => {
            if f.op == Operator::Contains {
                return Err(RadlError::check(
                    "Invalid operator; expected '=', '<=', '>=', '>' or '<'",
                    f.pos,
                ));
            }
        }
        Value::Features(_) => {
            if f.op != Operator::Contains {
                return Err(RadlError::check(
                    "Invalid operator; expected 'contains'",
                    f.pos,
                ));
            }
        }
        Value::List(_) => {}
    }
    match pred {
        Pred::None => {}
        Pred::OneOf(values) => {
            if !upper_is_in(f.value.as_str().unwrap_or_default(), values) {
                return Err(RadlError::check(
                    format!("Invalid value; expected one of {}", py_list(values)),
                    f.pos,
                ));
            }
        }
        Pred::Custom(p) => {
            if !p(f) {
                return Err(RadlError::check(
                    format!("Invalid value in property '{}'", f.name),
                    f.pos,
                ));
            }
        }
    }
    match units {
        None => {
            if !f.unit.is_empty() {
                return Err(RadlError::check("Invalid unit; expected none", f.pos));
            }
        }
        Some(list) => {
            if !upper_is_in(&f.unit, list) {
                return Err(RadlError::check(
                    format!("Invalid unit; expected one of {}", py_list(list)),
                    f.pos,
                ));
            }
        }
    }
    Ok(())
}

fn positive(f: &Feature) -> bool {
    f.value.as_number().is_some_and(|n| n.as_f64() >= 0.0)
}

fn is_version(f: &Feature) -> bool {
    let v = f.value.as_str().unwrap_or_default();
    v.is_empty()
        || v.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_numeric()))
}

fn check_password(f: &Feature) -> bool {
    let p = f.value.as_str().unwrap_or_default();
    p.chars().count() > 6
        && p.to_lowercase() != p
        && p.chars().any(char::is_numeric)
        && p.chars().any(|c| !c.is_alphanumeric())
}

fn non_empty(f: &Feature) -> bool {
    f.value.as_str().is_some_and(|s| !s.is_empty())
}

impl Radl {
    /// Validates the document with the reference's rules; the first error wins.
    pub fn check(&self) -> Result<(), RadlError> {
        for n in &self.networks {
            n.check()?;
        }
        for a in &self.ansible_hosts {
            a.check()?;
        }
        for s in &self.systems {
            s.check(self)?;
        }
        // One set of names for every deploy: a linear search per deploy is
        // quadratic on large documents.
        let systems: HashSet<&str> = self.systems.iter().map(|s| s.name.as_str()).collect();
        for d in &self.deploys {
            d.check_with(|name| systems.contains(name))?;
        }
        for c in &self.configures {
            c.check()?;
        }
        let configures: HashSet<&str> = self.configures.iter().map(|c| c.name.as_str()).collect();
        self.contextualize
            .check_with(|s| systems.contains(s), |c| configures.contains(c))?;
        if systems.len() != self.systems.len() {
            return Err(RadlError::check("Some System name duplicated.", None));
        }
        let ids: HashSet<&str> = self.networks.iter().map(|n| n.id.as_str()).collect();
        if ids.len() != self.networks.len() {
            return Err(RadlError::check("Some Network name duplicated.", None));
        }
        Ok(())
    }
}

impl Network {
    /// Checks `outbound`, `outports` and `provider_id`.
    pub fn check(&self) -> Result<(), RadlError> {
        let outports = |f: &Feature| f.value.as_str().is_some_and(|s| parse_outports(s).is_ok());
        for f in plain_features(&self.features) {
            match f.name.as_str() {
                "outbound" => check_feature(f, Kind::Str, &Pred::OneOf(YES_NO), None)?,
                "outports" => check_feature(f, Kind::Str, &Pred::Custom(&outports), None)?,
                "provider_id" => check_feature(f, Kind::Str, &Pred::None, None)?,
                _ => {}
            }
        }
        Ok(())
    }
}

impl Ansible {
    /// Checks that the host and its credentials are given.
    pub fn check(&self) -> Result<(), RadlError> {
        for f in plain_features(&self.features) {
            if matches!(
                f.name.as_str(),
                "host"
                    | "credentials.username"
                    | "credentials.password"
                    | "credentials.private_key"
            ) {
                check_feature(f, Kind::Str, &Pred::None, None)?;
            }
        }
        let given = |n: &str| self.features.get(n).is_some_and(Value::is_truthy);
        if !given("host") {
            return Err(RadlError::check("Ansible host must have a host", self.pos));
        }
        if !given("credentials.username") {
            return Err(RadlError::check(
                "Ansible host must have a credentials.username",
                self.pos,
            ));
        }
        if !given("credentials.password") && !given("credentials.private_key") {
            return Err(RadlError::check(
                "Ansible host must have a credentials.password or credentials.private_key",
                self.pos,
            ));
        }
        Ok(())
    }
}

fn plain_features(fs: &Features) -> impl Iterator<Item = &Feature> {
    fs.iter().filter_map(|r| match r {
        FeatureRef::Feature(f) => Some(f),
        FeatureRef::Soft(_) => None,
    })
}

impl System {
    /// Checks the system's features (soft blocks recursively) with the
    /// reference's table of known features, indices and connections.
    pub fn check(&self, radl: &Radl) -> Result<(), RadlError> {
        check_system_features(&self.features, radl)
    }
}

fn check_system_features(fs: &Features, radl: &Radl) -> Result<(), RadlError> {
    let ansible_host = |f: &Feature| {
        f.value
            .as_str()
            .is_some_and(|id| radl.get_ansible(id).is_some())
    };
    for item in fs.iter() {
        let f = match item {
            FeatureRef::Soft(s) => {
                check_system_features(&s.features, radl)?;
                continue;
            }
            FeatureRef::Feature(f) => f,
        };
        match f.name.as_str() {
            "spot" => check_feature(f, Kind::Str, &Pred::OneOf(YES_NO), None)?,
            "image_type" => check_feature(
                f,
                Kind::Str,
                &Pred::OneOf(&["VMDK", "QCOW", "QCOW2", "RAW"]),
                None,
            )?,
            "virtual_system_type" => check_feature(f, Kind::Str, &Pred::None, None)?,
            "price" | "cpu.count" => check_feature(f, Kind::Float, &Pred::Custom(&positive), None)?,
            "cpu.arch" => check_feature(f, Kind::Str, &Pred::OneOf(&["I386", "X86_64"]), None)?,
            "cpu.performance" => check_feature(
                f,
                Kind::Float,
                &Pred::Custom(&positive),
                Some(&["ECU", "GCEU", "HRZ"]),
            )?,
            "memory.size" => {
                check_feature(f, Kind::Int, &Pred::Custom(&positive), Some(MEM_UNITS))?
            }
            "disk.0.os.credentials.new.password" => {
                check_feature(f, Kind::Str, &Pred::Custom(&check_password), None)?
            }
            "ansible_host" => check_feature(f, Kind::Str, &Pred::Custom(&ansible_host), None)?,
            _ => {}
        }
    }
    check_indexed(fs, radl)
}

/// `check_num`: `net_interface.<i>.*` and `disk.<i>.*` features.
fn check_indexed(fs: &Features, radl: &Radl) -> Result<(), RadlError> {
    // Small vectors rather than sets: a system has a few of these features.
    let mut connections: Vec<&str> = Vec::new();
    // `net_interface` and `disk`, in order of first appearance, with indices.
    let mut prefixes: Vec<(&str, Vec<i64>)> = Vec::new();
    let connection_ok = |f: &Feature| {
        f.value
            .as_str()
            .is_some_and(|id| radl.get_network(id).is_some())
    };
    let app_ok = |f: &Feature| match &f.value {
        Value::Features(app) => check_app(app).is_ok(),
        _ => false,
    };
    for f in plain_features(fs) {
        let Some((prefix, tail)) = f.name.split_once('.') else {
            continue;
        };
        if prefix != "net_interface" && prefix != "disk" {
            continue;
        }
        let (num, suffix) = match tail.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (tail, None),
        };
        let Ok(num) = num.trim().parse::<i64>() else {
            return Err(RadlError::check(
                "Invalid property name; expected an index.",
                f.pos,
            ));
        };
        let Some(suffix) = suffix else { continue };
        let known = match (prefix, suffix) {
            ("net_interface", "connection") => {
                check_feature(f, Kind::Str, &Pred::Custom(&connection_ok), None)?;
                connections.push(f.name.as_str());
                true
            }
            ("net_interface", "ip" | "dns_name") => {
                check_feature(f, Kind::Str, &Pred::None, None)?;
                true
            }
            ("disk", "image.url") => {
                check_feature(f, Kind::StrOrList, &Pred::None, None)?;
                true
            }
            (
                "disk",
                "image.name"
                | "type"
                | "device"
                | "mount_path"
                | "fstype"
                | "os.flavour"
                | "os.credentials.username"
                | "os.credentials.password"
                | "os.credentials.private_key"
                | "os.credentials.public_key",
            ) => {
                check_feature(f, Kind::Str, &Pred::None, None)?;
                true
            }
            ("disk", "size" | "free_size") => {
                check_feature(f, Kind::Float, &Pred::Custom(&positive), Some(MEM_UNITS))?;
                true
            }
            ("disk", "os.name") => {
                check_feature(
                    f,
                    Kind::Str,
                    &Pred::OneOf(&["LINUX", "WINDOWS", "MAC OS X"]),
                    None,
                )?;
                true
            }
            ("disk", "os.version") => {
                check_feature(f, Kind::Str, &Pred::Custom(&is_version), None)?;
                true
            }
            ("disk", "applications") => {
                // The app's own error is the one the reference reports.
                if let Value::Features(app) = &f.value {
                    check_app(app)?;
                }
                check_feature(f, Kind::Contains, &Pred::Custom(&app_ok), None)?;
                true
            }
            _ => false,
        };
        if known {
            match prefixes.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, nums)) => nums.push(num),
                None => prefixes.push((prefix, vec![num])),
            }
        }
    }
    for (prefix, nums) in &mut prefixes {
        nums.sort_unstable();
        nums.dedup();
        let min = nums.first().copied().unwrap_or(0);
        let max = nums.last().copied().unwrap_or(0);
        if min != 0 || max != nums.len() as i64 - 1 {
            return Err(RadlError::check(
                format!("Invalid indices values in properties '{prefix}'"),
                None,
            ));
        }
    }
    let nics = prefixes
        .iter()
        .find(|(p, _)| *p == "net_interface")
        .map_or(0, |(_, nums)| nums.len());
    connections.sort_unstable();
    connections.dedup();
    if connections.len() != nics {
        return Err(RadlError::check(
            "Some net_interface does not have a connection",
            None,
        ));
    }
    Ok(())
}

/// `FeaturesApp.check`: name, path, version and preinstalled of an application.
fn check_app(app: &Features) -> Result<(), RadlError> {
    for f in plain_features(app) {
        match f.name.as_str() {
            "name" | "path" => check_feature(f, Kind::Str, &Pred::Custom(&non_empty), None)?,
            "version" => check_feature(f, Kind::Str, &Pred::Custom(&is_version), None)?,
            "preinstalled" => check_feature(f, Kind::Str, &Pred::OneOf(YES_NO), None)?,
            _ => {}
        }
    }
    Ok(())
}

impl Deploy {
    /// The system must exist and the number of VMs be a non-negative integer.
    pub fn check(&self, radl: &Radl) -> Result<(), RadlError> {
        self.check_with(|name| radl.get_system(name).is_some())
    }

    fn check_with(&self, system_exists: impl Fn(&str) -> bool) -> Result<(), RadlError> {
        if !system_exists(&self.system) {
            return Err(RadlError::check(
                "Invalid system id in the deploy.",
                self.pos,
            ));
        }
        // IM-compat: the reference accepts a float here and crashes later.
        if self.vm_number.as_f64() < 0.0 || !self.vm_number.is_int() {
            return Err(RadlError::check(
                "Invalid number of virtual machines to deploy.",
                self.pos,
            ));
        }
        Ok(())
    }
}

impl Configure {
    /// The recipe must be valid YAML.
    pub fn check(&self) -> Result<(), RadlError> {
        if let Some(r) = &self.recipes
            && let Err(e) = crate::yaml::validate(r)
        {
            return Err(RadlError::check(
                format!("Invalid YAML code: {e}."),
                self.pos,
            ));
        }
        Ok(())
    }
}

impl Contextualize {
    /// `max_time` must be a non-negative integer and every item must name an
    /// existing system and configure.
    pub fn check(&self, radl: &Radl) -> Result<(), RadlError> {
        self.check_with(
            |s| radl.get_system(s).is_some(),
            |c| radl.get_configure(c).is_some(),
        )
    }

    fn check_with(
        &self,
        system_exists: impl Fn(&str) -> bool,
        configure_exists: impl Fn(&str) -> bool,
    ) -> Result<(), RadlError> {
        if !self.max_time.is_int() || self.max_time.as_f64() < 0.0 {
            return Err(RadlError::check(
                "Invalid 'max time' in 'contextualize'",
                self.pos,
            ));
        }
        for item in self.items.iter().flat_map(IndexMap::values) {
            if !system_exists(&item.system) {
                return Err(RadlError::check(
                    format!("Invalid system id '{}'", item.system),
                    item.pos,
                ));
            }
            if !configure_exists(&item.configure) {
                return Err(RadlError::check(
                    format!("Invalid configure id '{}'", item.configure),
                    item.pos,
                ));
            }
        }
        Ok(())
    }
}
