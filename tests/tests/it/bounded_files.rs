//! Every file mailpath reads has a size cap: an endless device or a huge file ends in a clear error (exit 3)
//! that names the limit, read with bounded memory; error messages quote at most a short excerpt of what
//! they could not parse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mailpath_tests::{mailpath, mailpath_bin, run_with_timeout, text};

/// A sparse file of `len` bytes (zeros): large without costing disk.
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    path
}

/// Run mailpath with `args`; its exit code, output, and its peak resident memory in KiB (through
/// Python's getrusage of its children).
fn run_measured(args: &[&str]) -> (Option<i32>, String, u64) {
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)\n\
                  sys.stdout.write(str(r.returncode) + ' ' + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n')\n\
                  sys.stdout.write(r.stdout.decode(errors='replace') + r.stderr.decode(errors='replace'))\n";
    let (out, _) = run_with_timeout(
        Command::new("python3")
            .args(["-c", script])
            .arg(mailpath_bin())
            .args(args),
        Duration::from_secs(90),
    );
    let all = text(&out);
    let (first, rest) = all.split_once('\n').unwrap_or_else(|| panic!("{all}"));
    let mut parts = first.split_whitespace();
    let code = parts.next().and_then(|c| c.parse().ok());
    let rss = parts.next().and_then(|r| r.parse().ok()).unwrap_or(u64::MAX);
    (code, rest.to_string(), rss)
}

#[cfg(target_os = "linux")]
#[test]
fn cert_dev_zero_fails_fast_with_bounded_memory() {
    if !mailpath_tests::require("python3") {
        return;
    }
    let (code, out, rss_kib) = run_measured(&["cert", "/dev/zero"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("/dev/zero") && out.contains("larger than 10 MiB"),
        "the error names the file and the limit: {out}"
    );
    // The 10 MiB read plus the program itself; reading /dev/zero to the end would never finish.
    assert!(rss_kib < 200 * 1024, "peak RSS {rss_kib} KiB");
}

#[test]
fn oversized_files_are_refused_with_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = |p: PathBuf| p.display().to_string();
    let cert = path(sparse(d, "huge.pem", 10 * 1024 * 1024 + 1));
    let profile = path(sparse(d, "huge.toml", 1024 * 1024 + 1));
    let diagnosis = path(sparse(d, "huge.json", 64 * 1024 * 1024 + 1));
    let password = path(sparse(d, "password.txt", 64 * 1024 + 1));
    let (spool, html) = (path(d.join("spool")), path(d.join("out.html")));
    let relay = ["relay", "--listen", "127.0.0.1:0", "--spool", &spool];
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["cert", &cert], "larger than 10 MiB"),
        (
            vec!["cert", &cert, "--password-file", &password],
            "larger than 64 KiB, the most mailpath reads for a password file",
        ),
        (
            vec!["diagnose", "--profile", &profile],
            "larger than 1 MiB, the most mailpath reads for a profile",
        ),
        (
            vec!["report", "render", &diagnosis, "--report", &html],
            "larger than 64 MiB, the most mailpath reads for a saved diagnosis",
        ),
        (
            vec!["report", "compare", &diagnosis, &diagnosis],
            "larger than 64 MiB",
        ),
        (
            [&relay[..], &["--tls-cert", &cert, "--tls-key", &cert]].concat(),
            "larger than 10 MiB",
        ),
        (
            [&relay[..], &["--client-ca", &cert]].concat(),
            "larger than 10 MiB",
        ),
    ];
    // A real certificate, judged against an oversized CA file.
    let good = mailpath_tests::self_signed_cert(d, "/CN=mail.contoso.com").map(path);
    if let Some(good) = &good {
        cases.push((vec!["cert", good, "--ca", &cert], "larger than 10 MiB"));
    }
    for (args, needle) in cases {
        let (out, took) = run_with_timeout(mailpath().args(&args), Duration::from_secs(60));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {all}");
        assert!(all.contains(needle), "{args:?}: {needle:?} missing in {all}");
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
    }
}

#[cfg(unix)]
#[test]
fn endless_inputs_end_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["diagnose", "--profile", "/dev/zero"][..], "larger than 1 MiB"),
        (
            &["report", "compare", "/dev/zero", "/dev/zero"],
            "larger than 64 MiB",
        ),
        // Only the start of a message is read: 16 MiB of zeros are not header fields.
        (&["headers", "/dev/zero"], "does not start with header fields"),
    ] {
        let (out, took) = run_with_timeout(
            mailpath().args(args).current_dir(dir.path()),
            Duration::from_secs(60),
        );
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
        assert!(took < Duration::from_secs(30), "{args:?} took {took:?}");
    }
}

#[test]
fn errors_quote_a_short_excerpt_of_hostile_input() {
    let dir = tempfile::tempdir().unwrap();
    // A key of 20 000 characters, and a PEM label as long: each error quotes it.
    let profile = dir.path().join("long-key.toml");
    std::fs::write(&profile, format!("name = \"x\"\n{} = 1\n", "k".repeat(20_000))).unwrap();
    let pem = dir.path().join("long-label.pem");
    std::fs::write(&pem, format!("-----BEGIN {}-----\nAAAA\n", "L".repeat(20_000))).unwrap();
    for args in [
        vec![
            "diagnose".to_string(),
            "--profile".into(),
            profile.display().to_string(),
        ],
        vec!["cert".to_string(), pem.display().to_string()],
    ] {
        let (out, _) = run_with_timeout(mailpath().args(&args), Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("mailpath: error: "), "{err}");
        assert!(
            err.len() < 2000,
            "{args:?}: {} bytes of error: {}",
            err.len(),
            &err[..300]
        );
        // Quoted in part with the cut marked, or not quoted at all.
        let quoted = err.contains(&"k".repeat(40)) || err.contains(&"L".repeat(40));
        assert!(
            !quoted || err.contains("more characters)"),
            "{args:?}: the cut is marked: {err}"
        );
        assert!(
            !err.contains(&"k".repeat(300)) && !err.contains(&"L".repeat(300)),
            "{args:?}: {err}"
        );
    }
}
