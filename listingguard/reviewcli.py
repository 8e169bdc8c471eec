"""``listingguard review``: serve the review page (``listingguard.web``) until Ctrl-C.

Flask is imported only when someone reviews, so the other commands start without it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from listingguard.cli import cli, config_option
from listingguard.errors import ListingGuardError
from listingguard.workspace import open_workspace


def _token(host: str, token_env: str | None, generate: bool) -> str | None:
    """The token every request must carry, or None; refuses an open address without one."""
    from listingguard.web import is_loopback

    if token_env and generate:
        raise click.UsageError("pass --token-env or --generate-token, not both")
    if token_env:
        value = os.environ.get(token_env, "").strip()
        if len(value) < 16:
            raise ListingGuardError(
                f"--token-env {token_env}: the variable is unset or shorter than 16 characters "
                "(e.g. export REVIEW_TOKEN=\"$(python -c 'import secrets; print(secrets.token_urlsafe())')\")"
            )
        return value
    if generate:
        return secrets.token_urlsafe(24)
    if not is_loopback(host):
        raise ListingGuardError(
            f"--host {host} is not a loopback address: anyone who reaches it could review "
            "findings and approve notices. Pass --token-env NAME (a secret in that environment "
            "variable) or --generate-token, or serve on --host 127.0.0.1."
        )
    return None


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The port to serve on (0: any free port).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to serve on; any but loopback needs a token.")  # fmt: skip
@click.option("--token-env", metavar="NAME",
              help="Require the token held by this environment variable of every request.")  # fmt: skip
@click.option("--generate-token", is_flag=True,
              help="Require a new random token of every request; the address printed carries it.")  # fmt: skip
@config_option
def review(
    port: int, host: str, token_env: str | None, generate_token: bool, config_path: Path
) -> None:
    """Open the review page: triage new findings (with their evidence), confirm or dismiss
    them, allow a seller, draft notices from confirmed findings, approve them, download
    notices and evidence packs, and follow cases and their deadlines.

    It serves on 127.0.0.1 only, unless a token is required (--token-env or --generate-token);
    the first visit with ?token= keeps it in a cookie. Nothing is sent to any platform from
    the page. Ctrl-C stops it.

    \b
    Example:
      listingguard review
      listingguard review --port 9000 --config demo/config.toml
      REVIEW_TOKEN=... listingguard review --host 0.0.0.0 --token-env REVIEW_TOKEN
    """
    from werkzeug.serving import make_server

    from listingguard.web import QuietTokenHandler, create_app

    token = _token(host, token_env, generate_token)
    open_workspace(config_path).close()  # a broken config or database fails here, not per page
    app = create_app(config_path, token=token, bind=host)
    try:
        server = make_server(host, port, app, threaded=True, request_handler=QuietTokenHandler)
    except OSError as exc:
        raise ListingGuardError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    url = f"http://{_shown(host)}:{server.server_port}/"
    if token and generate_token:
        url += f"?token={token}"
    elif token:
        url += f"?token=${token_env}"
    click.echo(f"Review page: {url}")
    if host in ("0.0.0.0", "::"):
        click.echo(
            "(on every address of this machine: open it with this machine's name or address)"
        )
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo("Stopped.", err=True)
