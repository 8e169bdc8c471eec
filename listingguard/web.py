"""The review web app: a page on 127.0.0.1 to triage findings, draft and approve notices, follow cases.

Every string on these pages was scraped from a seller's listing, so the page is built to be
hostile-content safe: templates are autoescaped and strict, only http(s) addresses become links,
the Content-Security-Policy lets no script run and nothing load from elsewhere, and files are
served only from inside the workspace's own folders. Being a local server, it also guards against
other sites in the same browser: the Host header must name the loopback address (DNS rebinding),
every state change is a POST carrying the session's CSRF token, and a cross-site POST is
refused. Bound to any other address it needs a token, given once as ``?token=`` (then an
HttpOnly, SameSite=Strict cookie) or as ``Authorization: Bearer``.

The database is opened per request (an SQLite connection belongs to its thread) and closed after.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
)
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
)
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from listingguard.errors import ListingGuardError, NotFound
from listingguard.links import http_url
from listingguard.workspace import Workspace, open_workspace

TEMPLATES = Path(__file__).parent / "templates" / "review"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_COOKIE = "listingguard_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it Chromium sends "Origin: null" with this page's own forms, and
    # the origin check below could not tell them from a sandboxed attacker's. Links out (to the
    # marketplaces) still carry no referrer, here and by rel="noreferrer".
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class ReviewApp(Flask):
    """Flask with the project's template rules: autoescaped whatever the file name, a missing
    variable an error; the pack templates' macros are reachable as ``takedown/...``."""

    jinja_options = {  # noqa: RUF012 (Flask's own class attribute)
        "autoescape": True,
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }

    def create_global_jinja_loader(self) -> BaseLoader:  # type: ignore[override]
        return ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"takedown": PackageLoader("takedown", "templates")}),
            ]
        )


def is_loopback(host: str) -> bool:
    """``host`` (a name or address, as ``--host`` takes it) reaches this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str | None:
    """The name in a Host header without its port (``[::1]:8765`` -> ``::1``); None if malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else rest
    else:
        name, _, port = header.partition(":")
    if not name or (port and not port.isdigit()):
        return None
    return name


def same(given: str, secret: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def workspace() -> Workspace:
    """This request's workspace, opened on first use and closed when the request ends."""
    if "ws" not in g:
        g.ws = open_workspace(current_app.config["LISTINGGUARD_CONFIG"])
    ws: Workspace = g.ws
    return ws


def _authenticated(token: str) -> bool | Response:
    given = request.args.get("token")
    if given is not None and same(given, token):
        if request.method != "GET":
            return True
        # Move the token from the address into a cookie, so it leaves the history and the
        # address bar; the browser then sends it with every request to this page only.
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer ") and same(bearer[7:].strip(), token):
        return True
    return same(request.cookies.get(TOKEN_COOKIE, ""), token)


def _guard(token: str | None, hosts: frozenset[str] | None) -> Response | None:
    """Runs before every request: Host, token, and for a state change its origin and CSRF token."""
    if hosts is not None and host_name(request.headers.get("Host", "")) not in hosts:
        abort(
            400, "this page answers only to 127.0.0.1 or localhost (the Host header named another)"
        )
    if token is not None:
        ok = _authenticated(token)
        if isinstance(ok, Response):
            return ok
        if not ok:
            abort(401, "open the address that `listingguard review` printed, with its ?token=")
    if request.method in SAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        abort(403, f"a request from another site ({site}) cannot change anything here")
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        abort(403, "a request from another origin cannot change anything here")
    sent = request.form.get("csrf", "")
    if "csrf" not in session or not same(sent, str(session["csrf"])):
        abort(
            400,
            "the form's security token is missing or out of date: reload the page and try again",
        )
    return None


def without_token(line: str) -> str:
    """A request line as logged, the ``token`` query parameter's value blanked.

    >>> without_token("GET /?token=s3cret&status=new HTTP/1.1")
    'GET /?token=…&status=new HTTP/1.1'
    """
    return re.sub(r"([?&]token=)[^&\s]*", r"\1…", line)


class QuietTokenHandler(WSGIRequestHandler):
    """Werkzeug's request log, without the access token a first visit carries in its address
    (the log goes to the journal, where a secret must not)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requestline = without_token(self.requestline)
        super().log_request(code, size)


def create_app(config_path: Path, *, token: str | None = None, bind: str = "127.0.0.1") -> Flask:
    """The review app for the workspace of ``config_path``. ``token``: required of every request;
    ``bind``: the address it will serve on (on a loopback one, the Host header is checked)."""
    from listingguard import webnotices, webviews

    app = ReviewApp(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # new at each start: old sessions and forms lapse
        SESSION_COOKIE_NAME="listingguard_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=256 * 1024,
        LISTINGGUARD_CONFIG=Path(config_path),
    )
    # On loopback the Host must name it (the address it is bound to, say 127.0.0.2, included):
    # a page of another site whose name was made to resolve to 127.0.0.1 sends its own name.
    hosts = LOOPBACK_NAMES | {bind.strip("[]").lower()} if is_loopback(bind) else None
    app.before_request(lambda: _guard(token, hosts))
    app.jinja_env.globals.update(csrf_token=csrf_token)
    app.jinja_env.filters["web_url"] = http_url

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        ws = g.pop("ws", None)
        if ws is not None:
            ws.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html.j2", code=exc.code, name=exc.name,
                               message=exc.description or ""), exc.code or 500  # fmt: skip

    @app.errorhandler(ListingGuardError)
    def _error(exc: ListingGuardError) -> tuple[str, int]:
        code = 404 if isinstance(exc, NotFound) else 500
        name = "Not found" if code == 404 else "The workspace cannot be used"
        return render_template("error.html.j2", code=code, name=name, message=str(exc)), code

    app.register_blueprint(webviews.views)
    app.register_blueprint(webnotices.views)
    return app
