//! A private PostgreSQL cluster run from the machine's own binaries: dev tooling for `ledger` with no
//! database configured and for the test suite (it knows no ledger schema; `ledger-store` migrates).
//!
//! Any caller attaches to the cluster when it is running and starts it when it is not; only the caller
//! that started it may stop it. `initdb` and `postgres` refuse to run as root, so as root they run as
//! the `postgres` system user (created as `ledger-pg` when missing), and the data directory moves to
//! `/var/tmp` when that user cannot reach the requested one (e.g. under a 0700 `/root`). The socket
//! lives in a short `/tmp` directory because unix socket paths are limited to ~107 bytes; TCP is off.
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Database and role created in every private cluster.
pub const DB_NAME: &str = "ledger";
pub const DB_USER: &str = "ledger";
const PORT: u16 = 5432;
const FALLBACK_USER: &str = "ledger-pg";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: apt-get install postgresql) or point \
         LEDGER_DATABASE__URL or DATABASE_URL at an existing server."
    )]
    NoBinaries,
    #[error("the embedded database is refused when LEDGER_ENV=production: set LEDGER_DATABASE__URL or DATABASE_URL")]
    Production,
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("{cmd} failed ({status}): {stderr}")]
    Command { cmd: String, status: String, stderr: String },
    #[error("no unprivileged user to run PostgreSQL as: {0}")]
    User(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub data_dir: PathBuf,
    /// Trade durability for speed (tests): fsync and synchronous_commit off.
    pub fast_unsafe: bool,
    /// Refuse to run (a production deployment must name its database).
    pub production: bool,
}

impl ClusterOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let production = std::env::var("LEDGER_ENV").is_ok_and(|v| v.eq_ignore_ascii_case("production"));
        Self { data_dir: data_dir.into(), fast_unsafe: false, production }
    }
}

/// A running private cluster. Dropping it does nothing; call [`Cluster::stop`] to stop a cluster this
/// process started.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

