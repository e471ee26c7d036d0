//! NETIO MQTT-flex configuration: generated for the dashboard's topic
//! scheme, validated before it is offered. (Being written.)
