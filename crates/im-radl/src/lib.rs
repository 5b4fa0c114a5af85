//! RADL, the Resource and Application Description Language of the
//! Infrastructure Manager: a lexer and parser for the plain-text form, a typed
//! model with the reference's feature-merging rules, `check()` with the
//! reference's messages, a printer whose output parses back to the same model,
//! and the JSON form.
//!
//! ```
//! let radl = im_radl::parse_radl("system front (cpu.count >= 2 and memory.size >= 512M)\ndeploy front 1")?;
//! radl.check()?;
//! let front = radl.get_system("front").expect("defined above");
//! assert_eq!(front.features.get_number("memory.size", "M"), Some(im_radl::Number::Int(512)));
//! let again = im_radl::parse_radl(&radl.to_string())?;
//! assert_eq!(again, radl);
//! # Ok::<(), im_radl::RadlError>(())
//! ```
//!
//! Nothing here does I/O: a request body is never taken for a file path.

mod check;
mod error;
mod json;
mod lexer;
mod model;
mod outports;
mod parser;
mod print;
mod pyrepr;
mod units;
mod yaml;

pub use error::{ErrorKind, Pos, RadlError};
pub use json::{parse_radl_json, radl_from_json, radl_to_json, sort_keys, system_to_json};
pub use model::{
    Ansible, Aspect, Configure, Conflict, Contextualize, ContextualizeItem, Deploy, Description,
    Feature, FeatureItem, FeatureRef, Features, IfPresent, Missing, Network, Operator, Radl, SOFT,
    SoftFeatures, System, Value,
};
pub use outports::{OutPort, parse_outports};
pub use parser::parse_radl;
pub use print::FeatureDisplay;
pub use pyrepr::{py_repr_str, random_string};
pub use units::{Number, python_float_repr, unit_factor};

/// Judges a recipe's YAML as [`Configure::check`] does, with the quick check
/// cross-checked against serde-saphyr (for the `radl_yaml` fuzz target).
#[cfg(feature = "yaml-cross-check")]
pub fn check_recipe_yaml(text: &str) -> Result<(), String> {
    yaml::validate(text)
}
