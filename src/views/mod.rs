//! The views, one component per file.

mod commands;
mod connect;
mod dashboard;
mod explorer;
mod netio_flex;
mod profiles;
mod status;
mod theme;

pub use commands::CommandLog;
pub use connect::ConnectPanel;
pub use dashboard::DashboardView;
pub use explorer::ExplorerView;
pub use netio_flex::NetioFlexGenerator;
pub use profiles::ProfilesPanel;
pub use status::StatusBadge;
pub use theme::ThemeToggle;

/// "3 s ago", "2 min ago", "1 h ago".
pub(crate) fn ago(ms: u64) -> String {
    let s = ms / 1_000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3_599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3_600),
    }
}
