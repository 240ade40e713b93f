"""shopfloor streams."""
