"""``bus users ...``: the front door's accounts and API tokens; ``bus dashboard``: the front door itself.

Whoever can run these commands can write the account file (``DASHBOARD_DATADIR``, ``var/dashboard`` by
default): that file's permissions are the administrators' list. Passwords are typed at a hidden prompt
(twice) or given on stdin with ``--password-stdin``; never as an argument, which the shell history and the
process list keep. An API token is printed once, on stdout; only its digest is kept.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from services.dashboard.accounts import AccountError, Passwords, Role
from services.dashboard.settings import DashboardSettings
from services.dashboard.users import UserStore

users_app = typer.Typer(help="The front door's accounts and API tokens.", no_args_is_help=True)

ROLES = {role.value.lower().replace("_", "-"): role for role in Role}


def open_store(settings: DashboardSettings | None = None) -> UserStore:
    """The account store the front door uses, with its password-hashing cost."""
    settings = settings or DashboardSettings()
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    return UserStore(settings.users_db, passwords)


def refused(exc: AccountError) -> typer.Exit:
    """Print why on stderr and give the Exit (2) to raise."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def read_password(*, from_stdin: bool) -> str:
    """A new password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="2-48 lower-case letters, digits, '.', '-', '_'")],
    *,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    office: Annotated[
        str | None,
        typer.Option(help="The office code an office officer (or an office's API client) is limited to"),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line")
    ] = False,
) -> None:
    """Add an account. A person's account needs a password; an API client's gets tokens (bus users token)."""
    if role not in ROLES:
        typer.echo(f"error: --role must be one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    chosen = ROLES[role]
    try:
        password = read_password(from_stdin=password_stdin) if chosen is not Role.API_CLIENT else None
        account = open_store().add(username, chosen, office=office, password=password)
    except AccountError as exc:
        raise refused(exc) from None
    typer.echo(f"added {account.username} ({account.role.value}, scope {account.scope})")


@users_app.command("list")
def users_list() -> None:
    """Every account: role, scope, whether disabled, how many live tokens."""
    store = open_store()
    live: dict[str, int] = {}
    for token in store.tokens():
        if not token.revoked:
            live[token.username] = live.get(token.username, 0) + 1
    typer.echo(f"{'username':<24} {'role':<15} {'scope':<22} {'status':<9} tokens")
    for account in store.accounts():
        state = "disabled" if account.disabled else "active"
        typer.echo(
            f"{account.username:<24} {account.role.value:<15} {account.scope:<22} {state:<9} "
            f"{live.get(account.username, 0)}"
        )


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="The account to disable")]) -> None:
    """Disable an account: its sessions end and its tokens are refused at once."""
    try:
        open_store().disable(username)
    except AccountError as exc:
        raise refused(exc) from None
    typer.echo(f"disabled {username}: its sessions ended, its tokens are refused")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="The account the token acts as")],
    label: Annotated[str, typer.Option(help="What the token is for (shown in lists)")] = "",
) -> None:
    """Issue an API token: printed once on stdout (keep it secret); revoke it with bus users revoke."""
    try:
        info, secret = open_store().issue_token(username, label)
    except AccountError as exc:
        raise refused(exc) from None
    typer.echo(f"token {info.token_id} for {username}; it is shown only this once:", err=True)
    typer.echo(secret)


@users_app.command("tokens")
def users_tokens(
    username: Annotated[str | None, typer.Argument(help="Only this account's")] = None,
) -> None:
    """API tokens (their ids, never their secrets), newest first."""
    for token in open_store().tokens(username):
        state = "revoked" if token.revoked else "live"
        typer.echo(
            f"{token.token_id}  {token.username:<24} {state:<8} "
            f"{token.created_at:%Y-%m-%d %H:%M}  {token.label}"
        )


@users_app.command("revoke")
def users_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (bus users tokens)")]) -> None:
    """Revoke an API token: refused from its next use on."""
    try:
        info = open_store().revoke_token(token_id)
    except AccountError as exc:
        raise refused(exc) from None
    typer.echo(f"revoked token {info.token_id} of {info.username}")


def dashboard() -> None:
    """Run the front door (the authenticated API and the dashboard page, its figures read live from the
    bus) with uvicorn on DASHBOARD_HOST:DASHBOARD_PORT.
    """
    import uvicorn

    from services.bus.logs import configure_logging
    from services.bus.settings import get_settings
    from services.dashboard.app import build_app
    from services.dashboard.live import attach, feed_for

    configure_logging()
    settings = DashboardSettings()
    bus = get_settings()
    app = build_app(settings, bus)
    board, feed = feed_for(bus, settings.processors)
    attach(app, board, feed)
    # open live streams (the page's server-sent events) would otherwise hold a shutdown for minutes
    uvicorn.run(app, host=settings.host, port=settings.port, proxy_headers=False, timeout_graceful_shutdown=5)
