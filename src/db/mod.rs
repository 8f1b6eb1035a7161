//! Database access: one file per table group. Functions take a pool or a
//! transaction; business rules stay in `domain`.

pub mod assessments;
pub mod audit;
pub mod cases;
pub mod demo;
pub mod embedded;
pub mod outbox;
pub mod projects;
pub mod register;
pub mod review;
pub mod rulebooks;
pub mod screening;
pub mod users;

/// The migrations under `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
