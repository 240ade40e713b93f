"""MQTT -> Kafka bridge that loses nothing: QoS 1, persistent session, ack only after Kafka has the message."""
