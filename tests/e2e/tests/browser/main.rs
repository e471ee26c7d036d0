//! End to end: the trunk-built app in headless Chromium, a real mosquitto
//! and devsim, all on 127.0.0.1 with free ports.
//!
//! Run through `cargo xtask test`, which builds `dist/` and devsim first.
//! On failure each test leaves a screenshot and the browser console log in
//! `target/e2e/<test>/`.

mod harness;

mod aedes;
mod basics;
mod devices;
mod devsim;
mod doctor;
mod ecosystems;
mod explorer;
mod hosting;
mod look;
mod profiles;
mod publish;
mod tls;
