//! The views, one component per file.

mod connect;
mod dashboard;
mod status;

pub use connect::ConnectPanel;
pub use dashboard::DashboardView;
pub use status::StatusBadge;
