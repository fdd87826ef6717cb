//! Placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    Valid,
    Unchecked,
    Invalid(Vec<String>),
}
pub fn validate(_object: &serde_json::Value) -> Validation {
    Validation::Unchecked
}
