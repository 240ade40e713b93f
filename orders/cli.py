"""``shopfloor orders serve``: the order hub (API, channel webhooks, outbox publisher)."""

from __future__ import annotations

import logging

import typer

app = typer.Typer(help="The order hub: orders API, channel webhooks, approvals, work orders.", no_args_is_help=True)


@app.command()
def serve() -> None:
    """Serve the API on SHOPFLOOR_ORDERS_HTTP_HOST:HTTP_PORT and publish order events to Kafka."""
    from orders.service import serve as run
    from orders.settings import OrdersSettings
    from shopfloor.settings import KafkaSettings, PostgresSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(OrdersSettings(), PostgresSettings(), KafkaSettings())


@app.command()
def check() -> None:
    """Load the plant and the hub config named by the settings, and say what they declare."""
    from orders.config import load_config
    from orders.settings import OrdersSettings
    from shopfloor.plant import load_plant

    settings = OrdersSettings()
    plant = load_plant(settings.plant)
    config = load_config(settings.config)
    typer.echo(
        f"{plant.site_id}: {len(plant.products)} products, {len(plant.customers)} customers; "
        f"{len(config.custom_fields)} custom fields, {len(config.approval_rules)} approval rules, "
        f"channels: {', '.join(config.channels) or 'none'}"
    )
