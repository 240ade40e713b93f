"""The rescheduler service: triggers from Kafka, replans from the database, plans, diffs and alerts.

Public API: :func:`serve` (the ``shopfloor schedule serve`` command) and :class:`ReschedulerService`
(run it in a thread with a stop event, as the end-to-end tests do).
"""

from rescheduler.service.runner import ReschedulerService, serve
from rescheduler.settings import ReschedulerSettings

__all__ = ["ReschedulerService", "ReschedulerSettings", "serve"]
