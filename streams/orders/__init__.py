"""The order processor (faust): orders, work orders, load, order pool, OTD, learned standard times.

The faust app is imported lazily: the pure modules (progress, load, stdtime) are used by
``streams.bottleneck`` and by unit tests without pulling in faust and aiokafka.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.orders.settings import OrdersStreamSettings

if TYPE_CHECKING:
    from streams.orders.app import OrdersProcessor, make_processor

__all__ = ["OrdersProcessor", "OrdersStreamSettings", "make_processor"]


def __getattr__(name: str) -> Any:
    if name in ("OrdersProcessor", "make_processor"):
        from streams.orders import app

        return getattr(app, name)
    raise AttributeError(name)
