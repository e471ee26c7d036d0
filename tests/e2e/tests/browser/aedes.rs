//! aedes: a real MQTT 3.1.1-only broker, as a second broker besides mosquitto.
