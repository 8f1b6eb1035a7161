//! Changing the partner register: importing a file of any known format (from the
//! shell or after an administrator's preview), editing one curated entry, and loading
//! the built-in register. Every change is one transaction: the entries, their history,
//! the audit row and a queued re-screening of the cases.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db;
use crate::db::audit::{Actor, Entry as AuditEntry};
use crate::db::register::{Applied, Change};
use crate::screening::diff::{RegisterDiff, diff};
use crate::screening::formats::{self, ImportError, Imported};
use crate::screening::{Entry, List};
use crate::state::{BUILT_IN_REGISTER, DEFAULT_REGISTER};

/// The hex SHA-256 of a file.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file is bad; nothing changed.
    #[error(transparent)]
    File(#[from] ImportError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A parsed file and what publishing it would change.
pub struct Preview {
    pub imported: Imported,
    pub diff: RegisterDiff,
    /// The register revision the preview was computed against.
    pub base_revision: Option<i64>,
}

/// Parses a file and compares it with the entries of its list now.
pub async fn preview(pool: &PgPool, bytes: &[u8]) -> Result<Preview, ImportFailure> {
    let imported = formats::parse(bytes)?;
    let mut tx = pool.begin().await?;
    check_parents(&mut tx, &imported).await?;
    let current = db::register::list_entries(&mut tx, imported.format.list()).await?;
    let base_revision: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM register_imports")
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    let diff = diff(&current, &imported.entries);
    Ok(Preview {
        imported,
        diff,
        base_revision,
    })
}

/// Parents may point into another list (a listed subsidiary of a curated entry).
async fn check_parents(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    imported: &Imported,
) -> Result<(), ImportFailure> {
    let others = db::register::ids_outside(tx, imported.format.list()).await?;
    let lines = |_: usize| 0;
    formats::validate(&imported.entries, &others, lines).map_err(|mut e| {
        e.line = None;
        e
    })?;
    Ok(())
}

/// Imports a parsed file: replaces its list, audits, and queues re-screening.
pub async fn publish(
    pool: &PgPool,
    imported: &Imported,
    file_name: &str,
    content_hash: &str,
    actor: &Actor,
) -> Result<Applied, ImportFailure> {
    let list = imported.format.list();
    let mut tx = pool.begin().await?;
    check_parents(&mut tx, imported).await?;
    let by = actor.email.clone().unwrap_or_else(|| "system".to_owned());
    let applied = db::register::replace_list(
        &mut tx,
        list,
        &imported.entries,
        Change {
            file_name,
            by: &by,
            content_hash: Some(content_hash),
        },
    )
    .await?;
    let d = &applied.diff;
    db::audit::record(
        &mut tx,
        actor,
        AuditEntry {
            action: "admin.register_import",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Imported {} ({}) from {file_name}: {} entries; {} added, {} changed, {} removed",
                list.title(),
                imported.format.title(),
                imported.entries.len(),
                d.added.len(),
                d.changed.len(),
                d.removed.len()
            ),
            details: serde_json::json!({
                "list": list.code(),
                "file": file_name,
                "sha256": content_hash,
                "revision": applied.revision,
                "entries": imported.entries.len(),
                "added": d.added.len(),
                "changed": d.changed.len(),
                "removed": d.removed.len(),
                "flags_added": d.flags_added.len(),
                "flags_removed": d.flags_removed.len(),
                "skipped": imported.skipped,
            }),
        },
    )
    .await?;
    db::screening::queue(&mut tx, applied.revision).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Parses and imports a file in one go (the command line).
pub async fn import_file(
    pool: &PgPool,
    bytes: &[u8],
    file_name: &str,
    actor: &Actor,
) -> Result<(Imported, Applied), ImportFailure> {
    let imported = formats::parse(bytes)?;
    let applied = publish(pool, &imported, file_name, &content_hash(bytes), actor).await?;
    Ok((imported, applied))
}

/// Saves one curated entry (new or changed), audited, and queues re-screening.
pub async fn save_entry(
    pool: &PgPool,
    entry: &Entry,
    actor: &Actor,
) -> Result<Applied, ImportFailure> {
    change_entry(pool, entry, actor, false).await
}

/// Removes one curated entry; refused while another entry names it as parent.
pub async fn remove_entry(
    pool: &PgPool,
    entry: &Entry,
    actor: &Actor,
) -> Result<Applied, ImportFailure> {
    change_entry(pool, entry, actor, true).await
}

async fn change_entry(
    pool: &PgPool,
    entry: &Entry,
    actor: &Actor,
    remove: bool,
) -> Result<Applied, ImportFailure> {
    let mut tx = pool.begin().await?;
    db::register::lock(&mut tx).await?;
    let mut all = db::register::list_entries(&mut tx, entry.list).await?;
    if remove {
        all.retain(|e| e.id != entry.id);
    } else {
        match all.iter_mut().find(|e| e.id == entry.id) {
            Some(e) => *e = entry.clone(),
            None => all.push(entry.clone()),
        }
    }
    let others = db::register::ids_outside(&mut tx, entry.list).await?;
    formats::validate(&all, &others, |_| 0).map_err(|mut e| {
        e.line = None;
        e
    })?;
    let by = actor.email.clone().unwrap_or_default();
    let applied = db::register::edit(&mut tx, entry.list, all, &by).await?;
    let action = if remove {
        "admin.register_remove"
    } else {
        "admin.register_edit"
    };
    edit_audit(&mut tx, actor, action, entry, &applied).await?;
    db::screening::queue(&mut tx, applied.revision).await?;
    tx.commit().await?;
    Ok(applied)
}

async fn edit_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    actor: &Actor,
    action: &str,
    entry: &Entry,
    applied: &Applied,
) -> sqlx::Result<()> {
    let changes: Vec<String> = applied
        .diff
        .changed
        .iter()
        .flat_map(|c| c.changes.clone())
        .collect();
    db::audit::record(
        tx,
        actor,
        AuditEntry {
            action,
            assessment_id: None,
            project_id: None,
            summary: format!(
                "{} the register entry {} ({})",
                if action.ends_with("remove") {
                    "Removed"
                } else if applied.diff.added.is_empty() {
                    "Changed"
                } else {
                    "Added"
                },
                entry.name,
                entry.id
            ),
            details: serde_json::json!({
                "entry": entry.id,
                "revision": applied.revision,
                "changes": changes,
            }),
        },
    )
    .await
}

