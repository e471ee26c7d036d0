//! A throw-away certificate authority and a mosquitto TLS WebSocket
//! listener, for the `wss://` tests.
