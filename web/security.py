"""What every response and every redirect share: security headers, safe redirect targets, the secret key.

Config keys (defaults in ``create_app``): ``SESSION_COOKIE_SECURE`` (set ``DOUDI_SESSION_COOKIE_SECURE=true``
when the editor is served over TLS), ``TRUSTED_PROXIES`` (how many reverse proxies stand in front of
the server: their ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are then believed, so that throttling
sees the client's address), ``SECRET_KEY`` (when not set, a random key kept in ``secret_key`` beside
the database, created readable by its owner only).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, request

# self only, no inline script or style (the pages' scripts are files under web/static/)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def safe_target(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: for redirects whose target comes from a request.

    Refused: anything with a scheme or a host (``https://x``, ``//x``), backslashes (``/\\x``, which browsers
    read as ``//x``), control characters or whitespace (``/\\t/x``: browsers drop the tab), and paths that
    become one of these once percent-decoded.
    """
    if not target or len(target) > 2000:
        return default
    path = urlsplit(target).path
    for text in (target, unquote(path)):
        if "\\" in text or any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
            return default
        parts = urlsplit(text)
        if parts.scheme or parts.netloc or not text.startswith("/") or text.startswith("//"):
            return default
    return target


def secret_key(folder: Path) -> str:
    """The key in ``folder/secret_key``, made once (random, 0600) when there is none."""
    path = folder / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"  # nothing a signed-in user saw stays in a cache
    return response


def init_app(app: Flask) -> None:
    """The headers on every response (pages, API, errors), the secret key, and the proxies to trust."""
    if not app.config.get("SECRET_KEY"):
        database = str(app.config.get("DATABASE") or "")
        folder = Path(database).resolve().parent if database and database != ":memory:" else Path(app.instance_path)
        app.config["SECRET_KEY"] = secret_key(folder)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.after_request(_headers)
