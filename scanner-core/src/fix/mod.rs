pub mod convert;
pub mod validate;
