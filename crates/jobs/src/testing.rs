//! A throw-away PostgreSQL cluster for tests: `initdb` and `pg_ctl` from the server binaries
//! on this machine (`PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`), in a
//! temporary directory, on a free loopback port; stopped and deleted on drop. As root (CI runs
//! so), the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running cluster; `url()` to connect.
#[derive(Debug)]
pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_user: Option<String>,
}

/// Why a cluster could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start a throw-away PostgreSQL: {0}")]
pub struct TempPostgresError(String);

fn bin_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl TempPostgres {
    /// Starts a cluster (a few seconds).
    pub fn start() -> Result<Self, TempPostgresError> {
        let bin = bin_dir().unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix("ocrlty-pg-")
            .tempdir()
            .map_err(|e| TempPostgresError(format!("temp dir: {e}")))?;
        let as_user = is_root().then(|| "postgres".to_string());
        if let Some(user) = &as_user {
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .map_err(|e| TempPostgresError(format!("chown: {e}")))?;
            if !status.success() {
                return Err(TempPostgresError(format!(
                    "chown {} to {user} failed (is PostgreSQL's server package installed? \
                     scripts/setup installs it)",
                    dir.path().display()
                )));
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| TempPostgresError(format!("no free port: {e}")))?;
        let pg = TempPostgres {
            dir,
            bin,
            port,
            as_user,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        pg.start_server()?;
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t.elapsed() > Duration::from_secs(30) {
                return Err(TempPostgresError("the server did not open its port".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(pg)
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.path().display())
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), TempPostgresError> {
        let exe = if self.bin.as_os_str().is_empty() {
            PathBuf::from(tool)
        } else {
            self.bin.join(tool)
        };
        let mut cmd = match &self.as_user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| TempPostgresError(format!("{}: {e}", exe.display())))?;
        if !out.status.success() {
            return Err(TempPostgresError(format!(
                "{} failed: {}{}",
                exe.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new empty database on this cluster; its URL.
    pub fn database(&self, name: &str) -> Result<String, TempPostgresError> {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        )?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    /// Stops the server at once (as a crash would), keeping its files.
    pub fn stop(&self) -> Result<(), TempPostgresError> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    /// Starts it again after [`TempPostgres::stop`], on the same port.
    pub fn restart(&self) -> Result<(), TempPostgresError> {
        self.start_server()
    }

    fn start_server(&self) -> Result<(), TempPostgresError> {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = format!("{}/postgres.log", self.dir.path().display());
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        )
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}
