//! [`OAuthStore`] on SQLite: reads from the read pool, writes through the writer task like every
//! other change (so they share its group commit and durability).

use sqlx::SqliteConnection;

use super::writer::{Done, Op};
use super::{backend, unexpected, SqliteStore};
use crate::oauth::{OAuthDevice, OAuthRequest, OAuthSession, OAuthStore, RefreshLookup};
use crate::{Result, StoreError};

/// A change of the OAuth tables, run by the writer.
#[derive(Debug)]
pub(crate) enum Write {
    PutRequest(OAuthRequest),
    Approve {
        id: String,
        did: String,
        device_id: Option<String>,
        code: String,
        code_expires_at: i64,
    },
    UseCode(String),
    DeleteRequest(String),
    CreateSession(OAuthSession),
    Rotate {
        session_id: String,
        old: String,
        new: String,
        refresh_expires_at: i64,
        now: i64,
    },
    DeleteSession(String),
    DeleteSessionsByCode(String),
    DeleteSessionsFor(String),
    PutDevice(OAuthDevice),
    AddDeviceAccount {
        device_id: String,
        did: String,
        now: i64,
    },
    RemoveDeviceAccount {
        device_id: String,
        did: String,
    },
    Prune {
        now: i64,
        requests_before: i64,
        devices_before: i64,
    },
}

const REQUEST_COLUMNS: &str = "id, client_id, client_auth, params, dpop_jkt, code_challenge, \
     state, expires_at, did, device_id, code, code_used";

type RequestRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn request_from_row(row: RequestRow) -> OAuthRequest {
    let (
        id,
        client_id,
        client_auth,
        params,
        dpop_jkt,
        code_challenge,
        state,
        expires_at,
        did,
        device_id,
        code,
        code_used,
    ) = row;
    OAuthRequest {
        id,
        client_id,
        client_auth,
        params,
        dpop_jkt,
        code_challenge,
        state,
        expires_at,
        did,
        device_id,
        code,
        code_used: code_used != 0,
    }
}

const SESSION_COLUMNS: &str = "s.id, a.did, s.client_id, s.client_auth, s.dpop_jkt, s.scope, \
     s.device_id, s.code, s.refresh_token, s.refresh_expires_at, s.created_at, s.updated_at, \
     s.expires_at";

type DeviceRow = (String, String, Option<String>, Option<String>, i64, i64);

type SessionRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
);

fn session_from_row(row: SessionRow) -> OAuthSession {
    let (
        id,
        did,
        client_id,
        client_auth,
        dpop_jkt,
        scope,
        device_id,
        code,
        refresh_token,
        refresh_expires_at,
        created_at,
        updated_at,
        expires_at,
    ) = row;
    OAuthSession {
        id,
        did,
        client_id,
        client_auth,
        dpop_jkt,
        scope,
        device_id,
        code,
        refresh_token,
        refresh_expires_at,
        created_at,
        updated_at,
        expires_at,
    }
}

impl SqliteStore {
    async fn oauth_write(&self, write: Write) -> Result<u64> {
        match self.write(Op::OAuth(write)).await? {
            Done::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    async fn session_where(&self, column: &str, value: &str) -> Result<Option<OAuthSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM oauth_session s JOIN account a ON a.uid = s.uid \
             WHERE s.{column} = ?1"
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(value)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(row.map(session_from_row))
    }

    async fn request_where(&self, column: &str, value: &str) -> Result<Option<OAuthRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM oauth_request WHERE {column} = ?1");
        let row: Option<RequestRow> = sqlx::query_as(&sql)
            .bind(value)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(row.map(request_from_row))
    }
}

impl OAuthStore for SqliteStore {
    async fn put_oauth_request(&self, request: OAuthRequest) -> Result<()> {
        self.oauth_write(Write::PutRequest(request)).await.map(drop)
    }

    async fn oauth_request(&self, id: &str) -> Result<Option<OAuthRequest>> {
        self.request_where("id", id).await
    }

    async fn oauth_request_by_code(&self, code: &str) -> Result<Option<OAuthRequest>> {
        self.request_where("code", code).await
    }

