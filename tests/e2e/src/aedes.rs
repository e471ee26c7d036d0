//! aedes (npm), a real MQTT 3.1.1-only broker with a WebSocket listener.
