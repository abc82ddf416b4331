//! Whether the desktop app can open a window here. On Windows and macOS a desktop session always has one;
//! elsewhere (X11, Wayland) the session names its display in `DISPLAY` or `WAYLAND_DISPLAY`, and without
//! either winit can only fail, so `mailpath` says what to run instead.

use std::ffi::OsString;

/// Whether the environment names an X11 or Wayland display (the Unix rule; tested on every platform).
pub fn display_named(var: impl Fn(&str) -> Option<OsString>) -> bool {
    ["WAYLAND_DISPLAY", "DISPLAY"]
        .iter()
        .any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

/// Whether a window can be opened in this session.
#[cfg(any(windows, target_os = "macos"))]
pub fn available() -> bool {
    true
}

/// Whether a window can be opened in this session.
#[cfg(not(any(windows, target_os = "macos")))]
pub fn available() -> bool {
    display_named(|name| std::env::var_os(name))
}

/// What to say when there is no display: the command that does the same work on a terminal.
pub fn no_display_message(profile: Option<&std::path::Path>, lab: Option<&str>) -> String {
    format!(
        "no display: use `mailpath diagnose {}` (or set DISPLAY / WAYLAND_DISPLAY for the desktop app)",
        target_args(profile, lab)
    )
}

/// What to say when this binary was built without the desktop app (`--no-default-features`).
pub fn no_gui_message(profile: Option<&std::path::Path>, lab: Option<&str>) -> String {
    format!(
        "this mailpath was built without the desktop app: use `mailpath diagnose {}` (or build it with \
         `cargo build --features gui`)",
        target_args(profile, lab)
    )
}

fn target_args(profile: Option<&std::path::Path>, lab: Option<&str>) -> String {
    match (profile, lab) {
        (Some(p), _) => format!("--profile {}", p.display()),
        (None, Some(l)) => format!("--lab {l}"),
        (None, None) => "--profile FILE".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_is_named_by_display_or_wayland_display() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert!(!display_named(env(&[])));
        assert!(!display_named(env(&[("DISPLAY", "")])));
        assert!(display_named(env(&[("DISPLAY", ":0")])));
        assert!(display_named(env(&[("WAYLAND_DISPLAY", "wayland-0")])));
        assert_eq!(
            no_display_message(None, Some("expired-cert")),
            "no display: use `mailpath diagnose --lab expired-cert` (or set DISPLAY / WAYLAND_DISPLAY for the desktop app)"
        );
        assert_eq!(
            no_gui_message(Some(std::path::Path::new("contoso.toml")), None),
            "this mailpath was built without the desktop app: use `mailpath diagnose --profile contoso.toml` \
             (or build it with `cargo build --features gui`)"
        );
    }
}
