"""Routers per audience: the board (viewers, TVs), planning pages (planners, managers), their live streams."""
