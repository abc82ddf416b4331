//! Shared by the relay envelope tests: a capturing smart host that records exactly the MAIL and RCPT
//! lines it receives (plain sockets, no SMTP library that could tidy them up), and a raw SMTP client
//! in Python that sends lines exactly as given, STARTTLS and client certificates included.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One transaction as the smart host saw it.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The MAIL line, without its line end.
    pub mail: String,
    /// The RCPT lines it accepted.
    pub rcpt: Vec<String>,
    /// The RCPT lines it refused.
    pub refused: Vec<String>,
    /// The message, dot-unstuffed.
    pub data: Vec<u8>,
}

impl Captured {
    /// The value of a header of the message (first occurrence, unfolded lines not handled).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.data);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        head.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A smart host on 127.0.0.1 that accepts everything except recipients containing one of the
/// `refuse` strings (550 5.1.1), and records every MAIL and RCPT line and each message.
pub struct CaptureHost {
    /// Its port.
    pub port: u16,
    transactions: Arc<Mutex<Vec<Captured>>>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl CaptureHost {
    /// Start listening (offering SMTPUTF8).
    pub fn start(refuse: &[&str]) -> CaptureHost {
        CaptureHost::start_with(refuse, true)
    }

    /// Start listening; `smtputf8`: whether EHLO offers SMTPUTF8 (RFC 6531).
    pub fn start_with(refuse: &[&str], smtputf8: bool) -> CaptureHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the capture host");
        let port = listener.local_addr().expect("its address").port();
        let transactions = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let refuse: Vec<String> = refuse.iter().map(|s| s.to_string()).collect();
        {
            let (transactions, lines) = (Arc::clone(&transactions), Arc::clone(&lines));
            std::thread::Builder::new()
                .name("capture-accept".into())
                .spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let (transactions, lines) = (Arc::clone(&transactions), Arc::clone(&lines));
                        let refuse = refuse.clone();
                        let _ = std::thread::Builder::new()
                            .name("capture-session".into())
                            .spawn(move || {
                                let _ = serve(stream, &refuse, smtputf8, &transactions, &lines);
                            });
                    }
                })
                .expect("spawn the capture host");
        }
        CaptureHost {
            port,
            transactions,
            lines,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every complete transaction so far.
    pub fn transactions(&self) -> Vec<Captured> {
        self.transactions.lock().expect("capture lock").clone()
    }

    /// Every MAIL and RCPT line so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("capture lock").clone()
    }

    /// Wait until `pred` holds for the transactions so far (or the timeout passes); returns them.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[Captured]) -> bool) -> Vec<Captured> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.transactions();
            if pred(&seen) || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(
    stream: TcpStream,
    refuse: &[String],
    smtputf8: bool,
    transactions: &Mutex<Vec<Captured>>,
    lines: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 capture.test ESMTP\r\n")?;
    let mut current = Captured::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.by_ref().take(64 * 1024).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        let verb = text.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if smtputf8 => {
                b"250-capture.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 1000000000\r\n"
            }
            "EHLO" => b"250-capture.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000000\r\n",
            "HELO" => b"250 capture.test\r\n",
            "MAIL" => {
                lines.lock().expect("capture lock").push(text.clone());
                current = Captured {
                    mail: text,
                    ..Captured::default()
                };
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                lines.lock().expect("capture lock").push(text.clone());
                if refuse.iter().any(|r| text.contains(r.as_str())) {
                    current.refused.push(text);
                    b"550 5.1.1 User unknown\r\n"
                } else {
                    current.rcpt.push(text);
                    b"250 2.1.5 OK\r\n"
                }
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if input
                        .by_ref()
                        .take(64 * 1024 * 1024)
                        .read_until(b'\n', &mut line)?
                        == 0
                    {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    let unstuffed = if line.starts_with(b".") {
                        &line[1..]
                    } else {
                        &line[..]
                    };
                    data.extend_from_slice(unstuffed);
                }
                current.data = data;
                transactions
                    .lock()
                    .expect("capture lock")
                    .push(std::mem::take(&mut current));
                b"250 2.0.0 captured\r\n"
            }
            "RSET" => {
                current = Captured::default();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                out.write_all(b"221 2.0.0 bye\r\n")?;
                return Ok(());
            }
            _ => b"502 5.5.2 not here\r\n",
        };
        out.write_all(reply)?;
    }
}

/// A raw SMTP client: for each transaction, a new session (greeting, EHLO, optionally STARTTLS with
/// the relay's CA and a client certificate, EHLO), the MAIL line, the RCPT lines (when MAIL got
/// 250), DATA and the message (when a RCPT got 250), QUIT. Lines are sent exactly as given.
const CLIENT: &str = r#"
import json, socket, ssl, sys
cfg = json.loads(sys.stdin.read())

