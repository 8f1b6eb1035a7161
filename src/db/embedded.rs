//! The embedded PostgreSQL: with no DATABASE_URL, triage runs a private cluster from
//! the installed server binaries, kept under `<data>/postgres`, reused on the next
//! start and stopped on shutdown. It listens on a Unix socket only, in a private
//! directory, so nothing else on the machine can reach it over the network.

use std::fs::{self, File};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The socket's port number: only part of the socket file name, no TCP is opened.
const PORT: u16 = 5439;
/// The cluster's superuser, which owns the database and runs the migrations.
const SUPERUSER: &str = "triage";
/// The role the app connects as: it logs in and owns nothing (a member of `triage_app`).
pub const APP_ROLE: &str = "triage_web";
/// Unix socket paths are limited to about 107 bytes.
const MAX_SOCKET_PATH: usize = 100;

/// Why the embedded PostgreSQL could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no DATABASE_URL is set and no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found \
         on PATH or under /usr/lib/postgresql/*/bin. Either install the PostgreSQL server \
         (e.g. `apt-get install postgresql`), or set DATABASE_URL to an existing PostgreSQL server, \
         or run `docker compose up`."
    )]
    NoBinaries,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {detail}\n{log}")]
    Command {
        command: String,
        detail: String,
        log: String,
    },
    #[error("the embedded PostgreSQL did not accept connections: {source}\n{log}")]
    Connect {
        #[source]
        source: sqlx::Error,
        log: String,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// A running (or reused) private PostgreSQL cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    cluster: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

/// The directory that holds initdb, pg_ctl and postgres: PATH first, then the newest
/// version under /usr/lib/postgresql.
pub fn find_binaries(path_dirs: &[PathBuf], versioned_root: &Path) -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = path_dirs.iter().find(|d| complete(d)) {
        // PATH entries are often links into the versioned directory; pg_ctl wants the real one.
        let real = fs::canonicalize(dir.join("postgres"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        return Some(real.filter(|d| complete(d)).unwrap_or_else(|| dir.clone()));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(versioned_root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

impl EmbeddedPostgres {
    /// Starts the cluster under `data_root/postgres`, creating it on first use, or
    /// reuses it when another process already runs it.
    pub async fn start(data_root: &Path) -> Result<Self, EmbeddedError> {
        let data_root = data_root.to_path_buf();
        tokio::task::spawn_blocking(move || Self::start_blocking(&data_root))
            .await
            .map_err(|e| EmbeddedError::Io {
                context: "starting PostgreSQL".into(),
                source: std::io::Error::other(e),
            })?
    }

    fn start_blocking(data_root: &Path) -> Result<Self, EmbeddedError> {
        let bin = find_binaries(&path_dirs(), Path::new("/usr/lib/postgresql"))
            .ok_or(EmbeddedError::NoBinaries)?;
        let root = data_root.join("postgres");
        fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
        // PostgreSQL refuses to run as root: hand the cluster to an unprivileged user.
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .or_else(|| User::from_name("nobody").ok().flatten())
                .ok_or_else(|| EmbeddedError::Command {
                    command: "looking up an unprivileged user".into(),
                    detail: "neither `postgres` nor `nobody` exists".into(),
                    log: String::new(),
                })?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        } else {
            None
        };
        let lock_path = root.join("start.lock");
        let lock_file =
            File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
        // Several processes (parallel test binaries) may start at once: one at a time here.
        let _lock = Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, e)| {
            EmbeddedError::Io {
                context: format!("locking {}", lock_path.display()),
                source: e.into(),
            }
        })?;

        let cluster = root.join("cluster");
        let log_dir = root.join("log");
        let socket_dir = socket_dir(&root);
        for dir in [&log_dir, &socket_dir] {
            fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700))
            .map_err(io(format!("securing {}", socket_dir.display())))?;
        if let Some((uid, gid)) = run_as {
            for dir in [&root, &log_dir, &socket_dir] {
                chown(dir, Some(uid), Some(gid))
                    .map_err(io(format!("handing {} to the server user", dir.display())))?;
            }
            // The server user must be able to reach the data directory through its parents.
            for parent in root.ancestors().skip(1) {
                if let Ok(meta) = fs::metadata(parent) {
                    let mode = meta.permissions().mode();
                    if mode & 0o001 == 0 && parent != Path::new("/") {
                        let _ =
                            fs::set_permissions(parent, fs::Permissions::from_mode(mode | 0o001));
                    }
                }
            }
        }
        let pg = EmbeddedPostgres {
            bin,
            log_file: log_dir.join("postgres.log"),
            cluster,
            socket_dir,
            run_as,
            started_here: false,
        };
        if !pg.cluster.join("PG_VERSION").exists() {
            tracing::info!(cluster = %pg.cluster.display(), "creating the embedded PostgreSQL cluster");
            let initdb_args = [
                "-D",
                path_str(&pg.cluster),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ];
            pg.run("initdb", &initdb_args)?;
        }
        let status = pg
            .command("pg_ctl")
            .args(["status", "-D", path_str(&pg.cluster)])
            .output();
        let running = matches!(status, Ok(ref o) if o.status.success());
        if running {
            tracing::info!("reusing the embedded PostgreSQL that is already running");
            return Ok(pg);
        }
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c max_connections=200 -c fsync=on",
            path_str(&pg.socket_dir)
        );
        pg.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                path_str(&pg.cluster),
                "-l",
                path_str(&pg.log_file),
                "-o",
                &options,
            ],
        )?;
        tracing::info!(cluster = %pg.cluster.display(), "started the embedded PostgreSQL");
        Ok(EmbeddedPostgres {
            started_here: true,
            ..pg
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        // A working directory the server user can read, whatever ours is.
        cmd.current_dir("/");
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, EmbeddedError> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .map_err(io(format!("running {}", self.bin.join(program).display())))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(EmbeddedError::Command {
                command: format!("{program} {}", args.join(" ")),
                detail: format!(
                    "{}; {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                log: self.log_tail(),
            })
        }
    }

    /// The last lines of the server log, for error messages.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("last lines of {}:\n{tail}", self.log_file.display())
        }
    }

    /// Options to connect to a database of the cluster over its socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// Options to connect to a database of the cluster as the app's role.
    pub fn app_connect_options(&self, database: &str) -> PgConnectOptions {
        self.connect_options(database).username(APP_ROLE)
    }

    /// Creates the app's login role once the migrations have created `triage_app`.
    pub async fn ensure_app_role(&self, database: &str) -> Result<(), EmbeddedError> {
        let mut conn = self.connect(database).await?;
        let statements = [
            format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') \
                 THEN BEGIN CREATE ROLE {APP_ROLE} LOGIN; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; \
                 END IF; END $$"
            ),
            format!("GRANT triage_app TO {APP_ROLE}"),
        ];
        for sql in &statements {
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .map_err(|source| EmbeddedError::Connect {
                    source,
                    log: String::new(),
                })?;
        }
        let _ = conn.close().await;
        Ok(())
    }

    /// Creates a database if it does not exist yet.
    pub async fn ensure_database(&self, name: &str) -> Result<(), EmbeddedError> {
        let mut conn = self.connect("postgres").await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .map_err(|source| EmbeddedError::Connect {
                    source,
                    log: String::new(),
                })?;
        if !exists {
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            let created = sqlx::query(&format!("CREATE DATABASE {quoted}"))
                .execute(&mut conn)
                .await;
            // Another process may have created it in the meantime.
            if let Err(e) = created
                && !e.to_string().contains("already exists")
            {
                return Err(EmbeddedError::Connect {
                    source: e,
                    log: String::new(),
                });
            }
        }
        let _ = conn.close().await;
        Ok(())
    }

    async fn connect(&self, database: &str) -> Result<PgConnection, EmbeddedError> {
        let mut last = None;
        for _ in 0..50 {
            match PgConnection::connect_with(&self.connect_options(database)).await {
                Ok(conn) => return Ok(conn),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(EmbeddedError::Connect {
            source: last.unwrap_or(sqlx::Error::PoolClosed),
            log: self.log_tail(),
        })
    }

    /// Whether this process started the cluster (and so stops it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster if this process started it; a reused cluster keeps running.
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        if !self.started_here {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || {
            self.run(
                "pg_ctl",
                &["stop", "-w", "-m", "fast", "-D", path_str(&self.cluster)],
            )
            .map(|_| tracing::info!("stopped the embedded PostgreSQL"))
        })
        .await
        .map_err(|e| EmbeddedError::Io {
            context: "stopping PostgreSQL".into(),
            source: std::io::Error::other(e),
        })?
    }
}

/// The socket directory: inside the data directory when the path is short enough.
fn socket_dir(root: &Path) -> PathBuf {
    let preferred = root.join("run");
    if preferred.join(format!(".s.PGSQL.{PORT}")).as_os_str().len() <= MAX_SOCKET_PATH {
        return preferred;
    }
    // A stable short path derived from the data directory, so a restart finds it again.
    let digest: u64 = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        });
    std::env::temp_dir().join(format!("triage-pg-{digest:016x}"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_binaries_names_the_three_ways_forward() {
        let empty = std::env::temp_dir().join("triage-no-binaries-here");
        assert_eq!(find_binaries(&[], &empty), None);
        let message = EmbeddedError::NoBinaries.to_string();
        for way in [
            "install the PostgreSQL server",
            "DATABASE_URL",
            "docker compose up",
        ] {
            assert!(message.contains(way), "{message}");
        }
    }

    #[test]
    fn long_data_paths_get_a_short_socket_directory() {
        let long = PathBuf::from("/").join("x".repeat(120)).join("postgres");
        let dir = socket_dir(&long);
        assert!(dir.join(".s.PGSQL.5439").as_os_str().len() <= MAX_SOCKET_PATH + 20);
        assert_eq!(dir, socket_dir(&long), "stable across restarts");
        assert_eq!(
            socket_dir(Path::new("/srv/triage/data/postgres")),
            PathBuf::from("/srv/triage/data/postgres/run")
        );
    }
}
