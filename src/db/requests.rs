//! The thread of a request for more information: the officer's answers.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::account::Role;

/// A message in a request's thread.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestMessage {
    pub return_id: Uuid,
    pub author_name: String,
    pub author_role: Role,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// Every message on the requests of a case, oldest first.
pub async fn messages(pool: &PgPool, assessment_id: Uuid) -> sqlx::Result<Vec<RequestMessage>> {
    sqlx::query_as(
        "SELECT m.return_id, u.display_name AS author_name, u.role AS author_role, m.body, m.created_at
         FROM request_messages m
         JOIN returns r ON r.id = m.return_id
         JOIN users u ON u.id = m.author_id
         WHERE r.assessment_id = $1
         ORDER BY m.created_at, m.id",
    )
    .bind(assessment_id)
    .fetch_all(pool)
    .await
}

/// The officer answers an open request of the case; returns the reviewer who asked, or
/// `None` when it is not an open request of this case (answered meanwhile, or another
/// case's).
pub async fn answer(
    tx: &mut Transaction<'_, Postgres>,
    assessment_id: Uuid,
    request: Uuid,
    author: Uuid,
    body: &str,
) -> sqlx::Result<Option<Uuid>> {
    let asked_by: Option<Uuid> = sqlx::query_scalar(
        "UPDATE returns SET answered_at = now()
         WHERE id = $1 AND assessment_id = $2 AND answered_at IS NULL
         RETURNING returned_by",
    )
    .bind(request)
    .bind(assessment_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(asked_by) = asked_by else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO request_messages (id, return_id, author_id, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4())
    .bind(request)
    .bind(author)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(Some(asked_by))
}
