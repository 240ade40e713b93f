"""Helpers of the order hub's tests: the app over a test schema, an in-process client, tokens per role."""
