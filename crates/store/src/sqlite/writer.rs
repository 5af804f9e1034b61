//! The writer task: the only code that writes to the database.
//!
//! It takes every queued job, runs them in one `BEGIN IMMEDIATE … COMMIT`, each in its own
//! `SAVEPOINT` (when there is more than one), and answers them only after the commit
//! returned (see the module docs of [`super`]). Transaction control is plain SQL on the
//! writer's own connection, not sqlx's `Transaction`, so the writer can tell when SQLite
//! rolled the whole transaction back by itself (disk full, I/O error): `ROLLBACK TO` then
//! fails, and the batch is answered with errors instead of being half-applied.
//!
//! # Round trips
//! sqlx runs each SQLite connection on its own thread, and every statement is a round trip to
//! it (tens of microseconds, far more on a busy machine): the writer's throughput is bounded
//! by statements per job, not by SQLite. So the hot jobs (`apply_commit`, `sequence_event`)
//! send their statements as a few multi-statement scripts, with the transaction control in
//! front of and behind their own statements ([`Framing`]): a commit alone costs three round
//! trips (`BEGIN`+compare-and-swap, the writes, `COMMIT`), a commit in a batch two.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use data::{Cid, Value};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Encode, Sqlite, SqliteConnection, Type};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    AppPassword, BlobMeta, CommitWrite, Event, EventDraft, InviteCode, NewAccount, RefreshToken,
    Result, StoreError,
};

use super::{
    backend, cid_from_bytes, cid_list, cid_list_cte, cid_list_cte_anonymous, email_key, handle_key,
    now_ms, now_rfc3339, status_str, StatCounters, MAX_BATCH,
};

/// `blob.state`: uploaded, not referenced by any record yet.
pub(crate) const BLOB_TEMPORARY: i64 = 0;
/// `blob.state`: referenced by at least one record.
pub(crate) const BLOB_REFERENCED: i64 = 1;
/// `blob.state`: was referenced, no record references it any more.
pub(crate) const BLOB_UNREFERENCED: i64 = 2;

/// One write, as a store method hands it to the writer.
pub(crate) enum Op {
    CreateAccount(NewAccount),
    SetPasswordHash {
        did: String,
        hash: String,
    },
    SetSigningKeySealed {
        did: String,
        sealed: Vec<u8>,
    },
    UpdateHandle {
        did: String,
        handle: String,
    },
    UpdateEmail {
        did: String,
        email: Option<String>,
        confirmed_at: Option<String>,
    },
    SetAccountStatus {
        did: String,
        status: crate::AccountStatus,
    },
    SetInvitesDisabled {
        did: String,
        disabled: bool,
    },
    DeleteAccount {
        did: String,
    },
    CreateAppPassword {
        did: String,
        password: AppPassword,
    },
    DeleteAppPassword {
        did: String,
        name: String,
    },
    PutRefreshToken(RefreshToken),
    RotateRefreshToken {
        old_id: String,
        grace_expires_at: i64,
        next: RefreshToken,
    },
    DeleteRefreshToken {
        id: String,
    },
    DeleteRefreshTokensFor {
        did: String,
    },
    CreateInviteCodes(Vec<InviteCode>),
    DisableInviteCodes {
        codes: Vec<String>,
        accounts: Vec<String>,
    },
    ApplyCommit(Box<CommitWrite>),
    OAuth(super::oauth::Write),
    Email(super::email::Write),
    Admin(super::admin::Write),
    Migration(super::migration::LinkBlobs),
    PutTempBlob {
        did: String,
        meta: BlobMeta,
    },
    TakeExpiredTempBlobs {
        before: i64,
    },
    TakeUnreferencedBlobs {
        did: String,
    },
    PutPreferences {
        did: String,
        json: String,
    },
    SequenceEvent(EventDraft),
    PruneEvents {
        before_ms: i64,
    },
    /// The /v1 tables' statements (`wallet.rs`), run in order in one job.
    Wallet(Vec<super::wallet::Statement>),
    /// Answered after every job queued before it; the writer then stops.
    Shutdown,
}

impl Op {
    /// Jobs that put the transaction control into their own first and last scripts.
    fn frames_itself(&self) -> bool {
        matches!(self, Op::ApplyCommit(_) | Op::SequenceEvent(_))
    }
}

/// Transaction control a job sends in the same round trip as its own statements.
#[derive(Clone, Debug, Default)]
pub(crate) struct Framing {
    /// Before the job's first statement: `BEGIN IMMEDIATE` for the first job of a batch,
    /// `SAVEPOINT job` when the batch has several jobs.
    before: Vec<&'static str>,
    /// After its last statement: `RELEASE job` when the batch has several jobs.
    after: Option<&'static str>,
}

