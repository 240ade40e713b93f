"""Sales channels posting their own JSON: per-channel mappings (YAML) onto orders."""

from orders.channels.mapping import CHANNELS_DIR, FieldRule, Mapping, load_mapping, lookup

__all__ = ["CHANNELS_DIR", "FieldRule", "Mapping", "load_mapping", "lookup"]
