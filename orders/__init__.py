"""shopfloor orders."""
