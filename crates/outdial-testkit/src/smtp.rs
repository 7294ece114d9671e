//! A real SMTP server for tests: Python's aiosmtpd running `smtp_sink.py` (in this crate's
//! folder), which writes each message it accepts as a JSON file. Needs `python3` with
//! aiosmtpd (`python3 -m pip install aiosmtpd`; `.ci/run` installs it).

use serde_json::Value;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when `python3 -c 'import aiosmtpd'` works. Otherwise the [CI rule](crate::ci) for
/// `what` (the test needing it): a notice and false, or a panic under `CI=true`.
pub fn aiosmtpd_available(what: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        crate::precondition_missing(
            what,
            "python3 cannot import aiosmtpd (install it with `python3 -m pip install aiosmtpd`)",
        );
    }
    ok
}

/// The running sink, killed on drop. Start it only after [`aiosmtpd_available`].
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    /// Starts the sink on a free loopback port and waits (up to 20 s) until it listens.
    /// Panics when it exits or does not listen in time.
    pub fn start() -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind a loopback port")
            .local_addr()
            .expect("a local address")
            .port();
        SmtpSink::start_on(port)
    }

    /// [`SmtpSink::start`] on a given loopback port.
    pub fn start_on(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut sink = SmtpSink { child, port, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return sink;
            }
            if let Some(status) = sink.child.try_wait().expect("the sink's status") {
                panic!("the SMTP sink exited with {status} before listening");
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink did not listen on {addr} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The stored messages (the JSON `smtp_sink.py` writes), in arrival order.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the sink's folder")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                serde_json::from_str(&std::fs::read_to_string(p).expect("a message file"))
                    .expect("a JSON message")
            })
            .collect()
    }
}
