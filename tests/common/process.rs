//! Running the `triage` binary from a test: a free port, a plain HTTP client, start,
//! health and SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn triage() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_triage"));
    cmd.env_remove("DATABASE_URL")
        .env("RUST_LOG", "triage=info");
    cmd
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A plain HTTP/1.0 GET, enough for a smoke test without a client library.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_raw(
        port,
        format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        Duration::from_secs(10),
    )
}

/// Sends bytes as they are and reads the whole answer: (status, head and body).
pub fn http_raw(port: u16, request: &[u8], wait: Duration) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    stream.write_all(request).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

pub fn wait_healthy(child: &mut Child, port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if let Some((200, _)) = http_get(port, "/healthz") {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("triage exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("triage did not become healthy in time");
}

/// `triage serve` on a port, with settings from the environment, once healthy.
pub fn serve(port: u16, settings: &[(&str, &std::ffi::OsStr)]) -> Child {
    let mut child = triage()
        .arg("serve")
        .envs(settings.iter().copied())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting triage");
    wait_healthy(&mut child, port);
    child
}

pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "triage did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A data directory the unprivileged PostgreSQL user can reach.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("triage-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
