"""The plant simulator: a pure discrete-event core (model, troubles) and a thin runner publishing over MQTT."""
