//! A throwaway PostgreSQL cluster of one test's own, on a free port: a test may stop and
//! start it (a database restarted under load) without touching the shared server on 5432
//! that every other test uses. Set up as `scripts/services postgres` does (Debian's
//! server binaries, run as the `postgres` OS user when root), with the `fusion` role.

use std::path::PathBuf;
use std::process::Command;

use crate::{free_port, unique_name};

/// The running cluster; stopped (immediately) and deleted when dropped.
pub struct PostgresCluster {
    dir: PathBuf,
    bindir: PathBuf,
    /// PostgreSQL refuses to run as root: then the `postgres` OS user runs it.
    os_user: Option<&'static str>,
    port: u16,
}

impl PostgresCluster {
    /// Initialises and starts a cluster on a free loopback port, with a `fusion` role
    /// (password `fusion`) that may create databases. Durability is off (`fsync=off`):
    /// the cluster lives as long as the test.
    pub fn start() -> PostgresCluster {
        let dir = std::env::temp_dir().join(unique_name("fusion-pg-cluster"));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let os_user = running_as_root().then_some("postgres");
        if let Some(user) = os_user {
            run(Command::new("chown").arg(user).arg(&dir));
        }
        let cluster = PostgresCluster {
            dir,
            bindir: bindir(),
            os_user,
            port: free_port().port(),
        };
        let data = cluster.at("data");
        run(&mut cluster.pg_command(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        ));
        cluster.start_server();
        run(&mut cluster.pg_command(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                "CREATE ROLE fusion LOGIN PASSWORD 'fusion' CREATEDB",
                "-c",
                "CREATE DATABASE fusion OWNER fusion",
            ],
        ));
        cluster
    }

    /// host:port of the server.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server the way an operator's restart does (`pg_ctl stop -m fast`: open
    /// sessions are terminated, the checkpoint written) and waits for it to be gone.
    pub fn stop(&self) {
        run(&mut self.pg_command(
            "pg_ctl",
            &["-D", &self.at("data"), "-m", "fast", "-w", "stop"],
        ));
    }

    /// Starts the stopped server again on the same port and data, and waits until it
    /// accepts connections.
    pub fn start_server(&self) {
        // As scripts/services: Spin pools up to 64 connections per context.
        let settings = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c max_connections=1000 -c fsync=off",
            self.port,
            self.at("")
        );
        run(&mut self.pg_command(
            "pg_ctl",
            &[
                "-D",
                &self.at("data"),
                "-l",
                &self.at("postgres.log"),
                "-w",
                "-t",
                "60",
                "-o",
                &settings,
                "start",
            ],
        ));
    }

    fn at(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn pg_command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bindir.join(program);
        let mut command = match self.os_user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.args(args);
        command
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = self
            .pg_command(
                "pg_ctl",
                &["-D", &self.at("data"), "-m", "immediate", "-w", "stop"],
            )
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the tests run as root (PostgreSQL's tools then run as the postgres user).
pub fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Where the server binaries are: `pg_config --bindir`, else Debian's newest
/// `/usr/lib/postgresql/<major>/bin` (kept off PATH).
pub fn bindir() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|dir| dir.join("initdb").is_file()) {
        return dir;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| dir.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("PostgreSQL's server binaries (initdb); `scripts/services postgres` installs them")
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", command.get_program()));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
