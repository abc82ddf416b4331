//! The Relay view: start and stop the bundled relay (`mailpath relay`), watch its sessions and messages
//! arrive live, read a session's transcript and client certificate or a message's verdict and checks, and
//! send a test message. The relay runs on the worker; its events arrive through [`RelayState::apply`].

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use mailpath_core::cert::CapturedCert;
use mailpath_core::check::{CheckResult, Counts, Status};
use mailpath_core::relay::Role;
use mailpath_core::relay::inspect::MessageReport;
use mailpath_core::smtp::server::TlsInfo;
use time::OffsetDateTime;

use super::state::Command;
use super::state::relay::{DEFAULT_LISTEN, RelaySelection, RelayState, RelayStatus, SessionRow};
use super::theme;
use super::widgets::{cert_ui, check_card, counts_words, transcript_rows, verdict_status, verdict_ui};

const ROLES: [Role; 4] = [Role::Sink, Role::Eop, Role::Edge, Role::Mailbox];
const ROW_HEIGHT: f32 = 22.0;

fn hms(t: OffsetDateTime) -> String {
    t.format(&time::macros::format_description!("[hour]:[minute]:[second]"))
        .unwrap_or_default()
}

fn full_time(t: OffsetDateTime) -> String {
    t.format(&time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
    ))
    .unwrap_or_default()
}

fn labelled_edit(ui: &mut egui::Ui, label: &str, text: &mut String, width: f32, hint: &str, enabled: bool) {
    let l = ui.label(label);
    ui.add_enabled(
        enabled,
        egui::TextEdit::singleline(text)
            .desired_width(width)
            .hint_text(hint),
    )
    .labelled_by(l.id);
}

/// The view.
pub fn show(ui: &mut egui::Ui, state: &mut RelayState, now: OffsetDateTime, out: &mut Vec<Command>) {
    controls(ui, state, out);
    send_area(ui, state, out);
    ui.separator();
    if state.selected.is_some() {
        egui::Panel::right("relay-detail")
            .resizable(true)
            .default_size(470.0)
            .size_range(300.0..=760.0)
            .show(ui, |ui| detail(ui, state, now, out));
    }
    lists(ui, state, out);
}

fn controls(ui: &mut egui::Ui, state: &mut RelayState, out: &mut Vec<Command>) {
    let stopped = matches!(state.status, RelayStatus::Stopped);
    let form = &mut state.form;
    ui.horizontal_wrapped(|ui| {
        ui.label("Role");
        let mut role = form.role;
        ui.add_enabled_ui(stopped, |ui| {
            egui::ComboBox::from_id_salt("relay-role")
                .selected_text(role_name(role))
                .width(90.0)
                .show_ui(ui, |ui| {
                    for r in ROLES {
                        ui.selectable_value(&mut role, r, role_name(r))
                            .on_hover_text(role_hint(r));
                    }
                })
                .response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, stopped, "Relay role"));
        });
        form.role = role;
        labelled_edit(ui, "Listen", &mut form.listen, 150.0, DEFAULT_LISTEN, stopped);
        labelled_edit(
            ui,
            "Accepted domains",
            &mut form.accept_domains,
            160.0,
            "all (contoso.com, …)",
            stopped,
        );
        labelled_edit(ui, "Spool", &mut form.spool, 240.0, "directory", stopped);
    });
    // What the client certificate is judged against (the eop role refuses relaying without a match).
    ui.horizontal_wrapped(|ui| {
        labelled_edit(
            ui,
            "Expected certificate name",
            &mut form.expect_cert_names,
            200.0,
            if form.role == Role::Eop {
                "required for eop: mail.contoso.com"
            } else {
                "optional"
            },
            stopped,
        );
        labelled_edit(
            ui,
            "Client CA",
            &mut form.client_ca,
            260.0,
            "PEM file (default: the system store)",
            stopped,
        );
    });
    ui.horizontal(|ui| {
        match &state.status {
            RelayStatus::Stopped => {
                if ui
                    .button("▶ Start relay")
                    .on_hover_text("Listen with these settings")
                    .clicked()
                {
                    out.push(Command::StartRelay);
                }
                ui.label(RichText::new("Stopped").weak());
            }
            RelayStatus::Starting => {
                ui.add_enabled(false, egui::Button::new("▶ Start relay"));
                ui.spinner();
                ui.label("Starting…");
            }
            RelayStatus::Running {
                address,
                role,
                hostname,
                tls,
                ca_file,
            } => {
                if ui
                    .button("⏹ Stop relay")
                    .on_hover_text("Stop listening; captured messages stay in the spool")
                    .clicked()
                {
                    out.push(Command::StopRelay);
                }
                let tls = if *tls { "STARTTLS offered" } else { "no STARTTLS" };
                let text = format!(
                    "Listening on {address} as {} ({hostname}), {tls}",
                    role_name(*role)
                );
                let status = ui.label(RichText::new(text).color(theme::status_color(ui, Status::Pass)));
                if let Some(ca) = ca_file {
                    status.on_hover_text(format!("Clients can trust {}", ca.display()));
                }
            }
            RelayStatus::Stopping => {
                ui.add_enabled(false, egui::Button::new("⏹ Stop relay"));
                ui.spinner();
                ui.label("Stopping…");
            }
        }
        if state.dropped > 0 {
            ui.label(
                RichText::new(format!("{} events dropped (the UI fell behind)", state.dropped))
                    .color(theme::status_color(ui, Status::Warn)),
            );
        }
    });
}

