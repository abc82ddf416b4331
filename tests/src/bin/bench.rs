//! The diagnosis benchmark (issue 3): run with `cargo run --release -p mailpath-tests --bin bench`.
//!
//! 1. A whole lab diagnosis where the lab adds 100 ms to every SMTP reply, against the slowest single
//!    endpoint probed alone: a concurrent diagnosis should cost about its slowest endpoint (goal: at
//!    most 1.3x), not the sum of all of them.
//! 2. One `mailpath probe` of the Edge against `swaks --tls --quit-after HELO` and `posttls-finger` on
//!    the same endpoint (the same dialogue: EHLO, STARTTLS, EHLO, QUIT), median of several runs.
//!
//! `bench tls-scan` measures instead what the TLS handshake scanner costs (issue 12): a diagnosis of
//! `healthy-edge` and `cbc-only` with `--tls-scan off` (the probes alone), `quick` (the default) and
//! `full`, its median time and the connections it made to each endpoint.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailpath_core::diagnose::{DiagnoseOptions, diagnose, trust_for};
use mailpath_core::lab::{EndpointRole, Lab, LabOptions};
use mailpath_core::probe::{SmtpProbeRequest, Timeouts, probe_smtp};
use mailpath_core::profile::Profile;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_command(cmd: &mut Command, runs: usize) -> Option<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let status = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .status()
            .ok()?;
        let took = t0.elapsed();
        if !status.success() && status.code() != Some(1) && status.code() != Some(2) {
            return None;
        }
        times.push(took);
    }
    Some(median(times))
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("tls-scan") {
        tls_scan_cost().await;
        return;
    }
    let runs = 5;
    // 1. Whole diagnosis vs the slowest endpoint, 100 ms per reply.
    let options = LabOptions {
        reply_delay: Some(Duration::from_millis(100)),
        ..LabOptions::default()
    };
    let lab = Lab::start_named("healthy-edge", options).await.expect("lab");
    let profile = Profile::load(&lab.info().profile_file).expect("profile");
    let mut diag_times = Vec::new();
    let mut checks = 0;
    for _ in 0..runs {
        let opts = DiagnoseOptions::new(trust_for(&profile).expect("trust"));
        let t0 = Instant::now();
        let d = diagnose(&profile, opts).await;
        diag_times.push(t0.elapsed());
        checks = d.checks.len();
        assert_eq!(d.counts.fail, 0, "the healthy lab must diagnose clean");
    }
    let diag = median(diag_times);
    let mut slowest = Duration::ZERO;
    let mut slowest_id = String::new();
    for e in &lab.info().endpoints {
        if e.role == EndpointRole::EdgeSync {
            continue;
        }
        let req = SmtpProbeRequest {
            host: e.host.clone(),
            port: e.address.port(),
            addresses: vec![e.address.ip()],
            helo: "bench.invalid".into(),
            sni: None,
            timeouts: Timeouts::default(),
        };
        let mut t = Vec::new();
        for _ in 0..runs {
            let t0 = Instant::now();
            let _ = probe_smtp(&req).await;
            t.push(t0.elapsed());
        }
        let m = median(t);
        if m > slowest {
            slowest = m;
            slowest_id = format!("{} {}", e.host, e.address);
        }
    }
    println!(
        "diagnosis (healthy-edge, +100 ms per SMTP reply, {checks} checks): median {:.0} ms",
        diag.as_secs_f64() * 1e3
    );
    println!(
        "slowest single endpoint alone ({slowest_id}): median {:.0} ms",
        slowest.as_secs_f64() * 1e3
    );
    println!(
        "ratio: {:.2}x (goal <= 1.3x)",
        diag.as_secs_f64() / slowest.as_secs_f64()
    );
    lab.shutdown().await;

    // 2. One probe vs swaks and posttls-finger, no added delay.
    let lab = Lab::start_named("healthy-edge", LabOptions::default())
        .await
        .expect("lab");
    let edge = lab
        .info()
        .endpoints
        .iter()
        .find(|e| e.role == EndpointRole::EdgeExternal)
        .expect("edge")
        .clone();
    let ca = lab.info().ca_file.clone();
    let bin = std::env::var("MAILPATH_BIN").unwrap_or_else(|_| "target/release/mailpath".into());
    let port = edge.address.port().to_string();
    let mailpath = time_command(
        Command::new(&bin)
            .args([
                "probe",
                &edge.address.to_string(),
                "--tls-name",
                "mail.contoso.com",
                "--ca",
            ])
            .arg(&ca),
        runs * 2,
    );
    let swaks = time_command(
        Command::new("swaks").args([
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "--quit-after",
            "HELO",
        ]),
        runs * 2,
    );
    let finger = time_command(
        Command::new("posttls-finger").args(["-c", "-l", "may", &format!("[127.0.0.1]:{port}")]),
        runs * 2,
    );
    let show = |name: &str, d: Option<Duration>| match d {
        Some(d) => println!("{name:16} median {:.1} ms", d.as_secs_f64() * 1e3),
        None => println!("{name:16} not available"),
    };
    println!(
        "single probe of {} (EHLO, STARTTLS, EHLO, QUIT), {} runs:",
        edge.address,
        runs * 2
    );
    show("mailpath probe", mailpath);
    show("swaks", swaks);
    show("posttls-finger", finger);
    lab.shutdown().await;
}

/// Diagnosis time and connections per endpoint for each scan mode (the probe's own connection plus
/// one per ClientHello of the scan, as the evidence records them).
async fn tls_scan_cost() {
    use mailpath_core::tls_scan::ScanMode;
    let runs = 5;
    println!("TLS scan cost: lab with +100 ms per SMTP reply, median of {runs} diagnoses");
    for scenario in ["healthy-edge", "cbc-only"] {
        let options = LabOptions {
            reply_delay: Some(Duration::from_millis(100)),
            ..LabOptions::default()
        };
        let lab = Lab::start_named(scenario, options).await.expect("lab");
        let profile = Profile::load(&lab.info().profile_file).expect("profile");
        for mode in [ScanMode::Off, ScanMode::Quick, ScanMode::Full] {
            let mut times = Vec::new();
            let mut connections = Vec::new();
            for _ in 0..runs {
                let mut opts = DiagnoseOptions::new(trust_for(&profile).expect("trust"));
                opts.tls_scan.mode = mode;
                let t0 = Instant::now();
                let d = diagnose(&profile, opts).await;
                times.push(t0.elapsed());
                connections = d
                    .evidence
                    .smtp
                    .iter()
                    .map(|p| {
                        let scan = p.tls_scan.as_ref().map_or(0, |s| s.connections());
                        format!("{} {}", p.host, 1 + scan)
                    })
                    .collect();
            }
            println!(
                "{scenario:13} --tls-scan {:5} median {:5.0} ms; connections per endpoint: {}",
                mode.as_str(),
                median(times).as_secs_f64() * 1e3,
                connections.join(", ")
            );
        }
        lab.shutdown().await;
    }
}