    async fn code_challenge_seen(&self, challenge: &str) -> Result<bool> {
        let row: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM oauth_request WHERE code_challenge = ?1 LIMIT 1")
                .bind(challenge)
                .fetch_optional(&self.read)
                .await
                .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn state_seen(&self, client_id: &str, state: &str) -> Result<bool> {
        let row: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM oauth_request WHERE client_id = ?1 AND state = ?2 LIMIT 1",
        )
        .bind(client_id)
        .bind(state)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn approve_oauth_request(
        &self,
        id: &str,
        did: &str,
        device_id: Option<&str>,
        code: &str,
        code_expires_at: i64,
    ) -> Result<bool> {
        let n = self
            .oauth_write(Write::Approve {
                id: id.into(),
                did: did.into(),
                device_id: device_id.map(Into::into),
                code: code.into(),
                code_expires_at,
            })
            .await?;
        Ok(n == 1)
    }

    async fn use_oauth_code(&self, code: &str) -> Result<bool> {
        Ok(self.oauth_write(Write::UseCode(code.into())).await? == 1)
    }

    async fn delete_oauth_request(&self, id: &str) -> Result<()> {
        self.oauth_write(Write::DeleteRequest(id.into()))
            .await
            .map(drop)
    }

    async fn create_oauth_session(&self, session: OAuthSession) -> Result<()> {
        self.oauth_write(Write::CreateSession(session))
            .await
            .map(drop)
    }

    async fn oauth_session(&self, id: &str) -> Result<Option<OAuthSession>> {
        self.session_where("id", id).await
    }

    async fn oauth_session_by_refresh(&self, refresh_token: &str) -> Result<RefreshLookup> {
        if let Some(session) = self.session_where("refresh_token", refresh_token).await? {
            return Ok(RefreshLookup::Current(Box::new(session)));
        }
        let used: Option<String> = sqlx::query_scalar(
            "SELECT session_id FROM oauth_used_refresh WHERE refresh_token = ?1",
        )
        .bind(refresh_token)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(match used {
            Some(session_id) => RefreshLookup::Used { session_id },
            None => RefreshLookup::Unknown,
        })
    }

    async fn rotate_oauth_refresh(
        &self,
        session_id: &str,
        old: &str,
        new: &str,
        refresh_expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let n = self
            .oauth_write(Write::Rotate {
                session_id: session_id.into(),
                old: old.into(),
                new: new.into(),
                refresh_expires_at,
                now,
            })
            .await?;
        Ok(n == 1)
    }

    async fn delete_oauth_session(&self, id: &str) -> Result<()> {
        self.oauth_write(Write::DeleteSession(id.into()))
            .await
            .map(drop)
    }

    async fn delete_oauth_sessions_by_code(&self, code: &str) -> Result<()> {
        self.oauth_write(Write::DeleteSessionsByCode(code.into()))
            .await
            .map(drop)
    }

    async fn delete_oauth_sessions_for(&self, did: &str) -> Result<()> {
        self.oauth_write(Write::DeleteSessionsFor(did.into()))
            .await
            .map(drop)
    }

    async fn list_oauth_sessions(&self, did: &str) -> Result<Vec<OAuthSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM oauth_session s JOIN account a ON a.uid = s.uid \
             WHERE a.did = ?1 ORDER BY s.updated_at DESC"
        );
        let rows: Vec<SessionRow> = sqlx::query_as(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(session_from_row).collect())
    }

    async fn put_oauth_device(&self, device: OAuthDevice) -> Result<()> {
        self.oauth_write(Write::PutDevice(device)).await.map(drop)
    }

    async fn oauth_device(&self, id: &str) -> Result<Option<OAuthDevice>> {
        let row: Option<DeviceRow> = sqlx::query_as(
            "SELECT id, secret_hash, user_agent, ip, created_at, last_seen_at \
                 FROM oauth_device WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(row.map(
            |(id, secret_hash, user_agent, ip, created_at, last_seen_at)| OAuthDevice {
                id,
                secret_hash,
                user_agent,
                ip,
                created_at,
                last_seen_at,
            },
        ))
    }

    async fn add_device_account(&self, device_id: &str, did: &str, now: i64) -> Result<()> {
        self.oauth_write(Write::AddDeviceAccount {
            device_id: device_id.into(),
            did: did.into(),
            now,
        })
        .await
        .map(drop)
    }

    async fn remove_device_account(&self, device_id: &str, did: &str) -> Result<()> {
        self.oauth_write(Write::RemoveDeviceAccount {
            device_id: device_id.into(),
            did: did.into(),
        })
        .await
        .map(drop)
    }

    async fn device_accounts(&self, device_id: &str) -> Result<Vec<(String, i64)>> {
        sqlx::query_as(
            "SELECT a.did, d.authenticated_at FROM oauth_device_account d \
             JOIN account a ON a.uid = d.uid \
             WHERE d.device_id = ?1 AND a.status != 'deleted' \
             ORDER BY d.authenticated_at DESC",
        )
        .bind(device_id)
        .fetch_all(&self.read)
        .await
        .map_err(backend)
    }

    async fn prune_oauth(
        &self,
        now: i64,
        requests_before: i64,
        devices_before: i64,
    ) -> Result<u64> {
        self.oauth_write(Write::Prune {
            now,
            requests_before,
            devices_before,
        })
        .await
    }
}