fn send_area(ui: &mut egui::Ui, state: &mut RelayState, out: &mut Vec<Command>) {
    let via_hint = state
        .address()
        .map_or_else(|| "host:port".to_string(), |a| a.to_string());
    let send = &mut state.send;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Test message").strong());
        labelled_edit(ui, "To", &mut send.to, 170.0, "user@contoso.com", true);
        labelled_edit(ui, "From", &mut send.from, 170.0, "mailpath@contoso.com", true);
        labelled_edit(ui, "Via", &mut send.via, 150.0, &via_hint, true);
        ui.checkbox(&mut send.tls, "Require TLS");
        let button = ui.add_enabled(!state.sending, egui::Button::new("✉ Send"));
        button.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, !state.sending, "Send test message")
        });
        if button
            .on_hover_text("Send a tracked test message, like mailpath relay send")
            .clicked()
        {
            out.push(Command::SendTestMessage);
        }
        if state.sending {
            ui.spinner();
        }
    });
    if let Some(result) = &state.last_send {
        let (text, status) = match result {
            Ok(r) if r.delivered => (
                format!(
                    "✔ delivered to {} via {} in {} ms{} · tracking id {} · {}",
                    r.to,
                    r.via,
                    r.ms,
                    r.tls.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
                    r.tracking_id,
                    r.reply
                ),
                Status::Pass,
            ),
            Ok(r) => (
                format!(
                    "✖ not delivered to {} via {}: {} · tracking id {}",
                    r.to, r.via, r.reply, r.tracking_id
                ),
                Status::Fail,
            ),
            Err(e) => (format!("✖ {e}"), Status::Fail),
        };
        ui.add(egui::Label::new(RichText::new(text).color(theme::status_color(ui, status))).truncate());
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Sink => "sink",
        Role::Eop => "eop",
        Role::Edge => "edge",
        Role::Mailbox => "mailbox",
    }
}

fn role_hint(role: Role) -> &'static str {
    match role {
        Role::Sink => "Accept and capture everything",
        Role::Eop => {
            "Exchange Online Protection: TLS and a client certificate matching the expected name, or 550 5.7.64"
        }
        Role::Edge => "An Edge Transport server's receive connector",
        Role::Mailbox => "A Mailbox server's Default Frontend receive connector",
    }
}

fn lists(ui: &mut egui::Ui, state: &RelayState, out: &mut Vec<Command>) {
    let half = ((ui.available_height() - 60.0) / 2.0).max(80.0);
    ui.label(RichText::new(format!("Sessions ({})", state.sessions.len())).strong());
    if state.sessions.is_empty() {
        ui.label(RichText::new("No sessions yet: point a sender at the relay.").weak());
    } else {
        ui.push_id("relay-sessions", |ui| {
            ui.set_max_height(half);
            sessions_table(ui, state, half, out);
        });
    }
    ui.add_space(6.0);
    ui.label(RichText::new(format!("Messages ({})", state.messages.len())).strong());
    if state.messages.is_empty() {
        ui.label(RichText::new("No messages yet.").weak());
    } else {
        ui.push_id("relay-messages", |ui| messages_table(ui, state, out));
    }
}

