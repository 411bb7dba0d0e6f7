//! Backup and restore of a SQLite database. A backup is `VACUUM INTO`: SQLite's online copy,
//! made inside one read transaction, so it is the database as of one commit, taken while the
//! server goes on writing (the master key file is not in it: it is not in the database). A
//! restore checks the copy, then puts it in place of the database only when nothing has that
//! database open: every open store holds a shared lock on `<database>.lock`, and a restore
//! needs it exclusively. PostgreSQL is backed up with its own tools (docs/OPERATIONS.md).

use crate::errors::db_error;
use oneclaw_core::{Error, Result};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub bytes: u64,
    /// The newest migration in the copy: the oldest oneclaw that can open it.
    pub schema_version: i64,
}

/// A shared lock on a database's lock file, held while a store has it open.
#[derive(Debug)]
pub struct InUse(#[allow(dead_code, reason = "held for its lock")] File);

impl InUse {
    /// Takes the shared lock of the database at `file`; none for an in-memory database.
    pub(crate) fn take(url: &str, file: &Path) -> Result<Option<Self>> {
        if url.contains(":memory:") || url.contains("mode=memory") || file.as_os_str().is_empty() {
            return Ok(None);
        }
        let lock = open_lock_file(file)?;
        match lock.try_lock_shared() {
            Ok(()) => Ok(Some(Self(lock))),
            Err(_) => Err(Error::Unavailable(format!(
                "{} is being restored from a backup: try again once the restore is done",
                file.display()
            ))),
        }
    }
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock_file(database: &Path) -> Result<File> {
    let path = lock_path(database);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| Error::Unavailable(format!("cannot open {}: {err}", path.display())))
}

/// The database file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).map_err(|err| Error::invalid(format!("database URL: {err}")))?;
    Ok(options.get_filename().to_path_buf())
}

/// Copies the database at `url` to the new file `to`, online, and checks the copy.
pub async fn backup(url: &str, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(Error::Conflict(format!("{} exists: a backup never overwrites a file", to.display())));
    }
    let target = to.to_str().ok_or_else(|| Error::invalid(format!("{} is not a UTF-8 path", to.display())))?.to_owned();
    let mut connection = connect(url, false).await?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(&mut connection).await.map_err(db_error)?;
    connection.close().await.map_err(db_error)?;
    restrict_to_owner(to)?;
    let schema_version = checked_copy(to).await?;
    let bytes = std::fs::metadata(to).map(|meta| meta.len()).unwrap_or(0);
    Ok(BackupReport { bytes, schema_version })
}

/// Puts the backup `from` in place of the database at `url`: refused when that database
/// exists (unless `replace`) or is open anywhere (a running server, an operator command).
pub async fn restore(url: &str, from: &Path, replace: bool) -> Result<BackupReport> {
    let schema_version = checked_copy(from).await?;
    let database = sqlite_file(url)?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|err| Error::Unavailable(format!("cannot create {}: {err}", dir.display())))?;
    }
    let lock = open_lock_file(&database)?;
    if lock.try_lock().is_err() {
        return Err(Error::Conflict(format!(
            "{} is open in a running oneclaw (a server or an operator command): stop it first",
            database.display()
        )));
    }
    if database.exists() && !replace {
        return Err(Error::Conflict(format!(
            "{} exists: pass --force to replace it with the backup (stop the server first)",
            database.display()
        )));
    }
    // Copy beside it, flush, then rename over it: the database is the old one or the new one,
    // never half of either. The old write-ahead log belongs to the old database: it goes too.
    let staged = database.with_extension("restoring");
    std::fs::copy(from, &staged).map_err(|err| Error::Unavailable(format!("cannot copy the backup: {err}")))?;
    File::open(&staged)
        .and_then(|file| file.sync_all())
        .map_err(|err| Error::Unavailable(format!("cannot flush {}: {err}", staged.display())))?;
    restrict_to_owner(&staged)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::Unavailable(format!("cannot remove the old {suffix} file: {err}"))),
        }
    }
    std::fs::rename(&staged, &database)
        .map_err(|err| Error::Unavailable(format!("cannot put the backup in place: {err}")))?;
    drop(lock);
    let bytes = std::fs::metadata(&database).map(|meta| meta.len()).unwrap_or(0);
    Ok(BackupReport { bytes, schema_version })
}

/// A backup file is a whole oneclaw database: it passes SQLite's integrity check and carries
/// its migrations. Its newest migration's version.
async fn checked_copy(file: &Path) -> Result<i64> {
    if !file.is_file() {
        return Err(Error::invalid(format!("{} is not a file", file.display())));
    }
    let url = format!("sqlite://{}", file.display());
    let mut connection = connect(&url, true).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .map_err(|_| Error::invalid(format!("{} is not a SQLite database", file.display())))?;
    if integrity != "ok" {
        return Err(Error::invalid(format!("{} fails SQLite's integrity check: {integrity}", file.display())));
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut connection)
        .await
        .ok()
        .flatten();
    connection.close().await.map_err(db_error)?;
    version.ok_or_else(|| Error::invalid(format!("{} is not a oneclaw database", file.display())))
}

async fn connect(url: &str, read_only: bool) -> Result<SqliteConnection> {
    SqliteConnectOptions::from_str(url)
        .map_err(|err| Error::invalid(format!("database URL: {err}")))?
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|err| Error::Unavailable(format!("cannot open the database: {err}")))
}

/// Only its owner reads a copy of the database: it holds every sealed secret and the audit log.
fn restrict_to_owner(file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
        .map_err(|err| Error::Unavailable(format!("cannot restrict {}: {err}", file.display())))
}
