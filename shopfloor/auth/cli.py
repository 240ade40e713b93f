"""``shopfloor auth``: create, list and revoke API tokens (stored hashed in ``api_token``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopfloor.auth.roles import Role, Scope
from shopfloor.auth.tokens import create_token, list_tokens, revoke_token
from shopfloor.db.pool import connect
from shopfloor.settings import PostgresSettings

app = typer.Typer(help="API tokens with roles, for every HTTP service.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what holds it, e.g. 'tv-heading-hall' or 'alice'.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    customer: Annotated[str | None, typer.Option(help="Limit to one customer's data (portals).")] = None,
    supplier: Annotated[str | None, typer.Option(help="Limit to one supplier's data (portals).")] = None,
    line: Annotated[str | None, typer.Option(help="Limit to one line (operators' devices).")] = None,
) -> None:
    """Print a new token. It is shown only this once; only its hash is stored."""
    with connect(PostgresSettings()) as conn:
        token = create_token(conn, name, role, Scope(customer_id=customer, supplier_id=supplier, line=line))
        conn.commit()
    typer.echo(token)


@token_app.command("list")
def list_() -> None:
    """Every token: id, name, roles, scope, revoked."""
    table = Table("id", "name", "roles", "scope", "revoked")
    with connect(PostgresSettings()) as conn:
        for stored, revoked in list_tokens(conn):
            p = stored.principal
            scope = ", ".join(
                f"{k}={v}"
                for k, v in (
                    ("customer", p.scope.customer_id),
                    ("supplier", p.scope.supplier_id),
                    ("line", p.scope.line),
                )
                if v
            )
            table.add_row(stored.token_id, p.name, ",".join(sorted(p.roles)), scope, "yes" if revoked else "")
    Console().print(table)


@token_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The id from `shopfloor auth token list`.")]) -> None:
    """Revoke a token (services notice within their cache time, 30 s by default)."""
    with connect(PostgresSettings()) as conn:
        done = revoke_token(conn, token_id)
        conn.commit()
    if not done:
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
