//! A server under test run as a child process: it binds a free port itself and announces it
//! on a line ending in "on http://ADDR", so parallel tests never race for a port.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Reply, send};

/// How long a server may take to start listening (a cold compile of its components in an
/// unoptimized build on two busy cores takes a while) or to exit by itself.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

impl Server {
    /// Spawns `command` with its output captured and waits for its announced address.
    pub fn start(mut command: Command) -> Server {
        let mut child = piped(&mut command)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", command.get_program()));
        let output = capture_output(&mut child);
        let addr = wait_for_announced_address(&mut child, &output);
        Server {
            child,
            addr,
            output,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything the server printed so far, stdout and stderr interleaved.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        send(method, &self.url(path), body)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, Some(&body.to_string()))
    }

    /// GET that must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Value {
        self.get(path).expect_ok()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        wait_with_timeout(&mut self.child, EXIT_TIMEOUT).unwrap_or_else(|| {
            panic!(
                "the server did not exit within {EXIT_TIMEOUT:?} of SIGTERM; output:\n{}",
                self.output()
            )
        })
    }

    /// SIGKILL to the server's whole process group, as a crash or an OOM kill ends it: no
    /// graceful shutdown. A real `spin up` serves from a child process (`spin trigger
    /// http`) that would otherwise outlive it.
    pub fn kill(&self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a process that exited by itself ended.
pub struct Exited {
    pub status: ExitStatus,
    /// stdout and stderr, interleaved.
    pub output: String,
}

impl Exited {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `command` and expects it to exit by itself (bad input), within the startup timeout.
pub fn run_to_exit(mut command: Command) -> Exited {
    let mut child = piped(&mut command)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", command.get_program()));
    let output = capture_output(&mut child);
    let status = wait_with_timeout(&mut child, STARTUP_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{:?} kept running although it should have exited; output:\n{}",
            command.get_program(),
            output.lock().unwrap()
        )
    });
    // The reader threads finish once the pipes close; give them a moment.
    std::thread::sleep(Duration::from_millis(100));
    let output = output.lock().unwrap().clone();
    Exited { status, output }
}

/// The command with its output captured, in a process group of its own (see `Drop`).
fn piped(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
}

/// Waits for a line "... on http://ADDR" (fusion-host, the test stubs) or
/// "Serving http://ADDR" (Spin) and returns ADDR.
fn wait_for_announced_address(child: &mut Child, output: &Arc<Mutex<String>>) -> SocketAddr {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let announced = output.lock().unwrap().lines().find_map(|line| {
            let (_, rest) = line
                .split_once(" on http://")
                .or_else(|| line.split_once("Serving http://"))?;
            rest.split_whitespace().next()?.parse::<SocketAddr>().ok()
        });
        if let Some(addr) = announced {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "the server exited ({status}) before listening; output:\n{}",
                output.lock().unwrap()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the server did not listen within {STARTUP_TIMEOUT:?}; output:\n{}",
                output.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn capture_output(child: &mut Child) -> Arc<Mutex<String>> {
    let output = Arc::new(Mutex::new(String::new()));
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for mut stream in streams.into_iter().flatten() {
        let output = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    output
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait for the child process") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
