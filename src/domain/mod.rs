//! Pure domain logic: no I/O, no async, no web or database types.

pub mod account;
pub mod answers;
pub mod attachment;
pub mod compare;
pub mod contract;
pub mod digest;
pub mod lifecycle;
pub mod memo;
pub mod mitigation;
pub mod project;
pub mod reference;
pub mod risk_change;
pub mod rulebook;
pub mod search;
pub mod text;
pub mod verdict;
