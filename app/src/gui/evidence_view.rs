//! The Evidence view: per endpoint the SMTP transcript (coloured by direction, the TLS boundary marked)
//! and the certificate chain; the TLS-only ports; the DNS answers.

use eframe::egui::{self, RichText};
use mailpath_core::cert::CapturedCert;
use mailpath_core::diagnose::Diagnosis;
use mailpath_core::evidence::{Connect, SmtpProbe, TlsEvidence, TlsPortProbe};
use time::OffsetDateTime;

use super::state::{AppState, Command};
use super::theme;
use super::widgets::{cert_ui, empty_state, transcript_lines_ui};
use mailpath_core::check::Status;

/// The id of the DNS pseudo-entry in the list.
const DNS_ID: &str = "dns";

/// Draw the Evidence view.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, out: &mut Vec<Command>) {
    let Some(d) = state.diagnosis.clone() else {
        empty_state(
            ui,
            "No evidence yet",
            "Run a diagnosis (Ctrl+R): transcripts, certificates and DNS answers appear here.",
        );
        return;
    };
    if d.evidence.smtp.is_empty() && d.evidence.tls_ports.is_empty() && d.evidence.dns.is_empty() {
        let why = if d.cancelled {
            "The diagnosis was cancelled before any probe finished."
        } else {
            "The diagnosis observed nothing."
        };
        empty_state(ui, "No evidence", why);
        return;
    }
    let selected = resolve_selection(&d, state.evidence.selected.as_deref());
    egui::Panel::left("evidence-list")
        .resizable(true)
        .default_size(260.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.strong("SMTP endpoints");
                for p in &d.evidence.smtp {
                    let probe_ok = p.failure.is_none() && p.connect.is_connected();
                    let status =
                        worst_for(&d, &p.id).unwrap_or(if probe_ok { Status::Pass } else { Status::Fail });
                    let text = RichText::new(format!("{} {}:{}", theme::status_icon(status), p.host, p.port))
                        .color(theme::status_color(ui, status));
                    let item = ui.selectable_label(selected == p.id, text);
                    let label = format!("Evidence {}", p.id);
                    item.widget_info(|| {
                        egui::WidgetInfo::selected(egui::Role::Tab, true, selected == p.id, &label)
                    });
                    if item.clicked() {
                        state.evidence.selected = Some(p.id.clone());
                    }
                }
                if !d.evidence.tls_ports.is_empty() {
                    ui.add_space(6.0);
                    ui.strong("TLS ports");
                    for p in &d.evidence.tls_ports {
                        let ok =
                            p.connect.is_connected() && p.tls.as_ref().is_some_and(TlsEvidence::completed);
                        let status = if ok { Status::Pass } else { Status::Fail };
                        let text =
                            RichText::new(format!("{} {}:{}", theme::status_icon(status), p.host, p.port))
                                .color(theme::status_color(ui, status));
                        if ui.selectable_label(selected == p.id, text).clicked() {
                            state.evidence.selected = Some(p.id.clone());
                        }
                    }
                }
                ui.add_space(6.0);
                ui.strong("DNS");
                if ui
                    .selectable_label(selected == DNS_ID, format!("{} answers", d.evidence.dns.len()))
                    .clicked()
                {
                    state.evidence.selected = Some(DNS_ID.into());
                }
            });
        });
    let now = state.clock.now();
    egui::CentralPanel::default().show(ui, |ui| {
        if selected == DNS_ID {
            dns_ui(ui, &d);
        } else if let Some(p) = d.evidence.smtp(&selected) {
            smtp_ui(ui, p, &mut state.evidence, now, out);
        } else if let Some(p) = d.evidence.tls_port(&selected) {
            tls_port_ui(ui, p, now);
        } else {
            ui.label(RichText::new(format!("No evidence with the id {selected}.")).weak());
        }
    });
}

/// The worst status of the checks that used this evidence, if any did.
fn worst_for(d: &Diagnosis, id: &str) -> Option<Status> {
    d.checks
        .iter()
        .filter(|c| c.evidence.iter().any(|e| e == id))
        .map(|c| c.status)
        .max()
}

/// Which entry to show: the one asked for (DNS ids map to the DNS list), else the first failing endpoint.
fn resolve_selection(d: &Diagnosis, asked: Option<&str>) -> String {
    if let Some(id) = asked {
        if id.starts_with("dns") {
            return DNS_ID.into();
        }
        if d.evidence.smtp(id).is_some() || d.evidence.tls_port(id).is_some() {
            return id.to_string();
        }
    }
    d.evidence
        .smtp
        .iter()
        .find(|p| p.failure.is_some())
        .or_else(|| d.evidence.smtp.first())
        .map(|p| p.id.clone())
        .or_else(|| d.evidence.tls_ports.first().map(|p| p.id.clone()))
        .unwrap_or_else(|| DNS_ID.into())
}