/// Runs one OAuth write inside the writer's transaction; answers the number of rows it changed
/// (what the compare-and-swap style calls need to know).
pub(crate) async fn apply(conn: &mut SqliteConnection, write: Write) -> Result<Done> {
    let n = match write {
        Write::PutRequest(r) => sqlx::query(
            "INSERT INTO oauth_request (id, client_id, client_auth, params, dpop_jkt, \
             code_challenge, state, expires_at, did, device_id, code, code_used) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .bind(r.id)
        .bind(r.client_id)
        .bind(r.client_auth)
        .bind(r.params)
        .bind(r.dpop_jkt)
        .bind(r.code_challenge)
        .bind(r.state)
        .bind(r.expires_at)
        .bind(r.did)
        .bind(r.device_id)
        .bind(r.code)
        .bind(i64::from(r.code_used))
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::Approve {
            id,
            did,
            device_id,
            code,
            code_expires_at,
        } => sqlx::query(
            "UPDATE oauth_request SET did = ?2, device_id = ?3, code = ?4, expires_at = ?5 \
             WHERE id = ?1 AND code IS NULL",
        )
        .bind(id)
        .bind(did)
        .bind(device_id)
        .bind(code)
        .bind(code_expires_at)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::UseCode(code) => {
            sqlx::query("UPDATE oauth_request SET code_used = 1 WHERE code = ?1 AND code_used = 0")
                .bind(code)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected()
        }
        Write::DeleteRequest(id) => sqlx::query("DELETE FROM oauth_request WHERE id = ?1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected(),
        Write::CreateSession(s) => {
            let uid: i64 = sqlx::query_scalar("SELECT uid FROM account WHERE did = ?1")
                .bind(&s.did)
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?
                .ok_or(StoreError::AccountNotFound)?;
            sqlx::query(
                "INSERT INTO oauth_session (id, uid, client_id, client_auth, dpop_jkt, scope, \
                 device_id, code, refresh_token, refresh_expires_at, created_at, updated_at, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .bind(s.id)
            .bind(uid)
            .bind(s.client_id)
            .bind(s.client_auth)
            .bind(s.dpop_jkt)
            .bind(s.scope)
            .bind(s.device_id)
            .bind(s.code)
            .bind(s.refresh_token)
            .bind(s.refresh_expires_at)
            .bind(s.created_at)
            .bind(s.updated_at)
            .bind(s.expires_at)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected()
        }
        Write::Rotate {
            session_id,
            old,
            new,
            refresh_expires_at,
            now,
        } => {
            let n = sqlx::query(
                "UPDATE oauth_session SET refresh_token = ?3, refresh_expires_at = ?4, \
                 updated_at = ?5 WHERE id = ?1 AND refresh_token = ?2",
            )
            .bind(&session_id)
            .bind(&old)
            .bind(new)
            .bind(refresh_expires_at)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected();
            if n == 1 {
                sqlx::query(
                    "INSERT INTO oauth_used_refresh (refresh_token, session_id) VALUES (?1, ?2)",
                )
                .bind(old)
                .bind(session_id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            }
            n
        }
        Write::DeleteSession(id) => sqlx::query("DELETE FROM oauth_session WHERE id = ?1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected(),
        Write::DeleteSessionsByCode(code) => {
            sqlx::query("DELETE FROM oauth_session WHERE code = ?1")
                .bind(code)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected()
        }
        Write::DeleteSessionsFor(did) => sqlx::query(
            "DELETE FROM oauth_session WHERE uid = (SELECT uid FROM account WHERE did = ?1)",
        )
        .bind(did)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::PutDevice(d) => sqlx::query(
            "INSERT INTO oauth_device (id, secret_hash, user_agent, ip, created_at, last_seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET \
             user_agent = excluded.user_agent, ip = excluded.ip, \
             last_seen_at = excluded.last_seen_at",
        )
        .bind(d.id)
        .bind(d.secret_hash)
        .bind(d.user_agent)
        .bind(d.ip)
        .bind(d.created_at)
        .bind(d.last_seen_at)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::AddDeviceAccount {
            device_id,
            did,
            now,
        } => sqlx::query(
            "INSERT INTO oauth_device_account (device_id, uid, authenticated_at) \
             SELECT ?1, uid, ?3 FROM account WHERE did = ?2 \
             ON CONFLICT(device_id, uid) DO UPDATE SET authenticated_at = excluded.authenticated_at",
        )
        .bind(device_id)
        .bind(did)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::RemoveDeviceAccount { device_id, did } => sqlx::query(
            "DELETE FROM oauth_device_account WHERE device_id = ?1 \
             AND uid = (SELECT uid FROM account WHERE did = ?2)",
        )
        .bind(device_id)
        .bind(did)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected(),
        Write::Prune {
            now,
            requests_before,
            devices_before,
        } => {
            let mut n = 0;
            for (sql, bound) in [
                ("DELETE FROM oauth_request WHERE expires_at < ?1", requests_before),
                (
                    "DELETE FROM oauth_session WHERE refresh_expires_at < ?1 \
                     OR (expires_at IS NOT NULL AND expires_at < ?1)",
                    now,
                ),
                ("DELETE FROM oauth_device WHERE last_seen_at < ?1", devices_before),
            ] {
                n += sqlx::query(sql)
                    .bind(bound)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            n
        }
    };
    Ok(Done::Count(n))
}