def session():
    sock = socket.create_connection(("127.0.0.1", cfg["port"]), timeout=30)
    state = {"sock": sock, "rf": sock.makefile("rb")}
    def reply():
        lines = []
        while True:
            line = state["rf"].readline(8192)
            if not line:
                return [0, "connection closed"]
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            code = 0
        return [code, " | ".join(l[4:] for l in lines)]
    def send(raw):
        state["sock"].sendall(raw.encode("utf-8") + b"\r\n")
        return reply()
    def write(raw):
        state["sock"].sendall(raw.encode("utf-8"))
    greeting = reply()
    send("EHLO client.example")
    if cfg.get("ca"):
        code, text = send("STARTTLS")
        if code != 220:
            raise SystemExit("STARTTLS refused: %s %s" % (code, text))
        ctx = ssl.create_default_context(cafile=cfg["ca"])
        if cfg.get("cert"):
            ctx.load_cert_chain(cfg["cert"], cfg["key"])
        state["sock"] = ctx.wrap_socket(state["sock"], server_hostname="localhost")
        state["rf"] = state["sock"].makefile("rb")
        send("EHLO client.example")
    return send, reply, write, state

results = []
for t in cfg["transactions"]:
    send, reply, write, state = session()
    r = {"mail": send(t["mail"]), "rcpt": [], "data": None}
    if r["mail"][0] == 250:
        for line in t["rcpt"]:
            r["rcpt"].append(send(line))
        if any(c == 250 for c, _ in r["rcpt"]):
            r["data"] = send("DATA")
            if r["data"][0] == 354:
                write(t["data"] + "\r\n.\r\n")
                r["data"] = reply()
    send("QUIT")
    state["sock"].close()
    results.append(r)
print(json.dumps(results))
"#;

/// One transaction for [`smtp_client`].
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The MAIL line.
    pub mail: String,
    /// The RCPT lines.
    pub rcpt: Vec<String>,
    /// The message (without the final dot).
    pub data: String,
}

/// A reply: code and text (lines joined with ` | `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The code (0: the connection closed).
    pub code: u16,
    /// The text.
    pub text: String,
}

/// What one transaction got.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The reply to MAIL.
    pub mail: Reply,
    /// The replies to the RCPT lines that were sent.
    pub rcpt: Vec<Reply>,
    /// The reply to the end of data, when data was sent (or to DATA when it was refused).
    pub data: Option<Reply>,
}

fn reply(value: &Value) -> Reply {
    Reply {
        code: value[0].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(0),
        text: value[1].as_str().unwrap_or_default().to_string(),
    }
}

/// TLS for [`smtp_client`]: the CA to verify the relay with, and a client certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tls<'a> {
    /// The relay's CA (`relay-ca.pem`); `None`: no STARTTLS.
    pub ca: Option<&'a Path>,
    /// A client certificate chain and its key.
    pub cert: Option<(&'a Path, &'a Path)>,
}

/// Run `transactions` against `port` with Python (one session each); `None` when Python is missing
/// outside CI.
pub fn smtp_client(port: u16, tls: Tls<'_>, transactions: &[Transaction]) -> Option<Vec<Outcome>> {
    if !mailpath_tests::require("/usr/bin/python3") {
        return None;
    }
    let config = json!({
        "port": port,
        "ca": tls.ca.map(|p| p.display().to_string()),
        "cert": tls.cert.map(|(c, _)| c.display().to_string()),
        "key": tls.cert.map(|(_, k)| k.display().to_string()),
        "transactions": transactions
            .iter()
            .map(|t| json!({"mail": t.mail, "rcpt": t.rcpt, "data": t.data}))
            .collect::<Vec<_>>(),
    });
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", CLIENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(config.to_string().as_bytes())
        .expect("write the client's configuration");
    let out = child.wait_with_output().expect("run the client");
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_slice(&out.stdout).expect("the client prints JSON");
    Some(
        results
            .as_array()
            .expect("a list of results")
            .iter()
            .map(|r| Outcome {
                mail: reply(&r["mail"]),
                rcpt: r["rcpt"]
                    .as_array()
                    .map(|a| a.iter().map(reply).collect())
                    .unwrap_or_default(),
                data: (!r["data"].is_null()).then(|| reply(&r["data"])),
            })
            .collect(),
    )
}

/// A short test message carrying `X-Case` and `X-Config` headers, to find it again (without its last
/// line end, which the client adds before the dot).
pub fn message(config: &str, case: &str) -> String {
    format!(
        "From: <adele@fabrikam.com>\r\nTo: <megan@contoso.com>\r\nSubject: {case}\r\nX-Config: {config}\r\n\
         X-Case: {case}\r\n\r\nHello."
    )
}
