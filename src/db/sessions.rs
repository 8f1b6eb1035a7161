//! The session store's table (`tower_sessions.session`), written by tower-sessions.

use sqlx::PgPool;

/// How long the store keeps a session after its last save: tower-sessions' default for
/// a cookie that ends with the browser.
const STORE_DAYS: f64 = 14.0;

/// Removes sessions not saved for longer than the inactivity limit (a signed-in session
/// is saved at least every few minutes while used, so these can no longer sign anyone
/// in), and those past the store's own expiry. Returns how many went.
pub async fn delete_idle(pool: &PgPool, idle_secs: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM tower_sessions.session
         WHERE expiry_date < now()
            OR expiry_date < now() + make_interval(days => $1) - make_interval(secs => $2)",
    )
    .bind(STORE_DAYS as i32)
    .bind(idle_secs as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