fn connect_words(c: &Connect) -> String {
    match c {
        Connect::Connected { address, ms } => format!("connected to {address} in {ms} ms"),
        Connect::Refused { address } => format!("refused by {address}"),
        Connect::TimedOut { address, ms } => format!("no answer from {address} within {ms} ms (filtered?)"),
        Connect::Unreachable { address, error } => format!("{address} unreachable: {error}"),
        Connect::NoAddress { error } => format!("no address: {error}"),
        Connect::Failed { address, error } => match address {
            Some(a) => format!("{a}: {error}"),
            None => error.clone(),
        },
    }
}

fn smtp_ui(
    ui: &mut egui::Ui,
    p: &SmtpProbe,
    tabs: &mut super::state::EvidenceState,
    now: OffsetDateTime,
    out: &mut Vec<Command>,
) {
    ui.heading(format!("{}:{}", p.host, p.port));
    egui::Grid::new("smtp-facts")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            ui.label(RichText::new("Connect").weak());
            ui.label(connect_words(&p.connect));
            ui.end_row();
            ui.label(RichText::new("EHLO as").weak());
            ui.monospace(&p.helo);
            ui.end_row();
            if let Some(tls) = &p.tls {
                ui.label(RichText::new("TLS").weak());
                ui.label(tls_words(tls));
                ui.end_row();
            }
            if let Some(f) = &p.failure {
                ui.label(RichText::new("Stopped").weak());
                ui.label(
                    RichText::new(format!("{:?} at {:?}: {}", f.kind, f.stage, f.message))
                        .color(theme::error_color(ui)),
                );
                ui.end_row();
            }
            ui.label(RichText::new("Took").weak());
            ui.label(format!("{} ms", p.ms));
            ui.end_row();
        });
    ui.add_space(6.0);
    let chain_len = p.tls.as_ref().map_or(0, |t| t.chain.len());
    let transcript = !tabs.certificates && !tabs.tls;
    let chain = tabs.certificates && !tabs.tls;
    ui.horizontal(|ui| {
        let t = ui.selectable_label(transcript, "Transcript");
        t.widget_info(|| egui::WidgetInfo::selected(egui::Role::Tab, true, transcript, "Transcript"));
        if t.clicked() {
            tabs.certificates = false;
            tabs.tls = false;
        }
        let c = ui.selectable_label(chain, format!("Certificate chain ({chain_len})"));
        c.widget_info(|| egui::WidgetInfo::selected(egui::Role::Tab, true, chain, "Certificate chain"));
        if c.clicked() {
            tabs.certificates = true;
            tabs.tls = false;
        }
        let v = ui.selectable_label(tabs.tls, "TLS versions & suites");
        v.widget_info(|| {
            egui::WidgetInfo::selected(egui::Role::Tab, true, tabs.tls, "TLS versions and suites")
        });
        if v.clicked() {
            tabs.tls = true;
        }
    });
    ui.separator();
    if tabs.tls {
        let scanning = tabs.scanning.is_some();
        tls_scan_ui(ui, p, scanning, out);
    } else if chain {
        match &p.tls {
            Some(tls) => chain_ui(ui, tls, now),
            None => {
                ui.label(RichText::new("No TLS session: no certificate was received.").weak());
            }
        }
    } else {
        transcript_ui(ui, p);
    }
}

/// The TLS scan of an endpoint: versions, the suites table (weak rows in the warning colour), the
/// server's order and groups, and the button that runs a full scan.
fn tls_scan_ui(ui: &mut egui::Ui, p: &SmtpProbe, scanning: bool, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let button = egui::Button::new("Full TLS scan");
        let enabled =
            !scanning && p.connect.is_connected() && p.starttls.as_ref().is_some_and(|r| r.code == 220);
        let clicked = ui
            .add_enabled(enabled, button)
            .on_hover_text(
                "Every version, suite, the server's order and named groups: one connection per ClientHello, \
                 sequential, at most 40 connections and 60 seconds",
            )
            .clicked();
        if clicked {
            out.push(Command::FullTlsScan(p.id.clone()));
        }
        if scanning {
            ui.spinner();
            ui.label(RichText::new("scanning (sequential, at most 40 connections, 60 s)").weak());
        }
    });
    let Some(scan) = &p.tls_scan else {
        ui.label(RichText::new("No TLS scan of this endpoint (--tls-scan off, or no STARTTLS).").weak());
        return;
    };
    ui.label(scan.summary());
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for line in scan.version_lines() {
                ui.label(RichText::new(line).monospace());
            }
            ui.add_space(6.0);
            let rows = scan.rows();
            if rows.is_empty() {
                ui.label(RichText::new("No suite was accepted.").weak());
            } else {
                egui::Grid::new(("tls-suites", &p.id))
                    .num_columns(5)
                    .striped(true)
                    .spacing([12.0, 4.0])
                    .show(ui, |ui| {
                        for h in ["Version", "Suite", "Key exchange", "Cipher", "Properties"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for r in &rows {
                            let weak = r.weak();
                            let words = mailpath_core::evidence::tls_scan::row_words(r);
                            ui.monospace(&r.version);
                            ui.monospace(&r.suite);
                            ui.label(r.kex);
                            ui.label(r.cipher);
                            if weak {
                                ui.label(RichText::new(words).color(theme::status_color(ui, Status::Warn)));
                            } else {
                                ui.label(words);
                            }
                            ui.end_row();
                        }
                    });
            }
            ui.add_space(6.0);
            ui.label(format!("Cipher order: {}", scan.order_words()));
            if !scan.groups.is_empty() {
                ui.label(format!("Named groups: {}", scan.groups.join(", ")));
            }
            ui.label(format!("Certificates sent in clear: {}", scan.chain.len()));
            if let Some(stopped) = &scan.stopped {
                ui.label(
                    RichText::new(format!("Stopped early: {stopped}"))
                        .color(theme::status_color(ui, Status::Warn)),
                );
            }
            ui.add_space(6.0);
            egui::CollapsingHeader::new(format!("ClientHellos ({})", scan.hellos.len()))
                .id_salt(("hellos", &p.id))
                .show(ui, |ui| {
                    for (i, h) in scan.hellos.iter().enumerate() {
                        ui.label(
                            RichText::new(format!(
                                "#{} {} ms: offered {} -> {}",
                                i + 1,
                                h.ms,
                                h.offered,
                                h.answer
                            ))
                            .monospace(),
                        );
                    }
                });
        });
}

