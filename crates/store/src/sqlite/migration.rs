//! [`MigrationStore`] on SQLite.

use sqlx::SqliteConnection;

use super::writer::{Done, Op};
use super::{backend, unexpected, SqliteStore};
use crate::migration::{BlobRef, MigrationStore};
use crate::{Result, StoreError};

#[derive(Debug)]
pub(crate) struct LinkBlobs {
    did: String,
    refs: Vec<BlobRef>,
}

impl MigrationStore for SqliteStore {
    async fn link_record_blobs(&self, did: &str, refs: Vec<BlobRef>) -> Result<u64> {
        if refs.is_empty() {
            return Ok(0);
        }
        match self
            .write(Op::Migration(LinkBlobs {
                did: did.into(),
                refs,
            }))
            .await?
        {
            Done::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }
}

pub(crate) async fn apply(conn: &mut SqliteConnection, link: LinkBlobs) -> Result<Done> {
    let uid: Option<i64> = sqlx::query_scalar("SELECT uid FROM account WHERE did = ?1")
        .bind(&link.did)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let uid = uid.ok_or(StoreError::AccountNotFound)?;
    let mut added = 0;
    for (collection, rkey, cid) in link.refs {
        // Only for a record still indexed and a blob stored; the trigger on record_blob marks
        // the blob referenced.
        added += sqlx::query(
            "INSERT OR IGNORE INTO record_blob (uid, collection, rkey, blob_cid) \
             SELECT ?1, ?2, ?3, ?4 \
             WHERE EXISTS (SELECT 1 FROM blob WHERE uid = ?1 AND cid = ?4) \
               AND EXISTS (SELECT 1 FROM record WHERE uid = ?1 AND collection = ?2 AND rkey = ?3)",
        )
        .bind(uid)
        .bind(collection)
        .bind(rkey)
        .bind(cid.to_bytes().to_vec())
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected();
    }
    Ok(Done::Count(added))
}
