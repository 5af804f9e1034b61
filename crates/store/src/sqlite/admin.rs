//! [`AdminStore`] on SQLite.

use sqlx::SqliteConnection;

use super::writer::{Done, Op};
use super::{
    account_from_row, backend, invite_codes_from_rows, limit_param, status_str, unexpected,
    InviteRow, SqliteStore, ACCOUNT_COLUMNS, INVITE_COLUMNS,
};
use crate::admin::{AdminStore, InviteSort, Subject};
use crate::{Account, AccountStatus, InviteCode, Result, StoreError};

#[derive(Debug)]
pub(crate) enum Write {
    SetDeactivated {
        did: String,
        deactivated: bool,
    },
    SetTakedown {
        did: String,
        subject: Subject,
        reference: Option<String>,
    },
}

/// The `(kind, subject)` columns of a subject.
fn columns(subject: &Subject) -> (&'static str, String) {
    match subject {
        Subject::Account => ("account", String::new()),
        Subject::Record { collection, rkey } => ("record", format!("{collection}/{rkey}")),
        Subject::Blob(cid) => ("blob", cid.to_string()),
    }
}

/// Escapes `LIKE` wildcards so a search prefix matches literally (with `ESCAPE '\'`).
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl AdminStore for SqliteStore {
    async fn set_takedown(
        &self,
        did: &str,
        subject: Subject,
        reference: Option<&str>,
    ) -> Result<()> {
        self.admin_write(Write::SetTakedown {
            did: did.into(),
            subject,
            reference: reference.map(str::to_owned),
        })
        .await
    }

    async fn set_deactivated(&self, did: &str, deactivated: bool) -> Result<()> {
        self.admin_write(Write::SetDeactivated {
            did: did.into(),
            deactivated,
        })
        .await
    }

    async fn takedown(&self, did: &str, subject: &Subject) -> Result<Option<String>> {
        let (kind, key) = columns(subject);
        sqlx::query_scalar(
            "SELECT t.reference FROM takedown t JOIN account a ON a.uid = t.uid \
             WHERE a.did = ?1 AND t.kind = ?2 AND t.subject = ?3",
        )
        .bind(did)
        .bind(kind)
        .bind(key)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)
    }

    async fn taken_down_records(&self, did: &str) -> Result<Vec<(String, String)>> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT t.subject FROM takedown t JOIN account a ON a.uid = t.uid \
             WHERE a.did = ?1 AND t.kind = 'record'",
        )
        .bind(did)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.split_once('/').map(|(c, r)| (c.to_owned(), r.to_owned())))
            .collect())
    }

    async fn search_accounts(
        &self,
        prefix: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Account>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM account WHERE did > ?1 AND status != 'deleted' \
             AND (?2 IS NULL OR handle_key LIKE ?2 ESCAPE '\\' OR email_key LIKE ?2 ESCAPE '\\') \
             ORDER BY did LIMIT ?3"
        );
        let rows = sqlx::query(&sql)
            .bind(cursor.unwrap_or(""))
            .bind(prefix.filter(|p| !p.is_empty()).map(like_prefix))
            .bind(limit_param(limit))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| account_from_row(row).map(|(account, _)| account))
            .collect()
    }

    async fn list_invite_codes(
        &self,
        sort: InviteSort,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<InviteCode>, Option<String>)> {
        let rows: Vec<InviteRow> = match sort {
            // Keyset on (created_at, code), newest first: codes created while paging do not
            // shift later pages.
            InviteSort::Recent => {
                let (at, code) = match cursor.and_then(|c| c.split_once("::")) {
                    Some((at, code)) => (Some(at.to_owned()), code.to_owned()),
                    None => (None, String::new()),
                };
                let sql = format!(
                    "SELECT {INVITE_COLUMNS} FROM invite_code \
                     WHERE ?1 IS NULL OR created_at < ?1 OR (created_at = ?1 AND code < ?2) \
                     ORDER BY created_at DESC, code DESC LIMIT ?3"
                );
                sqlx::query_as(&sql)
                    .bind(at)
                    .bind(code)
                    .bind(limit_param(limit))
                    .fetch_all(&self.read)
                    .await
                    .map_err(backend)?
            }
            // Use counts change as codes are used; an offset is as good as any key here.
            InviteSort::Usage => {
                let offset: i64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                let sql = format!(
                    "SELECT {INVITE_COLUMNS} FROM invite_code c \
                     ORDER BY (SELECT count(*) FROM invite_code_use u WHERE u.code = c.code) DESC, \
                     created_at DESC, code DESC LIMIT ?1 OFFSET ?2"
                );
                sqlx::query_as(&sql)
                    .bind(limit_param(limit))
                    .bind(offset)
                    .fetch_all(&self.read)
                    .await
                    .map_err(backend)?
            }
        };
        let full_page = rows.len() >= limit && limit > 0;
        let codes = invite_codes_from_rows(&self.read, rows).await?;
        let next = match (full_page, sort, codes.last()) {
            (true, InviteSort::Recent, Some(last)) => {
                Some(format!("{}::{}", last.created_at, last.code))
            }
            (true, InviteSort::Usage, Some(_)) => {
                let offset: i64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                Some((offset + codes.len() as i64).to_string())
            }
            _ => None,
        };
        Ok((codes, next))
    }

    async fn invited_by(&self, did: &str) -> Result<Option<InviteCode>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM invite_code WHERE code = \
             (SELECT code FROM invite_code_use WHERE used_by = ?1 LIMIT 1)"
        );
        let rows: Vec<InviteRow> = sqlx::query_as(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        Ok(invite_codes_from_rows(&self.read, rows).await?.pop())
    }
}

