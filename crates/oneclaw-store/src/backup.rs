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
use std::os::unix::fs::OpenOptionsExt;
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
    /// Takes the shared lock of the database file at `file`.
    pub(crate) fn take(file: &Path) -> Result<Self> {
        let lock = open_lock_file(file)?;
        match lock.try_lock_shared() {
            Ok(()) => Ok(Self(lock)),
            Err(_) => Err(Error::Unavailable(format!(
                "{} is being restored from a backup: try again once the restore is done",
                file.display()
            ))),
        }
    }
}

/// The database file as SQLite opens it: symbolic links resolved (its write-ahead log is named
/// after the real file, so its lock is too, however the path was spelled).
fn real_path(database: &Path) -> Result<PathBuf> {
    // Links are followed by hand, so a link to a file not made yet resolves too.
    let mut path = database.to_path_buf();
    for _ in 0..16 {
        let Ok(target) = std::fs::read_link(&path) else { break };
        path = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    match (path.parent().filter(|dir| !dir.as_os_str().is_empty()), path.file_name()) {
        (Some(dir), Some(name)) if dir.exists() => dir
            .canonicalize()
            .map(|dir| dir.join(name))
            .map_err(|err| Error::Unavailable(format!("cannot resolve {}: {err}", dir.display()))),
        _ => Ok(path),
    }
}

/// Whether a `sqlite:` URL names a file (not an in-memory database).
pub(crate) fn file_backed(url: &str, file: &Path) -> bool {
    !(url.contains(":memory:") || url.contains("mode=memory") || file.as_os_str().is_empty())
}

/// A file kept beside the database: `<database><suffix>` (`-wal`, `-shm`, `.lock`).
fn beside(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn open_lock_file(database: &Path) -> Result<File> {
    let path = beside(&real_path(database)?, ".lock");
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|err| Error::Unavailable(format!("cannot open {}: {err}", path.display())))
}

/// Keeps the database files to their owner, whatever the folder's mode or the umask: a new
/// database is created 0600 (SQLite gives its WAL and shared-memory files the same mode), and
/// group or other permissions on existing ones are taken away.
pub(crate) fn owner_only_files(file: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = &real_path(file)?;
    if !file.exists() {
        // Another process may create it first: then it is tightened below.
        let _ = new_owner_only_file(file);
    }
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let path = beside(file, suffix);
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|err| Error::Unavailable(format!("cannot restrict {}: {err}", path.display())))?;
        }
    }
    Ok(())
}

/// The database file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).map_err(|err| Error::invalid(format!("database URL: {err}")))?;
    Ok(options.get_filename().to_path_buf())
}

/// Copies the database at `url` to the new file `to`, online, and checks the copy.
pub async fn backup(url: &str, to: &Path) -> Result<BackupReport> {
    let target = to.to_str().ok_or_else(|| Error::invalid(format!("{} is not a UTF-8 path", to.display())))?.to_owned();
    // Created here, empty, owner-only and new (an existing file or a symbolic link, dangling or
    // not, is refused), so no one else can open it while it fills; SQLite writes into an empty
    // file and gives its journal the same mode.
    new_owner_only_file(to)?;
    let mut connection = connect(url, false).await?;
    let copied = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut connection).await.map_err(db_error);
    let closed = connection.close().await.map_err(db_error);
    if let Err(err) = copied.and(closed) {
        let _ = std::fs::remove_file(to);
        return Err(err);
    }
    let schema_version = checked_copy(to).await?;
    let bytes = std::fs::metadata(to).map(|meta| meta.len()).unwrap_or(0);
    Ok(BackupReport { bytes, schema_version })
}

/// Puts the backup `from` in place of the database at `url`: refused when that database is
/// open anywhere (a running server, an operator command), when it exists (unless `replace`),
/// and when the backup is not exactly a oneclaw database (its schema, once migrated, must be
/// the one oneclaw makes: an added trigger could undo revocations).
pub async fn restore(url: &str, from: &Path, replace: bool) -> Result<BackupReport> {
    let database = real_path(&sqlite_file(url)?)?;
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
    // Staged beside it: copied, checked, migrated, compared, flushed, then renamed over it, so
    // the database is the old one or the new one, never half of either.
    let staged = database.with_extension("restoring");
    let _ = std::fs::remove_file(&staged);
    let staged_result = stage(from, &staged).await;
    let schema_version = match staged_result {
        Ok(version) => version,
        Err(err) => {
            let _ = std::fs::remove_file(&staged);
            return Err(err);
        }
    };
    // The old write-ahead log belongs to the old database: it goes too.
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(beside(&database, suffix)) {
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

/// Copies `from` to `staged` (owner-only), checks it, migrates it forward and holds its schema
/// to the one a fresh database gets; its schema version before migrating.
async fn stage(from: &Path, staged: &Path) -> Result<i64> {
    let mut source =
        File::open(from).map_err(|err| Error::invalid(format!("cannot read {}: {err}", from.display())))?;
    let mut copy = new_owner_only_file(staged)?;
    std::io::copy(&mut source, &mut copy)
        .and_then(|_| copy.sync_all())
        .map_err(|err| Error::Unavailable(format!("cannot copy the backup: {err}")))?;
    let version = checked_copy(staged).await?;
    let url = format!("sqlite://{}", staged.display());
    let mut connection = connect(&url, false).await?;
    crate::migrate::sqlite().run(&mut connection).await.map_err(crate::migrate::migrate_error)?;
    let restored = schema_of(&mut connection).await?;
    connection.close().await.map_err(db_error)?;
    let mut fresh = SqliteConnectOptions::from_str("sqlite::memory:")
        .map_err(|err| Error::Internal(format!("in-memory database: {err}")))?
        .disable_statement_logging()
        .connect()
        .await
        .map_err(db_error)?;
    crate::migrate::sqlite().run(&mut fresh).await.map_err(crate::migrate::migrate_error)?;
    let expected = schema_of(&mut fresh).await?;
    if let Some(odd) = restored.iter().find(|entry| !expected.contains(entry)) {
        return Err(Error::invalid(format!(
            "{} is not a oneclaw database as oneclaw makes it: its {} {:?} is not oneclaw's",
            from.display(),
            odd.0,
            odd.1
        )));
    }
    if let Some(missing) = expected.iter().find(|entry| !restored.contains(entry)) {
        return Err(Error::invalid(format!(
            "{} is not a whole oneclaw database: its {} {:?} is missing or changed",
            from.display(),
            missing.0,
            missing.1
        )));
    }
    File::open(staged)
        .and_then(|file| file.sync_all())
        .map_err(|err| Error::Unavailable(format!("cannot flush {}: {err}", staged.display())))?;
    Ok(version)
}

/// Every table, index, trigger and view, with its SQL (SQLite's own internal ones left out).
async fn schema_of(connection: &mut SqliteConnection) -> Result<Vec<(String, String, Option<String>)>> {
    sqlx::query_as("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .fetch_all(connection)
        .await
        .map_err(db_error)
}

/// A new file only its owner may read, never through a symbolic link.
fn new_owner_only_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| Error::Conflict(format!("cannot create {} as a new file: {err}", path.display())))
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
