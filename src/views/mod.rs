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
