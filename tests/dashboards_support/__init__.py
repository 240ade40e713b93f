"""Support for the dashboard tests: a PostgreSQL of their own, fixture rows, a served app."""