/// Loads the built-in curated register into an empty database, or replaces an older
/// built-in one after an upgrade. A curated register an administrator imported is
/// never replaced. Safe when several servers start at once: one does it, under an
/// advisory lock, and the others find it done.
pub async fn ensure_built_in(pool: &PgPool) -> Result<(), ImportFailure> {
    let hash = content_hash(DEFAULT_REGISTER.as_bytes());
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('triage.built-in-register'))")
        .execute(&mut *tx)
        .await?;
    // The newest curated import that was not the conversion of the first schema.
    let last: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT file_name, content_hash FROM register_imports
         WHERE list = 'curated' AND change = 'import' AND file_name <> 'converted from the first register schema'
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let edited_since: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM register_imports WHERE list = 'curated' AND change = 'edit'
                        AND id > coalesce((SELECT max(id) FROM register_imports
                                           WHERE list = 'curated' AND change = 'import'), 0))",
    )
    .fetch_one(&mut *tx)
    .await?;
    let wanted = match &last {
        None => true,
        Some((file, stored)) => {
            file.starts_with("built-in")
                && stored.as_deref() != Some(hash.as_str())
                && !edited_since
        }
    };
    tx.commit().await?;
    if !wanted {
        return Ok(());
    }
    let imported = formats::parse(DEFAULT_REGISTER.as_bytes())?;
    let actor = Actor {
        id: None,
        email: Some("system".to_owned()),
        address: "start-up".to_owned(),
    };
    // Another server may have done it between the check and now: re-check under the lock.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('triage.built-in-register'))")
        .execute(&mut *tx)
        .await?;
    let done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM register_imports WHERE list = 'curated' AND content_hash = $1
                        AND id = (SELECT max(id) FROM register_imports WHERE list = 'curated'))",
    )
    .bind(&hash)
    .fetch_one(&mut *tx)
    .await?;
    if done {
        return Ok(());
    }
    check_parents(&mut tx, &imported).await?;
    let applied = db::register::replace_list(
        &mut tx,
        List::Curated,
        &imported.entries,
        Change {
            file_name: BUILT_IN_REGISTER,
            by: "system",
            content_hash: Some(&hash),
        },
    )
    .await?;
    db::audit::record(
        &mut tx,
        &actor,
        AuditEntry {
            action: "admin.register_import",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Loaded the built-in curated register: {} entries; {} added, {} changed, {} removed",
                imported.entries.len(),
                applied.diff.added.len(),
                applied.diff.changed.len(),
                applied.diff.removed.len()
            ),
            details: serde_json::json!({ "sha256": hash, "revision": applied.revision }),
        },
    )
    .await?;
    db::screening::queue(&mut tx, applied.revision).await?;
    tx.commit().await?;
    tracing::info!(
        entries = imported.entries.len(),
        "loaded the built-in partner register"
    );
    Ok(())
}
