//! The authority as a process of its own: what the kill test kills and restarts, and what the
//! benchmark measures the CPU time of (a client in the same process would count too).
//!
//! The process is this program's `serve` subcommand, which is `authority serve`: the same
//! arguments ([`authority::config::ServeArgs`]) and the same [`authority::server::serve`].
//! Running this program rather than the `authority` binary means a test of this crate always
//! has it built (`CARGO_BIN_EXE_authority-tools`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::ToolsError;

/// How long a starting authority may take to say where it listens (migrations included).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// What `serve` prints on stdout once it listens, before its URL.
const LISTENING: &str = "authority listening on ";

/// How to start an authority process.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    /// The program whose `serve` subcommand is `authority serve` (this one, or `authority`).
    pub program: PathBuf,
    /// The data directory (CA key and certificate, identity key).
    pub data_dir: PathBuf,
    /// The database.
    pub database_url: String,
    /// Where the process's log (stderr) goes; appended to, across restarts.
    pub log_file: PathBuf,
    /// `RUST_LOG` for the process.
    pub log_filter: String,
}

impl ServerCommand {
    /// `program serve` on `data_dir` and `database_url`, logging to `log_file` at `warn`.
    pub fn new(program: &Path, data_dir: &Path, database_url: &str, log_file: &Path) -> Self {
        Self {
            program: program.to_owned(),
            data_dir: data_dir.to_owned(),
            database_url: database_url.to_owned(),
            log_file: log_file.to_owned(),
            log_filter: "warn".to_owned(),
        }
    }

    /// This program (for the tools' own commands).
    pub fn this_program() -> Result<PathBuf, ToolsError> {
        std::env::current_exe()
            .map_err(|error| ToolsError::Worker(format!("finding this program: {error}")))
    }

    /// Starts the process on a free loopback port and waits until it listens.
    pub async fn start(&self) -> Result<ServerProcess, ToolsError> {
        let failed = |what: &str, error: std::io::Error| {
            ToolsError::Worker(format!(
                "{what} ({} serve): {error}",
                self.program.display()
            ))
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|error| failed("opening the log", error))?;
        let mut child = Command::new(&self.program)
            .arg("serve")
            .arg("--address")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database-url")
            .arg(&self.database_url)
            .env("RUST_LOG", &self.log_filter)
            .env_remove("AUTHORITY_STATIC_DIR")
            .env_remove("AUTHORITY_ALLOW_ORIGINS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| failed("starting", error))?;
        let pid = child
            .id()
            .ok_or_else(|| ToolsError::Worker("the authority ended at once".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ToolsError::Worker("the authority's stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix(LISTENING) {
                    return Ok(Some(url.trim().to_owned()));
                }
            }
            Ok::<_, std::io::Error>(None)
        })
        .await
        .map_err(|_| {
            ToolsError::Worker(format!(
                "the authority did not listen within {} s; see {}",
                START_TIMEOUT.as_secs(),
                self.log_file.display()
            ))
        })?
        .map_err(|error| failed("reading its output", error))?
        .ok_or_else(|| {
            ToolsError::Worker(format!(
                "the authority stopped before listening; see {}",
                self.log_file.display()
            ))
        })?;
        // Whatever else it prints is not needed, but the pipe must not fill.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess { child, pid, url })
    }
}

/// A running authority process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pid: u32,
    url: String,
}

impl ServerProcess {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The CPU time (user + system, all threads) it has used so far.
    pub fn cpu_time(&self) -> Result<Duration, ToolsError> {
        process_cpu_time(self.pid)
    }

    /// Kills it with SIGKILL (no chance to finish anything) and waits until it is gone.
    pub async fn kill(mut self) -> Result<(), ToolsError> {
        self.child
            .kill()
            .await
            .map_err(|error| ToolsError::Worker(format!("killing the authority: {error}")))
    }
}

/// The unit of `/proc/PID/stat`'s times: Linux fixed it at 100 per second for user space on the
/// architectures this runs on (`sysconf(_SC_CLK_TCK)`, which this crate's `forbid(unsafe)`
/// keeps out of reach, answers the same).
const USER_HZ: u64 = 100;

/// The CPU time (user + system, all threads, ended ones included) of process `pid`, from
/// `/proc/PID/stat`.
pub fn process_cpu_time(pid: u32) -> Result<Duration, ToolsError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|error| ToolsError::Worker(format!("reading /proc/{pid}/stat: {error}")))?;
    cpu_time_from_stat(&stat, USER_HZ)
        .ok_or_else(|| ToolsError::Worker(format!("/proc/{pid}/stat: unexpected format")))
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in ticks of `ticks_per_second`.
fn cpu_time_from_stat(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks = user.checked_add(system)?;
    Some(Duration::from_nanos(
        ticks.checked_mul(1_000_000_000)? / ticks_per_second.max(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_after_a_name_with_spaces() {
        let stat =
            "4242 (authority (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(
            cpu_time_from_stat(stat, 100),
            Some(Duration::from_millis(3000))
        );
    }

    #[test]
    fn a_short_stat_line_is_no_time() {
        assert_eq!(cpu_time_from_stat("1 (a) S 1 2", 100), None);
        assert_eq!(cpu_time_from_stat("no name", 100), None);
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let spent = process_cpu_time(std::process::id()).map_err(|error| error.to_string());
        assert!(spent.is_ok(), "{spent:?}");
    }
}
