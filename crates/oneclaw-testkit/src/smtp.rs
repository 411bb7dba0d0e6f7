//! A real SMTP server for the mail tests: Python's aiosmtpd (`ONECLAW_TEST_PYTHON`, default
//! `python3`), which writes each message it receives, decoded, to a folder as JSON. In `refuse`
//! mode it answers every message 550. Without Python or aiosmtpd the tests that need it skip,
//! unless `ONECLAW_REQUIRE_SMTP_TESTS=1` (set by `.ci/run`) makes that a failure.

use oneclaw_server::config::SmtpSettings;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The sink itself (also used by the end-to-end suite).
const SERVER: &str = include_str!("../../../scripts/smtp-sink.py");

/// One received message.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The first link in the text body that contains `needle`.
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text.split_whitespace().find(|word| word.starts_with("http") && word.contains(needle)).map(str::to_owned)
    }
}

/// A running aiosmtpd.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    folder: tempfile::TempDir,
}

fn python() -> String {
    std::env::var("ONECLAW_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

impl SmtpSink {
    /// Starts a sink on a free port; `None` (the test skips) when aiosmtpd cannot run here.
    pub fn start() -> Option<Self> {
        Self::start_on(free_port(), "accept")
    }

    /// Starts a sink on `port`: `accept` stores messages, `refuse` answers 550.
    pub fn start_on(port: u16, mode: &str) -> Option<Self> {
        let available = Command::new(python()).args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var("ONECLAW_REQUIRE_SMTP_TESTS").is_err(),
                "ONECLAW_REQUIRE_SMTP_TESTS is set but {} cannot import aiosmtpd",
                python()
            );
            eprintln!("skipping: no aiosmtpd for {} (pip install aiosmtpd, or set ONECLAW_TEST_PYTHON)", python());
            return None;
        }
        let folder = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(python())
            .args(["-c", SERVER, &port.to_string(), &folder.path().to_string_lossy(), mode])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd starts");
        let mut ready = String::new();
        if let Some(stdout) = child.stdout.as_mut() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(stdout).read_line(&mut ready);
        }
        assert_eq!(ready.trim(), "ready", "aiosmtpd did not start on port {port}");
        Some(Self { child, port, folder })
    }

    /// Settings that send to this sink.
    pub fn settings(&self) -> SmtpSettings {
        settings_for(self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter_map(|text| serde_json::from_str::<Value>(&text).ok())
            .map(|record| ReceivedMail {
                to: record["to"]
                    .as_array()
                    .map(|to| to.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                subject: record["subject"].as_str().unwrap_or_default().to_owned(),
                message_id: record["message_id"].as_str().unwrap_or_default().to_owned(),
                text: record["text"].as_str().unwrap_or_default().to_owned(),
                html: record["html"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The messages to `to`.
    pub fn to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).collect()
    }

    /// Waits (up to 10 s) until `to` has received `count` messages; returns them.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..100 {
            let got = self.to(to);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{to} received {} message(s), expected {count}", self.to(to).len());
    }
}

/// Settings that send to whatever listens on `port` (perhaps nothing yet).
pub fn settings_for(port: u16) -> SmtpSettings {
    SmtpSettings { url: format!("smtp://127.0.0.1:{port}"), username: None, from: "oneclaw@example.com".to_owned() }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
