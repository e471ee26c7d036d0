//! The views, one component per file.

mod connect;
mod dashboard;
mod profiles;
mod status;

pub use connect::ConnectPanel;
pub use dashboard::DashboardView;
pub use profiles::ProfilesPanel;
pub use status::StatusBadge;
