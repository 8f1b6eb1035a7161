//! A real SMTP server for the tests: maildev from npm (installed by `npm ci`), started
//! on free ports, with its REST API to read what arrived.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running maildev; stopped when dropped.
pub struct MailDev {
    child: Child,
    pub smtp_port: u16,
    web_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl MailDev {
    /// Starts maildev, or says loudly why it cannot (`npm ci` installs it).
    pub fn start() -> MailDev {
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/maildev");
        assert!(
            bin.exists(),
            "maildev is missing: run `npm ci` (it is in package.json)"
        );
        let (smtp_port, web_port) = (free_port(), free_port());
        let child = Command::new(bin)
            .args(["--ip", "127.0.0.1", "--silent"])
            .args([
                "--smtp",
                &smtp_port.to_string(),
                "--web",
                &web_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting maildev");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", web_port)).is_err()
            || TcpStream::connect(("127.0.0.1", smtp_port)).is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "maildev did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MailDev {
            child,
            smtp_port,
            web_port,
        }
    }

    /// The SMTP_URL of this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// Every message received so far.
    pub fn emails(&self) -> Vec<serde_json::Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.web_port)).expect("maildev");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(stream, "GET /email HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("[]");
        serde_json::from_str::<Vec<serde_json::Value>>(body).expect("maildev's JSON")
    }

    /// Waits until `n` messages have arrived, and returns them.
    pub fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let mails = self.emails();
            if mails.len() >= n || started.elapsed() > Duration::from_secs(15) {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MailDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
