//! `wss://`: mosquitto with a TLS WebSocket listener and a certificate from
//! a throw-away CA made by the test bed.
