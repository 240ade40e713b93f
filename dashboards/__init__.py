"""shopfloor dashboards."""