/// A striped, clickable table that follows new rows: one column per title, the first ones taking these
/// fractions of the width and the last one the rest.
fn live_table<'a>(
    ui: &'a mut egui::Ui,
    salt: &str,
    fractions: &[f32],
    titles: &[&str],
    max_height: Option<f32>,
) -> egui_extras::Table<'a> {
    let w = ui.available_width();
    let mut builder = TableBuilder::new(ui)
        .id_salt(salt)
        .striped(true)
        .sense(egui::Sense::click())
        .stick_to_bottom(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    if let Some(h) = max_height {
        builder = builder.max_scroll_height(h);
    }
    for f in fractions {
        builder = builder.column(Column::exact((w * f).max(40.0)).clip(true));
    }
    builder
        .column(Column::remainder().at_least(40.0).clip(true))
        .header(ROW_HEIGHT, |mut header| {
            for title in titles {
                header.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
}

fn sessions_table(ui: &mut egui::Ui, state: &RelayState, height: f32, out: &mut Vec<Command>) {
    let selected = match &state.selected {
        Some(RelaySelection::Session(id)) => Some(id.as_str()),
        _ => None,
    };
    live_table(
        ui,
        "relay-sessions-table",
        &[0.165, 0.13, 0.14, 0.15, 0.175],
        &["Session", "Client", "EHLO", "TLS", "Client certificate", "Status"],
        Some(height),
    )
    .body(|body| {
        body.rows(ROW_HEIGHT, state.sessions.len(), |mut row| {
            let Some(s) = state.sessions.get(row.index()) else {
                return;
            };
            let is_selected = !s.id.is_empty() && selected == Some(s.id.as_str());
            row.set_selected(is_selected);
            let mut clicked = false;
            row.col(|ui| {
                let time = s.started.map(hms).unwrap_or_default();
                let text = if s.id.is_empty() {
                    format!("{time} refused")
                } else {
                    format!("{time} {}", s.id)
                };
                let r = ui.selectable_label(is_selected, text);
                let label = format!("Session {} from {}: {}", s.id, s.peer, s.status_words());
                r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label));
                clicked |= r.clicked();
            });
            row.col(|ui| {
                ui.add(egui::Label::new(&s.peer).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(s.helo.as_deref().unwrap_or("—")).truncate());
            });
            row.col(|ui| {
                let text = s
                    .tls
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |t| format!("{} {}", t.version, t.cipher));
                ui.add(egui::Label::new(text).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(s.cert_words()).truncate());
            });
            row.col(|ui| {
                let words = s.status_words();
                let text = if words.starts_with("refused") {
                    RichText::new(words).color(theme::status_color(ui, Status::Fail))
                } else {
                    RichText::new(words)
                };
                ui.add(egui::Label::new(text).truncate());
            });
            if (clicked || row.response().clicked()) && !s.id.is_empty() {
                out.push(Command::SelectRelay(Some(RelaySelection::Session(s.id.clone()))));
            }
        });
    });
}

