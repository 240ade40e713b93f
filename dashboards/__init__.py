"""shopfloor dashboards: the live load board, Gantt, machine and order pages (FastAPI + Jinja2, ECharts, SSE)."""

from dashboards.app import make_app
from dashboards.settings import DashboardSettings

__all__ = ["DashboardSettings", "make_app"]
