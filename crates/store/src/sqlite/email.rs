//! [`EmailTokenStore`] on SQLite.

use sqlx::SqliteConnection;

use super::writer::{Done, Op};
use super::{backend, unexpected, SqliteStore};
use crate::email::EmailTokenStore;
use crate::{Result, StoreError};

#[derive(Debug)]
pub(crate) enum Write {
    Put {
        did: String,
        purpose: String,
        token: String,
        requested_at: i64,
    },
    Delete {
        did: String,
        purpose: String,
    },
    DeleteAll {
        did: String,
    },
    SetAuthFactor {
        did: String,
        enabled: bool,
    },
}

impl EmailTokenStore for SqliteStore {
    async fn put_email_token(
        &self,
        did: &str,
        purpose: &str,
        token: &str,
        requested_at: i64,
    ) -> Result<()> {
        self.email_write(Write::Put {
            did: did.into(),
            purpose: purpose.into(),
            token: token.into(),
            requested_at,
        })
        .await
    }

    async fn email_token(&self, did: &str, purpose: &str) -> Result<Option<(String, i64)>> {
        sqlx::query_as(
            "SELECT t.token, t.requested_at FROM email_token t JOIN account a ON a.uid = t.uid \
             WHERE a.did = ?1 AND t.purpose = ?2",
        )
        .bind(did)
        .bind(purpose)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)
    }

    async fn email_token_owner(&self, purpose: &str, token: &str) -> Result<Option<(String, i64)>> {
        sqlx::query_as(
            "SELECT a.did, t.requested_at FROM email_token t JOIN account a ON a.uid = t.uid \
             WHERE t.purpose = ?1 AND t.token = ?2",
        )
        .bind(purpose)
        .bind(token)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)
    }

    async fn delete_email_token(&self, did: &str, purpose: &str) -> Result<()> {
        self.email_write(Write::Delete {
            did: did.into(),
            purpose: purpose.into(),
        })
        .await
    }

    async fn delete_email_tokens_for(&self, did: &str) -> Result<()> {
        self.email_write(Write::DeleteAll { did: did.into() }).await
    }

    async fn email_auth_factor(&self, did: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM email_auth_factor f JOIN account a ON a.uid = f.uid WHERE a.did = ?1",
        )
        .bind(did)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(found.is_some())
    }

    async fn set_email_auth_factor(&self, did: &str, enabled: bool) -> Result<()> {
        self.email_write(Write::SetAuthFactor {
            did: did.into(),
            enabled,
        })
        .await
    }
}

impl SqliteStore {
    async fn email_write(&self, write: Write) -> Result<()> {
        match self.write(Op::Email(write)).await? {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

pub(crate) async fn apply(conn: &mut SqliteConnection, write: Write) -> Result<Done> {
    match write {
        Write::Put {
            did,
            purpose,
            token,
            requested_at,
        } => {
            let n = sqlx::query(
                "INSERT INTO email_token (purpose, uid, token, requested_at) \
                 SELECT ?2, uid, ?3, ?4 FROM account WHERE did = ?1 \
                 ON CONFLICT(purpose, uid) DO UPDATE SET token = excluded.token, \
                 requested_at = excluded.requested_at",
            )
            .bind(did)
            .bind(purpose)
            .bind(token)
            .bind(requested_at)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::AccountNotFound);
            }
        }
        Write::Delete { did, purpose } => {
            sqlx::query(
                "DELETE FROM email_token WHERE purpose = ?2 \
                 AND uid = (SELECT uid FROM account WHERE did = ?1)",
            )
            .bind(did)
            .bind(purpose)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        }
        Write::DeleteAll { did } => {
            sqlx::query(
                "DELETE FROM email_token WHERE uid = (SELECT uid FROM account WHERE did = ?1)",
            )
            .bind(did)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        }
        Write::SetAuthFactor { did, enabled } => {
            let sql = if enabled {
                "INSERT OR IGNORE INTO email_auth_factor (uid) SELECT uid FROM account WHERE did = ?1"
            } else {
                "DELETE FROM email_auth_factor WHERE uid = (SELECT uid FROM account WHERE did = ?1)"
            };
            sqlx::query(sql)
                .bind(did)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(Done::Unit)
}