fn tls_words(tls: &TlsEvidence) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &tls.version {
        parts.push(v.clone());
    }
    if let Some(c) = &tls.cipher {
        parts.push(c.clone());
    }
    if let Some(sni) = &tls.sni {
        parts.push(format!("SNI {sni}"));
    }
    if let Some(e) = &tls.error {
        parts.push(format!("failed: {e}"));
    }
    if let Some(a) = &tls.alert {
        parts.push(format!("alert {a}"));
    }
    if tls.chain_from_scan {
        parts.push("certificates read by the handshake scanner".into());
    }
    if parts.is_empty() {
        "attempted".into()
    } else {
        parts.join(" · ")
    }
}

/// The transcript: `->` sent, `<-` received, `~>`/`<~` inside TLS, `==` notes, `**` errors.
fn transcript_ui(ui: &mut egui::Ui, p: &SmtpProbe) {
    let words = p.tls.as_ref().map(tls_words).unwrap_or_default();
    transcript_lines_ui(ui, &p.transcript, &words);
}

fn chain_ui(ui: &mut egui::Ui, tls: &TlsEvidence, now: OffsetDateTime) {
    if tls.chain.is_empty() {
        ui.label(RichText::new("The server sent no certificate.").weak());
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let n = tls.chain.len();
            for (i, cert) in tls.chain.iter().map(|der| CapturedCert::read(der)).enumerate() {
                let role = if i == 0 {
                    "leaf (served certificate)"
                } else if i + 1 == n {
                    "top of the chain sent"
                } else {
                    "intermediate"
                };
                match cert {
                    CapturedCert::Parsed(c) => {
                        let title = format!("#{i} {role}: {}", c.short_subject());
                        egui::CollapsingHeader::new(title)
                            .id_salt(("cert", i))
                            .default_open(i == 0)
                            .show(ui, |ui| cert_ui(ui, &c, now));
                    }
                    CapturedCert::Unparsed { reason } => {
                        ui.label(
                            RichText::new(format!("#{i} {role}: {reason}")).color(theme::error_color(ui)),
                        );
                    }
                }
            }
            ui.add_space(4.0);
            ui.label(
                RichText::new(
                    "The chain as the server sent it. Its checks (tls.cert.*) judge trust, names and expiry.",
                )
                .weak(),
            );
        });
}

fn tls_port_ui(ui: &mut egui::Ui, p: &TlsPortProbe, now: OffsetDateTime) {
    ui.heading(format!("{}:{} (TLS)", p.host, p.port));
    ui.label(connect_words(&p.connect));
    if let Some(tls) = &p.tls {
        ui.label(tls_words(tls));
        ui.separator();
        chain_ui(ui, tls, now);
    }
}

fn dns_ui(ui: &mut egui::Ui, d: &Diagnosis) {
    ui.heading("DNS answers");
    if d.evidence.dns.is_empty() {
        ui.label(RichText::new("No DNS query was made.").weak());
        return;
    }
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("dns-grid")
                .num_columns(5)
                .striped(true)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    for h in ["Name", "Type", "Server", "Answer", "Time"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for a in &d.evidence.dns {
                        ui.monospace(&a.name);
                        ui.monospace(a.rtype.to_string());
                        ui.label(&a.server);
                        ui.label(a.outcome.to_string());
                        ui.label(format!("{} ms", a.elapsed_ms));
                        ui.end_row();
                    }
                });
        });
}