impl SqliteStore {
    async fn admin_write(&self, write: Write) -> Result<()> {
        match self.write(Op::Admin(write)).await? {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

pub(crate) async fn apply(conn: &mut SqliteConnection, write: Write) -> Result<Done> {
    match write {
        Write::SetDeactivated { did, deactivated } => {
            set_deactivated(conn, &did, deactivated).await
        }
        Write::SetTakedown {
            did,
            subject,
            reference,
        } => set_takedown(conn, did, subject, reference).await,
    }
}

async fn set_deactivated(
    conn: &mut SqliteConnection,
    did: &str,
    deactivated: bool,
) -> Result<Done> {
    // deleted and takendown accounts keep their status; only the deactivation time changes.
    let sql = if deactivated {
        "UPDATE account SET deactivated_at = COALESCE(deactivated_at, ?2), \
         status = CASE WHEN status IN ('takendown', 'deleted') THEN status ELSE 'deactivated' END \
         WHERE did = ?1"
    } else {
        "UPDATE account SET deactivated_at = NULL, \
         status = CASE WHEN status IN ('takendown', 'deleted') THEN status ELSE 'active' END \
         WHERE did = ?1"
    };
    let n = sqlx::query(sql)
        .bind(did)
        .bind(super::now_rfc3339())
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::AccountNotFound);
    }
    Ok(Done::Unit)
}

async fn set_takedown(
    conn: &mut SqliteConnection,
    did: String,
    subject: Subject,
    reference: Option<String>,
) -> Result<Done> {
    let uid: Option<i64> = sqlx::query_scalar("SELECT uid FROM account WHERE did = ?1")
        .bind(&did)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let uid = uid.ok_or(StoreError::AccountNotFound)?;
    let (kind, key) = columns(&subject);
    match &reference {
        Some(reference) => sqlx::query(
            "INSERT INTO takedown (uid, kind, subject, reference) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(uid, kind, subject) DO UPDATE SET reference = excluded.reference",
        )
        .bind(uid)
        .bind(kind)
        .bind(&key)
        .bind(reference),
        None => sqlx::query("DELETE FROM takedown WHERE uid = ?1 AND kind = ?2 AND subject = ?3")
            .bind(uid)
            .bind(kind)
            .bind(&key),
    }
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if subject == Subject::Account {
        // Lifting a takedown returns the account to what it was: deactivated if it had been
        // deactivated (deactivated_at survives the takedown), else active. A deleted account
        // stays deleted.
        let sql = if reference.is_some() {
            format!(
                "UPDATE account SET status = '{}' WHERE uid = ?1 AND status != 'deleted'",
                status_str(AccountStatus::Takendown)
            )
        } else {
            "UPDATE account SET status = CASE WHEN deactivated_at IS NULL THEN 'active' \
             ELSE 'deactivated' END WHERE uid = ?1 AND status = 'takendown'"
                .to_owned()
        };
        sqlx::query(&sql)
            .bind(uid)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(Done::Unit)
}