impl Cluster {
    /// Attaches to the cluster in `opts.data_dir`, initialising and starting it when needed.
    pub fn ensure(opts: &ClusterOptions) -> Result<Self, ClusterError> {
        if opts.production {
            return Err(ClusterError::Production);
        }
        let bin = find_binaries(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"))
            .ok_or(ClusterError::NoBinaries)?;
        let run_as = unprivileged_user()?;
        let requested = absolute(&opts.data_dir)?;
        let data_dir = match run_as {
            Some((uid, gid)) if !reachable(&requested, uid, gid) => {
                let fallback = PathBuf::from("/var/tmp/ledger-pg").join(short_hash(&requested)).join("data");
                tracing::warn!(requested = %requested.display(), using = %fallback.display(),
                    "the PostgreSQL user cannot reach the data directory; using a directory it can reach");
                fallback
            }
            _ => requested,
        };
        let parent = data_dir.parent().unwrap_or(Path::new("/")).to_path_buf();
        fs::create_dir_all(&parent).map_err(io_err(format!("creating {}", parent.display())))?;
        let socket_dir = PathBuf::from(format!("/tmp/ledger-pg-{}", short_hash(&data_dir)));

        // One process at a time decides whether to start the cluster.
        let lock_path = parent.join(".ledger-pg.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(format!("opening {}", lock_path.display())))?;
        lock.lock().map_err(io_err("locking the cluster"))?;
        let result = Self::ensure_locked(bin, data_dir, socket_dir, run_as, opts.fast_unsafe);
        drop(lock);
        result
    }

    fn ensure_locked(
        bin: PathBuf,
        data_dir: PathBuf,
        socket_dir: PathBuf,
        run_as: Option<(u32, u32)>,
        fast: bool,
    ) -> Result<Self, ClusterError> {
        let mut cluster = Self { bin, data_dir, socket_dir, run_as, started_here: false };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        if cluster.is_running() {
            return Ok(cluster);
        }
        cluster.remove_stale_pid_file()?;
        make_private_dir(&cluster.socket_dir, run_as)?;
        let mut opts = format!("-c listen_addresses='' -k {} -p {PORT}", cluster.socket_dir.display());
        if fast {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        opts.push_str(" -c max_connections=200");
        let log = cluster.data_dir.join("ledger-server.log");
        cluster.run(
            "pg_ctl",
            &["start", "-w", "-t", "60", "-D", path_str(&cluster.data_dir), "-l", path_str(&log), "-o", &opts],
        )?;
        cluster.started_here = true;
        tracing::info!(data_dir = %cluster.data_dir.display(), "started the private PostgreSQL cluster");
        Ok(cluster)
    }

    /// URL of the cluster's administrative `postgres` database.
    pub fn admin_url(&self) -> String {
        self.url("postgres")
    }

    /// URL of database `db` on this cluster, over the unix socket.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{DB_USER}@localhost:{PORT}/{db}?host={}", self.socket_dir.display())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster if this process started it (a fast shutdown: sessions are disconnected).
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.started_here {
            return Ok(());
        }
        self.run("pg_ctl", &["stop", "-w", "-m", "fast", "-D", path_str(&self.data_dir)]).map(|_| ())
    }

    /// Stops the cluster whoever started it (operators and test clean-up).
    pub fn force_stop(&self) -> Result<(), ClusterError> {
        self.run("pg_ctl", &["stop", "-w", "-m", "fast", "-D", path_str(&self.data_dir)]).map(|_| ())
    }

    fn initdb(&self) -> Result<(), ClusterError> {
        make_private_dir(&self.data_dir, self.run_as)?;
        self.run(
            "initdb",
            &[
                "-D",
                path_str(&self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "--locale=C.UTF-8",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        )?;
        Ok(())
    }

    fn is_running(&self) -> bool {
        let Ok(pid) = read_pid(&self.data_dir) else { return false };
        process_is_postgres(pid) && self.socket_dir.join(format!(".s.PGSQL.{PORT}")).exists()
    }

    /// A `postmaster.pid` left by a crash (its process gone, or the pid reused by something else).
    fn remove_stale_pid_file(&self) -> Result<(), ClusterError> {
        let path = self.data_dir.join("postmaster.pid");
        match read_pid(&self.data_dir) {
            Ok(pid) if process_is_postgres(pid) => {
                // Running but its socket is gone: stop it cleanly before starting again.
                let _ = self.run("pg_ctl", &["stop", "-w", "-m", "fast", "-D", path_str(&self.data_dir)]);
                Ok(())
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "removing a stale postmaster.pid");
                fs::remove_file(&path).map_err(io_err(format!("removing {}", path.display())))
            }
            Err(_) => Ok(()),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, ClusterError> {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.args(args).current_dir("/tmp").env("LC_ALL", "C.UTF-8").stdin(std::process::Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd.output().map_err(io_err(format!("running {tool}")))?;
        if !out.status.success() {
            return Err(ClusterError::Command {
                cmd: tool.to_owned(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().chars().take(2000).collect(),
            });
        }
        Ok(out)
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn absolute(p: &Path) -> Result<PathBuf, ClusterError> {
    std::path::absolute(p).map_err(io_err(format!("resolving {}", p.display())))
}

fn short_hash(p: &Path) -> String {
    hex::encode(&Sha256::digest(p.as_os_str().as_encoded_bytes())[..6])
}

/// The first directory holding `initdb`, `pg_ctl` and `postgres`: `path` (PATH) first, then the newest
/// `<lib_root>/<version>/bin`.
pub fn find_binaries(path: Option<std::ffi::OsString>, lib_root: &Path) -> Option<PathBuf> {
    let has_all = |d: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| d.join(b).is_file());
    if let Some(path) = path
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_all(d))
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(lib_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_all(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

/// `None` when not root (PostgreSQL runs as us); otherwise the uid/gid of `postgres`, or of a system
/// user created for the purpose.
fn unprivileged_user() -> Result<Option<(u32, u32)>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let lookup = |name: &str| nix::unistd::User::from_name(name).ok().flatten();
    if let Some(u) = lookup("postgres").or_else(|| lookup(FALLBACK_USER)) {
        return Ok(Some((u.uid.as_raw(), u.gid.as_raw())));
    }
    let status = Command::new("useradd")
        .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER])
        .status()
        .map_err(|e| ClusterError::User(format!("useradd: {e}")))?;
    if !status.success() {
        return Err(ClusterError::User(format!("useradd {FALLBACK_USER} exited with {status}")));
    }
    lookup(FALLBACK_USER)
        .map(|u| Some((u.uid.as_raw(), u.gid.as_raw())))
        .ok_or_else(|| ClusterError::User(format!("{FALLBACK_USER} not found after useradd")))
}

/// Whether `uid`/`gid` can traverse every existing ancestor of `dir`.
fn reachable(dir: &Path, uid: u32, gid: u32) -> bool {
    dir.ancestors().skip(1).filter_map(|a| fs::metadata(a).ok()).all(|m| {
        let mode = m.permissions().mode();
        if m.uid() == uid {
            mode & 0o100 != 0
        } else if m.gid() == gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    })
}

fn make_private_dir(dir: &Path, owner: Option<(u32, u32)>) -> Result<(), ClusterError> {
    fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(dir, Some(uid.into()), Some(gid.into()))
            .map_err(|e| ClusterError::Io { what: format!("chown {}", dir.display()), source: e.into() })?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(format!("chmod {}", dir.display())))
}

fn read_pid(data_dir: &Path) -> io::Result<i32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid"))?;
    text.lines().next().and_then(|l| l.trim().parse().ok()).ok_or_else(|| io::Error::other("bad pid file"))
}

fn process_is_postgres(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim().starts_with("postgres"))
}
