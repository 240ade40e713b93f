"""The PLC gateway: Modbus pollers and OPC UA subscribers publishing machine state, counters and values."""

from edge.plc.config import GatewayConfig, load_config

__all__ = ["GatewayConfig", "load_config"]
