"""The local stack: Kafka, PostgreSQL and Mosquitto run from a private state directory."""