/// What a job returns.
#[derive(Debug)]
pub(crate) enum Done {
    Unit,
    Seq(Option<i64>),
    Cids(Vec<Cid>),
    DidCids(Vec<(String, Cid)>),
    Count(u64),
    Counts(Vec<u64>),
}

pub(crate) struct Job {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Done>>,
}

/// The firehose counters, kept in memory by the writer and restored when a job or a batch
/// is rolled back.
#[derive(Clone, Copy, Debug)]
struct Sequencer {
    /// The seq the next event gets.
    next_seq: i64,
    /// The last event's time; the next one's is never lower, so seq order is time order.
    last_time_ms: i64,
}

pub(crate) struct Writer {
    conn: SqliteConnection,
    events: broadcast::Sender<Event>,
    seq: Sequencer,
    stats: Arc<StatCounters>,
}

impl Writer {
    pub(crate) async fn start(
        mut conn: SqliteConnection,
        events: broadcast::Sender<Event>,
        stats: Arc<StatCounters>,
    ) -> Result<Writer> {
        let seq = load_sequencer(&mut conn).await?;
        Ok(Writer {
            conn,
            events,
            seq,
            stats,
        })
    }

    /// Runs until every sender is gone or a shutdown job arrives.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut shutdown = None;
        while shutdown.is_none() && queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            if let Some(at) = batch.iter().position(|j| matches!(j.op, Op::Shutdown)) {
                let rest = batch.split_off(at);
                let mut rest = rest.into_iter();
                shutdown = rest.next().map(|j| j.reply);
                for job in rest {
                    let _ = job.reply.send(Err(closed()));
                }
            }
            if !batch.is_empty() {
                self.run_batch(std::mem::take(&mut batch)).await;
            }
        }
        queue.close();
        while let Ok(job) = queue.try_recv() {
            let _ = job.reply.send(Err(closed()));
        }
        let _ = sqlx::Connection::close(self.conn).await;
        if let Some(reply) = shutdown {
            let _ = reply.send(Ok(Done::Unit));
        }
    }

    async fn run_batch(&mut self, jobs: Vec<Job>) {
        let saved = self.seq;
        // One job alone needs no savepoint: if it fails, the whole transaction goes.
        let framed = jobs.len() > 1;
        let mut began = false;
        let mut answers = Vec::with_capacity(jobs.len());
        let mut events: Vec<Event> = Vec::new();
        // Set when the transaction is lost: everything in it is answered with an error.
        let mut lost: Option<String> = None;
        // Set when the only job failed: roll back, and answer with its own error.
        let mut failed_alone = false;

        for job in jobs {
            if lost.is_some() {
                answers.push((job.reply, None));
                continue;
            }
            let mut framing = Framing::default();
            if !began {
                framing.before.push("BEGIN IMMEDIATE");
                began = true;
            }
            if framed {
                framing.before.push("SAVEPOINT job");
                framing.after = Some("RELEASE job");
            }
            let before = self.seq;
            let mark = events.len();
            let result = if job.op.frames_itself() {
                run_framed(&mut self.conn, &mut self.seq, job.op, &mut events, &framing).await
            } else {
                run_unframed(&mut self.conn, &mut self.seq, job.op, &mut events, &framing).await
            };
            match result {
                Ok(done) => answers.push((job.reply, Some(Ok(done)))),
                Err(job_err) => {
                    self.seq = before;
                    events.truncate(mark);
                    if framed {
                        // Fails only if SQLite already rolled back the whole transaction (or
                        // never started it).
                        let undone = match exec(&mut self.conn, "ROLLBACK TO job").await {
                            Ok(()) => exec(&mut self.conn, "RELEASE job").await,
                            Err(err) => Err(err),
                        };
                        if let Err(err) = undone {
                            lost = Some(format!("{job_err}; then {err}"));
                        }
                    } else {
                        failed_alone = true;
                    }
                    answers.push((job.reply, Some(Err(job_err))));
                }
            }
        }

        let outcome = match lost {
            Some(reason) => Err(reason),
            None if failed_alone => Err(String::new()),
            None => exec(&mut self.conn, "COMMIT")
                .await
                .map_err(|e| e.to_string()),
        };
        match outcome {
            Ok(()) => {
                self.stats.transactions.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .jobs
                    .fetch_add(answers.len() as u64, Ordering::Relaxed);
                // Durable now: publish in seq order, then answer.
                for event in events {
                    let _ = self.events.send(event);
                }
                for (reply, answer) in answers {
                    let answer = answer.unwrap_or_else(|| Err(closed()));
                    let _ = reply.send(answer);
                }
            }
            Err(reason) => {
                // Nothing of this batch is in the database. (ROLLBACK fails harmlessly when
                // SQLite already rolled back.)
                let _ = exec(&mut self.conn, "ROLLBACK").await;
                self.seq = saved;
                for (reply, answer) in answers {
                    let err = match answer {
                        // A job's own refusal stays its answer: it would have failed anyway.
                        Some(Err(e)) if failed_alone || !matches!(e, StoreError::Backend(_)) => e,
                        _ => StoreError::Backend(format!("the transaction failed: {reason}")),
                    };
                    let _ = reply.send(Err(err));
                }
            }
        }
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

/// Runs a job that does not frame itself, with the framing as separate statements.
async fn run_unframed(
    conn: &mut SqliteConnection,
    seq: &mut Sequencer,
    op: Op,
    events: &mut Vec<Event>,
    framing: &Framing,
) -> Result<Done> {
    if !framing.before.is_empty() {
        exec(conn, &framing.before.join("; ")).await?;
    }
    let done = run_op(conn, seq, op, events).await?;
    if let Some(after) = framing.after {
        exec(conn, after).await?;
    }
    Ok(done)
}

async fn run_framed(
    conn: &mut SqliteConnection,
    seq: &mut Sequencer,
    op: Op,
    events: &mut Vec<Event>,
    framing: &Framing,
) -> Result<Done> {
    match op {
        Op::ApplyCommit(write) => apply_commit(conn, seq, *write, events, framing)
            .await
            .map(Done::Seq),
        Op::SequenceEvent(draft) => {
            let mut script = Script::new(framing);
            let seq = sequence(&mut script, seq, draft, events)?;
            script.finish(conn, framing).await?;
            Ok(Done::Seq(Some(seq)))
        }
        other => run_unframed(conn, seq, other, events, framing).await,
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<()> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn load_sequencer(conn: &mut SqliteConnection) -> Result<Sequencer> {
    let (last_seq, last_time_ms): (i64, i64) = sqlx::query_as(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0), \
                    coalesce((SELECT max(seq) FROM event), 0)), \
                coalesce((SELECT max(time_ms) FROM event), 0)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(Sequencer {
        next_seq: last_seq + 1,
        last_time_ms,
    })
}

async fn run_op(
    conn: &mut SqliteConnection,
    seq: &mut Sequencer,
    op: Op,
    events: &mut Vec<Event>,
) -> Result<Done> {
    match op {
        Op::CreateAccount(account) => create_account(conn, account).await.map(|()| Done::Unit),
        Op::OAuth(write) => super::oauth::apply(conn, write).await,
        Op::Email(write) => super::email::apply(conn, write).await,
        Op::Admin(write) => super::admin::apply(conn, write).await,
        Op::Migration(link) => super::migration::apply(conn, link).await,
        Op::Wallet(statements) => super::wallet::run(conn, statements).await.map(Done::Counts),
        Op::SetPasswordHash { did, hash } => {
            let n = sqlx::query("UPDATE account SET password_hash = ?2 WHERE did = ?1")
                .bind(&did)
                .bind(hash)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected();
            found(n).map(|()| Done::Unit)
        }
        Op::SetSigningKeySealed { did, sealed } => {
            let n = sqlx::query("UPDATE account SET signing_key_sealed = ?2 WHERE did = ?1")
                .bind(&did)
                .bind(sealed)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected();
            found(n).map(|()| Done::Unit)
        }
        Op::UpdateHandle { did, handle } => {
            let uid = uid(conn, &did).await?;
            let key = handle_key(&handle);
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT uid FROM account WHERE handle_key = ?1 AND uid != ?2")
                    .bind(&key)
                    .bind(uid)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
            if taken.is_some() {
                return Err(StoreError::HandleTaken);
            }
            sqlx::query("UPDATE account SET handle = ?2, handle_key = ?3 WHERE uid = ?1")
                .bind(uid)
                .bind(&handle)
                .bind(&key)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::UpdateEmail {
            did,
            email,
            confirmed_at,
        } => {
            let uid = uid(conn, &did).await?;
            let key = email.as_deref().map(email_key);
            if let Some(key) = &key {
                let taken: Option<i64> = sqlx::query_scalar(
                    "SELECT uid FROM account WHERE email_key = ?1 AND uid != ?2",
                )
                .bind(key)
                .bind(uid)
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?;
                if taken.is_some() {
                    return Err(StoreError::EmailTaken);
                }
            }
            sqlx::query("UPDATE account SET email = ?2, email_key = ?3, email_confirmed_at = ?4 WHERE uid = ?1")
                .bind(uid)
                .bind(email)
                .bind(key)
                .bind(confirmed_at)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::SetAccountStatus { did, status } => {
            // deactivated_at: set when the account becomes deactivated, kept while it stays
            // so, cleared when it is active again.
            let n = sqlx::query(
                "UPDATE account SET \
                   deactivated_at = CASE \
                     WHEN ?2 = 'active' THEN NULL \
                     WHEN ?2 = 'deactivated' AND status != 'deactivated' THEN ?3 \
                     ELSE deactivated_at END, \
                   status = ?2 \
                 WHERE did = ?1",
            )
            .bind(&did)
            .bind(status_str(status))
            .bind(now_rfc3339())
            .execute(&mut *conn)
            .await
            .map_err(backend)?
            .rows_affected();
            found(n).map(|()| Done::Unit)
        }
        Op::SetInvitesDisabled { did, disabled } => {
            let n = sqlx::query("UPDATE account SET invites_disabled = ?2 WHERE did = ?1")
                .bind(&did)
                .bind(disabled)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected();
            found(n).map(|()| Done::Unit)
        }
        Op::DeleteAccount { did } => delete_account(conn, &did).await.map(Done::Cids),
        Op::CreateAppPassword { did, password } => {
            let uid = uid(conn, &did).await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM app_password WHERE uid = ?1 AND name = ?2")
                    .bind(uid)
                    .bind(&password.name)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
            if exists.is_some() {
                return Err(StoreError::Backend(format!(
                    "an app password named {:?} already exists",
                    password.name
                )));
            }
            sqlx::query(
                "INSERT INTO app_password (uid, name, password_hash, privileged, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(uid)
            .bind(password.name)
            .bind(password.password_hash)
            .bind(password.privileged)
            .bind(password.created_at)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::DeleteAppPassword { did, name } => {
            let uid = uid(conn, &did).await?;
            sqlx::query("DELETE FROM app_password WHERE uid = ?1 AND name = ?2")
                .bind(uid)
                .bind(&name)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            sqlx::query("DELETE FROM refresh_token WHERE uid = ?1 AND app_password_name = ?2")
                .bind(uid)
                .bind(&name)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::PutRefreshToken(token) => insert_refresh_token(conn, token).await.map(|()| Done::Unit),
        Op::RotateRefreshToken {
            old_id,
            grace_expires_at,
            next,
        } => {
            sqlx::query("UPDATE refresh_token SET next_id = ?2, expires_at = min(expires_at, ?3) WHERE id = ?1")
                .bind(&old_id)
                .bind(&next.id)
                .bind(grace_expires_at)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            insert_refresh_token(conn, next).await.map(|()| Done::Unit)
        }
        Op::DeleteRefreshToken { id } => {
            sqlx::query("DELETE FROM refresh_token WHERE id = ?1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::DeleteRefreshTokensFor { did } => {
            sqlx::query(
                "DELETE FROM refresh_token WHERE uid = (SELECT uid FROM account WHERE did = ?1)",
            )
            .bind(did)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::CreateInviteCodes(codes) => {
            for code in codes {
                sqlx::query(
                    "INSERT INTO invite_code (code, available, disabled, for_account, created_by, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .bind(&code.code)
                .bind(code.available)
                .bind(code.disabled)
                .bind(&code.for_account)
                .bind(&code.created_by)
                .bind(&code.created_at)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                for (used_by, used_at) in &code.uses {
                    sqlx::query(
                        "INSERT INTO invite_code_use (code, used_by, used_at) VALUES (?1, ?2, ?3)",
                    )
                    .bind(&code.code)
                    .bind(used_by)
                    .bind(used_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                }
            }
            Ok(Done::Unit)
        }
        Op::DisableInviteCodes { codes, accounts } => {
            sqlx::query(
                "UPDATE invite_code SET disabled = 1 \
                 WHERE code IN (SELECT value FROM json_each(?1)) \
                    OR for_account IN (SELECT value FROM json_each(?2))",
            )
            .bind(serde_json::to_string(&codes).map_err(backend)?)
            .bind(serde_json::to_string(&accounts).map_err(backend)?)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::ApplyCommit(write) => apply_commit(conn, seq, *write, events, &Framing::default())
            .await
            .map(Done::Seq),
        Op::PutTempBlob { did, meta } => {
            let uid = uid(conn, &did).await?;
            let created_unix = syntax::parse_datetime(&meta.created_at)
                .map(|d| d.unix_seconds())
                .unwrap_or_else(|_| now_ms() / 1000);
            // Uploading a blob again changes nothing if it is referenced; otherwise it is
            // temporary again, with a fresh expiry (an unreferenced blob comes back this way
            // instead of being deleted under the new upload).
            sqlx::query(
                "INSERT INTO blob (uid, cid, mime_type, size, created_at, created_unix, state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (uid, cid) DO UPDATE SET \
                   created_at = excluded.created_at, created_unix = excluded.created_unix, state = ?7 \
                 WHERE blob.state != ?8",
            )
            .bind(uid)
            .bind(meta.cid.to_bytes().to_vec())
            .bind(meta.mime_type)
            .bind(meta.size)
            .bind(meta.created_at)
            .bind(created_unix)
            .bind(BLOB_TEMPORARY)
            .bind(BLOB_REFERENCED)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::TakeExpiredTempBlobs { before } => {
            let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "DELETE FROM blob WHERE state = ?1 AND created_unix < ?2 \
                 RETURNING (SELECT did FROM account WHERE account.uid = blob.uid), cid",
            )
            .bind(BLOB_TEMPORARY)
            .bind(before)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?;
            rows.into_iter()
                .map(|(did, cid)| Ok((did, cid_from_bytes(&cid)?)))
                .collect::<Result<Vec<_>>>()
                .map(Done::DidCids)
        }
        Op::TakeUnreferencedBlobs { did } => {
            let uid = uid(conn, &did).await?;
            let rows: Vec<Vec<u8>> =
                sqlx::query_scalar("DELETE FROM blob WHERE uid = ?1 AND state = ?2 RETURNING cid")
                    .bind(uid)
                    .bind(BLOB_UNREFERENCED)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(backend)?;
            let mut cids = rows
                .iter()
                .map(|c| cid_from_bytes(c))
                .collect::<Result<Vec<_>>>()?;
            cids.sort_unstable();
            Ok(Done::Cids(cids))
        }
        Op::PutPreferences { did, json } => {
            let uid = uid(conn, &did).await?;
            sqlx::query("INSERT INTO preference (uid, json) VALUES (?1, ?2) ON CONFLICT (uid) DO UPDATE SET json = excluded.json")
                .bind(uid)
                .bind(json)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            Ok(Done::Unit)
        }
        Op::SequenceEvent(draft) => {
            let mut script = Script::new(&Framing::default());
            let seq = sequence(&mut script, seq, draft, events)?;
            script.finish(conn, &Framing::default()).await?;
            Ok(Done::Seq(Some(seq)))
        }
        Op::PruneEvents { before_ms } => {
            let n = sqlx::query("DELETE FROM event WHERE time_ms < ?1")
                .bind(before_ms)
                .execute(&mut *conn)
                .await
                .map_err(backend)?
                .rows_affected();
            Ok(Done::Count(n))
        }
        Op::Shutdown => Ok(Done::Unit),
    }
}

fn found(rows: u64) -> Result<()> {
    if rows == 0 {
        Err(StoreError::AccountNotFound)
    } else {
        Ok(())
    }
}

async fn uid(conn: &mut SqliteConnection, did: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT uid FROM account WHERE did = ?1")
        .bind(did)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .ok_or(StoreError::AccountNotFound)
}

async fn exists(conn: &mut SqliteConnection, sql: &str, value: &str) -> Result<bool> {
    let row: Option<i64> = sqlx::query_scalar(sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(row.is_some())
}

async fn create_account(conn: &mut SqliteConnection, a: NewAccount) -> Result<()> {
    if exists(conn, "SELECT 1 FROM account WHERE did = ?1", &a.did).await? {
        return Err(StoreError::DidTaken);
    }
    let handle_key = handle_key(&a.handle);
    if exists(
        conn,
        "SELECT 1 FROM account WHERE handle_key = ?1",
        &handle_key,
    )
    .await?
    {
        return Err(StoreError::HandleTaken);
    }
    let email_key = a.email.as_deref().map(email_key);
    if let Some(key) = &email_key {
        if exists(conn, "SELECT 1 FROM account WHERE email_key = ?1", key).await? {
            return Err(StoreError::EmailTaken);
        }
    }
    let now = now_rfc3339();
    if let Some(code) = &a.invite_code {
        let usable: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM invite_code WHERE code = ?1 AND disabled = 0 \
               AND available > (SELECT count(*) FROM invite_code_use WHERE code = ?1)",
        )
        .bind(code)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
        if usable.is_none() {
            return Err(StoreError::InvalidInviteCode);
        }
        sqlx::query("INSERT INTO invite_code_use (code, used_by, used_at) VALUES (?1, ?2, ?3)")
            .bind(code)
            .bind(&a.did)
            .bind(&now)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    let (status, deactivated_at) = if a.deactivated {
        ("deactivated", Some(now.clone()))
    } else {
        ("active", None)
    };
    sqlx::query(
        "INSERT INTO account (did, handle, handle_key, email, email_key, password_hash, \
           signing_key_sealed, created_at, status, deactivated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .bind(&a.did)
    .bind(&a.handle)
    .bind(handle_key)
    .bind(&a.email)
    .bind(email_key)
    .bind(&a.password_hash)
    .bind(&a.signing_key_sealed)
    .bind(&now)
    .bind(status)
    .bind(deactivated_at)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn delete_account(conn: &mut SqliteConnection, did: &str) -> Result<Vec<Cid>> {
    let uid = uid(conn, did).await?;
    let blobs: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT cid FROM blob WHERE uid = ?1 ORDER BY cid")
            .bind(uid)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?;
    let blobs = blobs
        .iter()
        .map(|c| cid_from_bytes(c))
        .collect::<Result<Vec<_>>>()?;
    // The /v1 rows are keyed by DID (devices and onboardings exist before the account row),
    // so nothing cascades to them; the firehose forgets the account's events (the caller
    // sequences its final #account afterwards), as the reference's deleteAllForUser.
    for sql in [
        "DELETE FROM v1_nonce WHERE device_id IN (SELECT id FROM v1_device WHERE did = ?1)",
        "DELETE FROM v1_device WHERE did = ?1",
        "DELETE FROM v1_escrow_share WHERE did = ?1",
        "DELETE FROM v1_key_event WHERE did = ?1",
        "DELETE FROM v1_relay_key WHERE did = ?1",
        "DELETE FROM event WHERE did = ?1",
    ] {
        sqlx::query(sql)
            .bind(did)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    // Children before parents, so that no foreign-key check has anything left to look at;
    // the rest (sessions, app passwords, preferences) cascades from the account row.
    for sql in [
        "DELETE FROM record_blob WHERE uid = ?1",
        "DELETE FROM record WHERE uid = ?1",
        "DELETE FROM blob WHERE uid = ?1",
        "DELETE FROM block WHERE uid = ?1",
        "DELETE FROM account WHERE uid = ?1",
    ] {
        sqlx::query(sql)
            .bind(uid)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(blobs)
}

async fn insert_refresh_token(conn: &mut SqliteConnection, t: RefreshToken) -> Result<()> {
    let uid = uid(conn, &t.did).await?;
    sqlx::query(
        "INSERT INTO refresh_token (id, uid, app_password_name, expires_at, next_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(t.id)
    .bind(uid)
    .bind(t.app_password_name)
    .bind(t.expires_at)
    .bind(t.next_id)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Statements sent to SQLite in one round trip.
///
/// Parameters are anonymous `?`, bound in the order they appear in the text: sqlx's SQLite
/// driver hands a script's arguments to its statements one after the other. (Numbered
/// parameters are not safe across statements: a statement that skips numbers makes sqlx
/// stop binding early and leaves parameters NULL.) `rows_affected` is not meaningful for a
/// script (SQLite counts changes per statement); scripts that need an answer use
/// `RETURNING`.
struct Script<'q> {
    sql: String,
    args: SqliteArguments<'q>,
    params: usize,
    /// Statements in `sql`.
    statements: usize,
}

/// Arguments one script carries at most before the rest goes in another round trip, to keep
/// a single message to the connection's thread bounded.
const SCRIPT_MAX_PARAMS: usize = 30_000;

/// Scripts with more parameters than this are prepared for one use, not cached.
const SCRIPT_CACHE_MAX_PARAMS: usize = 64;

impl<'q> Script<'q> {
    fn new(framing: &Framing) -> Script<'q> {
        let mut script = Script {
            sql: String::new(),
            args: SqliteArguments::default(),
            params: 0,
            statements: 0,
        };
        for stmt in &framing.before {
            script.push(stmt);
        }
        script
    }

    /// Binds the next parameter; returns its placeholder, to be written where it belongs in
    /// the text (in binding order).
    fn arg<T: 'q + Encode<'q, Sqlite> + Type<Sqlite>>(&mut self, value: T) -> Result<&'static str> {
        self.args.add(value).map_err(backend)?;
        self.params += 1;
        Ok("?")
    }

    fn push(&mut self, statement: &str) {
        if self.statements > 0 {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(statement);
        self.statements += 1;
    }

    fn is_full(&self) -> bool {
        self.params >= SCRIPT_MAX_PARAMS
    }

    async fn fetch_all(self, conn: &mut SqliteConnection) -> Result<Vec<SqliteRow>> {
        if self.statements == 0 {
            return Ok(Vec::new());
        }
        // A script's text depends on the commit's shape (how many blocks, records, blobs),
        // so most texts are seen once: only small ones go in the connection's statement
        // cache. A cached big one (a 200-write commit prepares to megabytes of bytecode)
        // would stay allocated until evicted, 256 scripts later.
        let persistent = self.params <= SCRIPT_CACHE_MAX_PARAMS;
        sqlx::query_with(&self.sql, self.args)
            .persistent(persistent)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)
    }

    /// Appends the framing's closing statement and runs the script.
    async fn finish(mut self, conn: &mut SqliteConnection, framing: &Framing) -> Result<()> {
        if let Some(after) = framing.after {
            self.push(after);
        }
        self.fetch_all(conn).await.map(drop)
    }
}

async fn apply_commit(
    conn: &mut SqliteConnection,
    seq: &mut Sequencer,
    w: CommitWrite,
    events: &mut Vec<Event>,
    framing: &Framing,
) -> Result<Option<i64>> {
    // Round trip 1: (BEGIN, SAVEPOINT and) the compare-and-swap of the head. A conflicting
    // commit does nothing else.
    let mut cas = Script::new(framing);
    let stmt = format!(
        "UPDATE account SET head_cid = {}, head_rev = {} WHERE did = {} AND head_cid IS {} RETURNING uid",
        cas.arg(w.new_head.cid.to_bytes().to_vec())?,
        cas.arg(w.new_head.rev.as_str())?,
        cas.arg(w.did.as_str())?,
        cas.arg(w.prev_head.map(|c| c.to_bytes().to_vec()))?,
    );
    cas.push(&stmt);
    let rows = cas.fetch_all(conn).await?;
    let uid: i64 = match rows.first() {
        Some(row) => sqlx::Row::try_get(row, 0).map_err(backend)?,
        None => {
            return Err(
                if exists(conn, "SELECT 1 FROM account WHERE did = ?1", &w.did).await? {
                    StoreError::HeadConflict
                } else {
                    StoreError::AccountNotFound
                },
            )
        }
    };
    let rev = w.new_head.rev.as_str();

    // Only for commits that reference blobs: every blob must have been uploaded to this
    // account (the foreign key would refuse it too, but without saying which).
    let referenced: BTreeSet<Cid> = w
        .record_ops
        .iter()
        .flat_map(|op| op.blobs.iter().copied())
        .collect();
    if !referenced.is_empty() {
        let sql = format!(
            "{} SELECT cid FROM blob WHERE uid = ?2 AND cid IN (SELECT cid FROM ids)",
            cid_list_cte(1)
        );
        let present: Vec<Vec<u8>> = sqlx::query_scalar(&sql)
            .bind(cid_list(referenced.iter().copied()))
            .bind(uid)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?;
        let present: HashSet<Cid> = present
            .iter()
            .map(|c| cid_from_bytes(c))
            .collect::<Result<_>>()?;
        if let Some(missing) = referenced.iter().find(|c| !present.contains(c)) {
            return Err(StoreError::BlobNotFound(*missing));
        }
    }

    // Round trip 2 (more only for huge commits): everything else.
    let mut script = Script::new(&Framing::default());
    macro_rules! next_script_if_full {
        () => {
            if script.is_full() {
                script.fetch_all(conn).await?;
                script = Script::new(&Framing::default());
            }
        };
    }

    // New blocks. One already stored (a record written again, possibly at another path)
    // takes the new rev, so that getRepo?since carries everything this commit introduced.
    for chunk in w.new_blocks.chunks(BLOCK_CHUNK) {
        next_script_if_full!();
        let mut stmt = String::from("INSERT INTO block (uid, cid, rev, bytes) VALUES ");
        for (i, (cid, bytes)) in chunk.iter().enumerate() {
            if i > 0 {
                stmt.push_str(", ");
            }
            stmt.push_str(&format!(
                "({}, {}, {}, {})",
                script.arg(uid)?,
                script.arg(cid.to_bytes().to_vec())?,
                script.arg(rev)?,
                script.arg(bytes.as_slice())?,
            ));
        }
        stmt.push_str(" ON CONFLICT (uid, cid) DO UPDATE SET rev = excluded.rev");
        script.push(&stmt);
    }

    // The record index and blob references (blob states follow by trigger).
    for op in &w.record_ops {
        next_script_if_full!();
        let (collection, rkey) = (op.collection.as_str(), op.rkey.as_str());
        let mut blobs = op.blobs.clone();
        blobs.sort_unstable();
        blobs.dedup();
        match op.cid {
            Some(cid) => {
                let stmt = format!(
                    "INSERT INTO record (uid, collection, rkey, cid, rev) VALUES ({}, {}, {}, {}, {}) \
                     ON CONFLICT (uid, collection, rkey) DO UPDATE SET cid = excluded.cid, rev = excluded.rev",
                    script.arg(uid)?,
                    script.arg(collection)?,
                    script.arg(rkey)?,
                    script.arg(cid.to_bytes().to_vec())?,
                    script.arg(rev)?,
                );
                script.push(&stmt);
                // Replace the previous version's references: drop those it no longer has, add
                // the new ones (a blob kept by the new version never looks unreferenced).
                let mut stmt = format!(
                    "DELETE FROM record_blob WHERE uid = {} AND collection = {} AND rkey = {}",
                    script.arg(uid)?,
                    script.arg(collection)?,
                    script.arg(rkey)?,
                );
                if !blobs.is_empty() {
                    let mut list = Vec::with_capacity(blobs.len());
                    for blob in &blobs {
                        list.push(script.arg(blob.to_bytes().to_vec())?);
                    }
                    stmt.push_str(&format!(" AND blob_cid NOT IN ({})", list.join(", ")));
                }
                script.push(&stmt);
                if !blobs.is_empty() {
                    let mut rows = Vec::with_capacity(blobs.len());
                    for blob in &blobs {
                        rows.push(format!(
                            "({}, {}, {}, {})",
                            script.arg(uid)?,
                            script.arg(collection)?,
                            script.arg(rkey)?,
                            script.arg(blob.to_bytes().to_vec())?,
                        ));
                    }
                    script.push(&format!(
                        "INSERT OR IGNORE INTO record_blob (uid, collection, rkey, blob_cid) VALUES {}",
                        rows.join(", ")
                    ));
                }
            }
            None => {
                for table in ["record_blob", "record"] {
                    let stmt = format!(
                        "DELETE FROM {table} WHERE uid = {} AND collection = {} AND rkey = {}",
                        script.arg(uid)?,
                        script.arg(collection)?,
                        script.arg(rkey)?,
                    );
                    script.push(&stmt);
                }
            }
        }
    }

    // Drop removed blocks, except those this commit wrote again and record blocks still
    // indexed at some path (after this commit's index changes, which run first).
    let written: HashSet<Cid> = w.new_blocks.iter().map(|(c, _)| *c).collect();
    let removed: Vec<Cid> = w
        .removed_blocks
        .iter()
        .filter(|c| !written.contains(c))
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !removed.is_empty() {
        next_script_if_full!();
        // The list is the CTE's own `?`, the statement's first.
        script.arg(cid_list(removed))?;
        let stmt = format!(
            "{} DELETE FROM block WHERE uid = {} AND cid IN (SELECT cid FROM ids) \
               AND NOT EXISTS (SELECT 1 FROM record r WHERE r.uid = block.uid AND r.cid = block.cid)",
            cid_list_cte_anonymous(),
            script.arg(uid)?,
        );
        script.push(&stmt);
    }

    let seq = match w.event {
        Some(draft) => Some(sequence(&mut script, seq, draft, events)?),
        None => None,
    };
    script.finish(conn, framing).await?;
    Ok(seq)
}

/// Most blocks one INSERT carries.
const BLOCK_CHUNK: usize = 64;

/// Assigns the next seq, adds the event's INSERT to `script`, and queues the event for
/// broadcast after commit. The writer restores the counters if the job fails.
fn sequence(
    script: &mut Script<'_>,
    seq: &mut Sequencer,
    draft: EventDraft,
    events: &mut Vec<Event>,
) -> Result<i64> {
    let this = seq.next_seq;
    let time_ms = now_ms().max(seq.last_time_ms);
    let frame = Arc::new(encode_frame(draft.kind, this, draft.body));
    let stmt = format!(
        "INSERT INTO event (seq, did, kind, time_ms, frame) VALUES ({}, {}, {}, {}, {})",
        script.arg(this)?,
        script.arg(draft.did.clone())?,
        script.arg(draft.kind)?,
        script.arg(time_ms)?,
        script.arg(frame.as_ref().clone())?,
    );
    script.push(&stmt);
    seq.next_seq = this + 1;
    seq.last_time_ms = time_ms;
    events.push(Event {
        seq: this,
        did: draft.did,
        time_ms,
        frame,
    });
    Ok(this)
}

/// An event-stream frame: the header `{op: 1, t: kind}` then the body with `seq`, each
/// DAG-CBOR, back to back.
pub(crate) fn encode_frame(kind: &str, seq: i64, mut body: data::Map) -> Vec<u8> {
    let mut header = data::Map::new();
    header.insert("op".into(), Value::Int(1));
    header.insert("t".into(), Value::String(kind.into()));
    body.insert("seq".into(), Value::Int(seq));
    let mut frame = data::cbor::encode(&Value::Map(header));
    data::cbor::encode_into(&Value::Map(body), &mut frame);
    frame
}
