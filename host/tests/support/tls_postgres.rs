//! A throwaway PostgreSQL cluster that accepts TLS connections only, with a server
//! certificate for 127.0.0.1 from a throwaway CA: made with the `openssl` CLI and the server
//! binaries `scripts/services` uses, run as the `postgres` OS user when the tests run as
//! root (PostgreSQL refuses root). Stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use testing::{postgres_bindir as bindir, running_as_root};

pub struct TlsPostgres {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    os_user: Option<&'static str>,
    port: u16,
}

impl TlsPostgres {
    pub fn start() -> TlsPostgres {
        // Installs PostgreSQL and makes the postgres OS user when they are missing.
        super::ensure_postgres();
        let dir = tempfile::Builder::new()
            .prefix("fusion-host-pg-tls-")
            .tempdir()
            .expect("create the cluster's directory");
        let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(&dir));
        let ec_key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let ca = [
            "req", "-x509", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        ];
        openssl(&[&ca[..], &ec_key, &["-subj", "/CN=fusion-host test CA"]].concat());
        let server = ["req", "-keyout", "server.key", "-out", "server.csr"];
        openssl(&[&server[..], &ec_key, &["-subj", "/CN=127.0.0.1"]].concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n",
        )
        .expect("write server.ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);

        let os_user = running_as_root().then_some("postgres");
        if let Some(user) = os_user {
            run(Command::new("chown").args(["-R", user]).arg(dir.path()));
        }
        // PostgreSQL refuses a key others may read.
        run(Command::new("chmod")
            .arg("600")
            .arg(dir.path().join("server.key")));
        let cluster = TlsPostgres {
            bindir: bindir(),
            os_user,
            port: super::free_port().port(),
            dir,
        };
        let data = cluster.at("data");
        run(&mut cluster.pg_command(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        ));
        // TLS only: a query that succeeds went over TLS.
        std::fs::write(
            cluster.dir.path().join("data/pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
        let settings = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c ssl=on \
             -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            cluster.port,
            cluster.at(""),
            cluster.at("server.crt"),
            cluster.at("server.key"),
        );
        let log = cluster.at("postgres.log");
        run(&mut cluster.pg_command(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "30", "-o", &settings, "start",
            ],
        ));
        cluster
    }

    /// The connection string of the `postgres` database with `sslmode`.
    pub fn url(&self, sslmode: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode={sslmode}",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA's certificate file (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn at(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A server binary's command line, as the cluster's OS user.
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

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // Best effort: a failed start leaves nothing to stop.
        let data = self.at("data");
        let _ = self
            .pg_command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
