//! Where attachments' bytes live: an `object_store` store (a folder under the data
//! directory by default), written while the upload streams in.
//!
//! A file is never held whole in memory: its first bytes (at most [`SNIFF_BYTES`]) are
//! kept to recognise its kind, then every chunk is hashed (SHA-256), counted against the
//! size cap and handed to the store's multipart writer, which holds at most a few parts
//! of [`PART_BYTES`] at a time. A refused file is aborted in the store and the rest of
//! it is read and dropped, so the browser gets the page that says why.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::domain::attachment::{self, Kind, Sniffed, Utf8Check};

/// How many first bytes are kept to recognise a file's kind (Office files are zip
/// archives whose telling entries may come some way in).
pub const SNIFF_BYTES: usize = 64 * 1024;
/// The size of each part handed to the store: S3's smallest allowed part, so the same
/// writer works for a bucket.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// The attachment store and its limits.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
}

/// A stored file's facts.
#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: Kind,
    pub size: u64,
    pub sha256: String,
}

/// The outcome of receiving a file.
#[derive(Debug)]
pub enum Received {
    Stored(Stored),
    /// Refused, with the reason in words; nothing is left in the store.
    Refused(String),
}

impl Storage {
    /// A store in a folder (created when missing).
    pub fn local(dir: &Path, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("creating the attachment folder {}: {e}", dir.display())
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Storage {
            store: Arc::new(store),
            max_bytes,
        })
    }

    /// Any `object_store` store (a bucket, for several app servers).
    pub fn with_store(store: Arc<dyn ObjectStore>, max_bytes: u64) -> Self {
        Storage { store, max_bytes }
    }

    fn too_large(&self) -> String {
        format!(
            "The file is larger than {}, the most triage accepts. Make it smaller (for example, save a PDF at a lower image quality) or split it, and attach it again.",
            attachment::size_words(self.max_bytes as i64)
        )
    }

    /// Receives a file's chunks into the store under `key`, recognising its kind from the
    /// content and checking it fits `name`.
    pub async fn receive<S, E>(
        &self,
        key: &Key,
        name: &str,
        mut chunks: S,
    ) -> anyhow::Result<Received>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let interrupted = || {
            Received::Refused(
                "The upload was interrupted; choose the file and send the form again.".to_owned(),
            )
        };
        // The first bytes, to recognise the kind.
        let mut head: Vec<u8> = Vec::new();
        let mut ended = false;
        while head.len() < SNIFF_BYTES {
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    head.extend_from_slice(&chunk);
                    if head.len() as u64 > self.max_bytes {
                        drain(&mut chunks).await;
                        return Ok(Received::Refused(self.too_large()));
                    }
                }
                Some(Err(_)) => return Ok(interrupted()),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if head.is_empty() {
            return Ok(Received::Refused(
                "The file is empty. Choose the file that holds the evidence.".to_owned(),
            ));
        }
        let sniffed = match infer::get(&head) {
            Some(t) => Sniffed::Signature {
                media_type: t.mime_type(),
                extension: t.extension(),
            },
            None if attachment::could_be_text(&head) => Sniffed::MaybeText,
            None => Sniffed::Unknown,
        };
        let kind = match attachment::classify(sniffed, name) {
            Ok(kind) => kind,
            Err(why) => {
                drain(&mut chunks).await;
                return Ok(Received::Refused(why));
            }
        };
        let mut text = kind
            .media_type
            .starts_with("text/")
            .then(Utf8Check::default);
        let mut hasher = Sha256::new();
        let mut size = head.len() as u64;
        hasher.update(&head);
        if let Some(check) = text.as_mut() {
            check.feed(&head);
        }
        let upload = self.store.put_multipart(key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        writer.write(&head);
        drop(head);
        let mut refusal = None;
        if !ended {
            loop {
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        size += chunk.len() as u64;
                        if size > self.max_bytes {
                            refusal = Some(self.too_large());
                            break;
                        }
                        hasher.update(&chunk);
                        if let Some(check) = text.as_mut() {
                            check.feed(&chunk);
                        }
                        // At most two parts in flight: memory stays bounded.
                        writer.wait_for_capacity(2).await?;
                        writer.write(&chunk);
                    }
                    Some(Err(_)) => {
                        let Received::Refused(why) = interrupted() else {
                            unreachable!()
                        };
                        refusal = Some(why);
                        break;
                    }
                    None => break,
                }
            }
        }
        if refusal.is_none() && text.is_some_and(|check| !check.finish()) {
            refusal = Some(format!(
                "“{name}” is named as text but is not plain UTF-8 text. Save it as UTF-8 text, or attach it as a PDF."
            ));
        }
        if let Some(why) = refusal {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "could not abort a refused upload");
            }
            drain(&mut chunks).await;
            return Ok(Received::Refused(why));
        }
        writer.finish().await?;
        Ok(Received::Stored(Stored {
            kind,
            size,
            sha256: hex(&hasher.finalize()),
        }))
    }

    /// The stored bytes, as a stream of chunks.
    pub async fn open(
        &self,
        key: &Key,
    ) -> anyhow::Result<impl Stream<Item = Result<Bytes, object_store::Error>> + use<>> {
        Ok(self.store.get(key).await?.into_stream())
    }

    /// Removes an object (a file whose record could not be written).
    pub async fn remove(&self, key: &Key) {
        if let Err(e) = self.store.delete(key).await {
            tracing::warn!(error = %e, %key, "could not remove a stored file");
        }
    }
}

/// Reads and drops the rest of a refused file, so the client gets the answer; the
/// request's body limit bounds how long this can go on.
async fn drain<S, E>(chunks: &mut S)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    while let Some(Ok(_)) = chunks.next().await {}
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