fn messages_table(ui: &mut egui::Ui, state: &RelayState, out: &mut Vec<Command>) {
    let selected = match &state.selected {
        Some(RelaySelection::Message(id)) => Some(id.as_str()),
        _ => None,
    };
    live_table(
        ui,
        "relay-messages-table",
        &[0.1, 0.2, 0.21, 0.08, 0.13],
        &["Time", "From", "To", "Size", "Verdict", "Checks"],
        None,
    )
    .body(|body| {
        body.rows(ROW_HEIGHT, state.messages.len(), |mut row| {
            let Some(m) = state.messages.get(row.index()) else {
                return;
            };
            let is_selected = selected == Some(m.id.as_str());
            row.set_selected(is_selected);
            let mut clicked = false;
            row.col(|ui| {
                let r = ui.selectable_label(is_selected, hms(m.received_at));
                let label = format!(
                    "Message {} from {} to {}: {}",
                    m.id,
                    m.mail_from,
                    m.rcpt_to.join(", "),
                    m.verdict.classification.as_str()
                );
                r.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label));
                clicked |= r.clicked();
            });
            row.col(|ui| {
                ui.add(egui::Label::new(&m.mail_from).truncate());
            });
            row.col(|ui| {
                ui.add(egui::Label::new(m.rcpt_to.join(", ")).truncate());
            });
            row.col(|ui| {
                ui.label(size_words(m.size));
            });
            row.col(|ui| {
                let status = verdict_status(&m.verdict);
                let verdict = ui.label(
                    RichText::new(format!(
                        "{} {}",
                        theme::status_icon(status),
                        m.verdict.classification.as_str()
                    ))
                    .color(theme::status_color(ui, status)),
                );
                if !m.verdict.reasons.is_empty() {
                    verdict.on_hover_text(m.verdict.reasons.join("\n"));
                }
            });
            row.col(|ui| {
                ui.add(egui::Label::new(counts_words(&Counts::of(&m.checks))).truncate());
            });
            if clicked || row.response().clicked() {
                out.push(Command::SelectRelay(Some(RelaySelection::Message(m.id.clone()))));
            }
        });
    });
}

fn size_words(size: usize) -> String {
    if size < 10 * 1024 {
        format!("{size} B")
    } else {
        format!("{} KiB", size / 1024)
    }
}

fn detail(ui: &mut egui::Ui, state: &RelayState, now: OffsetDateTime, out: &mut Vec<Command>) {
    let Some(selected) = &state.selected else { return };
    ui.horizontal(|ui| {
        let close = ui.button("×").on_hover_text("Close");
        close.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Close the relay detail"));
        if close.clicked() {
            out.push(Command::SelectRelay(None));
        }
        let title = match selected {
            RelaySelection::Session(id) => format!("Session {id}"),
            RelaySelection::Message(id) => format!("Message {id}"),
        };
        ui.heading(title);
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| match selected {
            RelaySelection::Session(id) => match state.session(id) {
                Some(s) => session_detail(ui, s, now, out),
                None => {
                    ui.label(RichText::new("This session is no longer in the list.").weak());
                }
            },
            RelaySelection::Message(id) => match state.messages.iter().find(|m| &m.id == id) {
                Some(m) => message_detail(ui, m, state.session(&m.session_id), now, out),
                None => {
                    ui.label(RichText::new("This message is no longer in the list.").weak());
                }
            },
        });
}

fn grid(ui: &mut egui::Ui, id: &str, rows: &[(&str, String)]) {
    let width = ui.available_width();
    egui::Grid::new(id)
        .num_columns(2)
        .max_col_width(width * 0.72)
        .spacing([12.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in rows {
                ui.label(RichText::new(*k).weak());
                ui.add(egui::Label::new(v).truncate()).on_hover_text(v);
                ui.end_row();
            }
        });
}

fn tls_words(tls: &TlsInfo) -> String {
    let mut words = format!("{} · {}", tls.version, tls.cipher);
    if let Some(sni) = &tls.sni {
        words.push_str(&format!(" · SNI {sni}"));
    }
    words
}

fn client_cert_ui(ui: &mut egui::Ui, tls: Option<&TlsInfo>, now: OffsetDateTime) {
    ui.add_space(6.0);
    ui.strong("Client certificate");
    let Some(tls) = tls else {
        ui.label(RichText::new("none (no TLS)").weak());
        return;
    };
    if tls.client_chain_der_b64.is_empty() {
        ui.label(RichText::new("none: the client presented no certificate").weak());
        return;
    }
    for (i, cert) in tls
        .client_chain()
        .iter()
        .map(|der| CapturedCert::read(der))
        .enumerate()
    {
        match cert {
            CapturedCert::Parsed(c) => {
                egui::CollapsingHeader::new(format!("#{i} {}", c.short_subject()))
                    .id_salt(("relay-client-cert", i))
                    .default_open(i == 0)
                    .show(ui, |ui| cert_ui(ui, &c, now));
            }
            CapturedCert::Unparsed { reason } => {
                ui.label(RichText::new(format!("#{i}: {reason}")).color(theme::error_color(ui)));
            }
        }
    }
}

fn checks_ui(ui: &mut egui::Ui, checks: &[CheckResult], out: &mut Vec<Command>) {
    ui.add_space(6.0);
    ui.strong(format!("Checks ({})", counts_words(&Counts::of(checks))));
    if checks.is_empty() {
        ui.label(RichText::new("No checks (sessions are judged after STARTTLS, when they close).").weak());
        return;
    }
    let mut sorted: Vec<&CheckResult> = checks.iter().collect();
    sorted.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.id.cmp(&b.id)));
    for c in sorted {
        check_card(ui, c, out);
        ui.add_space(4.0);
    }
}

