//! Pure domain logic: no I/O, no async, no web or database types.

pub mod answers;
pub mod contract;
pub mod project;
pub mod rulebook;
pub mod verdict;
