//! Integrity's domain: the types and rules of locate tickets, with no I/O.
//!
//! Everything here is pure: the store persists these types, the API renders
//! them, and both rely on the checks made here when values are built.

pub mod account;
pub mod custom_field;
pub mod errors;
pub mod field_value;
pub mod manifest;
pub mod permission;
pub mod relay;
pub mod response;
pub mod ticket;
pub mod time;
pub mod user;

pub use errors::ValidationErrors;