fn session_detail(ui: &mut egui::Ui, s: &SessionRow, now: OffsetDateTime, out: &mut Vec<Command>) {
    let rows = vec![
        ("Client", s.peer.clone()),
        ("Started", s.started.map(full_time).unwrap_or_default()),
        ("EHLO", s.helo.clone().unwrap_or_else(|| "—".into())),
        ("TLS", s.tls.as_ref().map_or_else(|| "none".into(), tls_words)),
        ("Client certificate", s.cert_words()),
        ("Status", s.status_words()),
        ("Messages", s.messages.to_string()),
        ("Duration", format!("{} ms", s.ms)),
    ];
    grid(ui, "relay-session-grid", &rows);
    if let Some(r) = s.last_refusal() {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!("Last refusal: {r}"))
                    .monospace()
                    .color(theme::status_color(ui, Status::Fail)),
            );
            let explain = ui
                .small_button("Explain")
                .on_hover_text("What this reply means, the hop it belongs to and its causes (Explain view)");
            explain
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, "Explain the refusal"));
            if explain.clicked() {
                out.push(Command::ExplainText(r.to_string(), "the relay's refusal".into()));
            }
        });
    }
    ui.add_space(6.0);
    ui.strong("Transcript");
    if s.closed.is_none() {
        ui.label(RichText::new("The transcript arrives when the session closes.").weak());
    } else {
        let words = s.tls.as_ref().map(tls_words).unwrap_or_default();
        // Long lines scroll sideways rather than widening the pane.
        egui::ScrollArea::horizontal()
            .id_salt("relay-transcript")
            .auto_shrink([false, true])
            .show(ui, |ui| transcript_rows(ui, &s.transcript, &words));
        if s.transcript_dropped > 0 {
            ui.label(RichText::new(format!("({} more lines left out)", s.transcript_dropped)).weak());
        }
    }
    client_cert_ui(ui, s.tls.as_ref(), now);
    checks_ui(ui, &s.checks, out);
}

fn message_detail(
    ui: &mut egui::Ui,
    m: &MessageReport,
    session: Option<&SessionRow>,
    now: OffsetDateTime,
    out: &mut Vec<Command>,
) {
    verdict_ui(ui, &m.verdict);
    ui.add_space(6.0);
    let mut rows = vec![
        ("Received", full_time(m.received_at)),
        ("Session", m.session_id.clone()),
        ("Client", m.peer.clone()),
        ("EHLO", m.helo.clone().unwrap_or_else(|| "—".into())),
        ("From", m.mail_from.clone()),
        ("To", m.rcpt_to.join(", ")),
        ("Subject", m.subject.clone().unwrap_or_else(|| "—".into())),
        ("Size", size_words(m.size)),
        ("TLS", m.tls.clone().unwrap_or_else(|| "none".into())),
        ("Received fields", m.hops.to_string()),
    ];
    if let Some(t) = &m.tracking_id {
        rows.push(("Tracking id", t.clone()));
    }
    grid(ui, "relay-message-grid", &rows);
    match session.and_then(|s| s.tls.as_ref()) {
        Some(tls) => client_cert_ui(ui, Some(tls), now),
        None => {
            ui.add_space(6.0);
            ui.strong("Client certificate");
            let words = match &m.client_cert {
                Some(c) => format!("{} ({})", c.subject, c.names().join(", ")),
                None => "none".into(),
            };
            ui.label(words);
        }
    }
    checks_ui(ui, &m.checks, out);
}
