"""The web app hardened (issue 12, finding B): safe redirects, sign-in throttling and lockout, server-side
sessions and cookie attributes, security headers on every response, files readable by their owner only."""

from __future__ import annotations

import re
import shutil
import stat
import threading
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner

import doudi.admin  # noqa: F401 - registers the database commands
from doudi.cli import cli
from engine import signin, users, versions
from engine.store import audit_log, open_db
from web import create_app
from web.db import get_db, init_db
from web.security import CSP, safe_target

PASSWORD = "password-1"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A database with the Hunan pack and three accounts (password 'password-1')."""
    path = tmp_path_factory.mktemp("security") / "template.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "t"})
    init_db(app)
    with app.app_context():
        db = get_db()
        _, pack = versions.pack_of(db)
        users.add_user(db, "test", "xinhua", PASSWORD, "local_officer", "431322", pack=pack)
        users.add_user(db, "test", "caseworker", PASSWORD, "caseworker", "431322", pack=pack)
        users.add_user(db, "test", "admin", PASSWORD, "admin", None, pack=pack)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _app(template: Path, tmp_path: Path, **config):
    shutil.copy(template, tmp_path / "t.db")
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "t",
                       "WTF_CSRF_ENABLED": False} | config)


@pytest.fixture()
def app(template, tmp_path):
    return _app(template, tmp_path)


def _sign_in(app, username: str, password: str = PASSWORD, address: str = "127.0.0.1", **query: str):
    client = app.test_client()
    response = client.post("/login", query_string=query, data={"username": username, "password": password},
                           environ_base={"REMOTE_ADDR": address})
    return client, response


def _signed_in(client) -> bool:
    """Whether the client's cookie still opens a page (an anonymous visitor is sent to /login)."""
    return client.get("/versions/").status_code == 200


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


# -- safe redirects --------------------------------------------------------------------------------

HOSTILE = ["/%09/evil.com", "//evil.com", "/\\evil.com", "\\\\evil.com", "https://evil.com", "%2F%2Fevil.com",
           "/ /evil.com", "/\t/evil.com", "/\n/evil.com", "http:evil.com", "javascript:alert(1)", "///evil.com",
           "/%2F/evil.com", "/%5Cevil.com", "\x00//evil.com", " //evil.com", "evil.com", "/\u3000/evil.com",
           "https:/\\evil.com", "//evil.com/%2F..", "/%0d%0aLocation:%20//evil.com"]


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_never_redirects_off_the_site(app, target):
    # the target as an attacker's link carries it: percent-encoded once in the query string
    client = app.test_client()
    response = client.post("/login?next=" + quote(target, safe="/%:"), data={"username": "xinhua",
                                                                               "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/", (target, location)


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_redirects_off_the_site(app, target):
    response = app.test_client().post("/lang/en", data={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_a_path_of_the_site_is_kept():
    assert safe_target("/parameters/?jurisdiction=431322&draft=2", "/") == "/parameters/?jurisdiction=431322&draft=2"
    assert safe_target("/versions/compare?from=1&to=draft%3A3", "/") == "/versions/compare?from=1&to=draft%3A3"
    for target in HOSTILE + ["", None, "/" + "a" * 3000]:
        assert safe_target(target, "/home") == "/home", target
        split = urlsplit(safe_target(target, "/home"))
        assert not split.netloc and not split.scheme


def test_login_required_sends_back_to_the_page_asked_for(app):
    response = app.test_client().get("/parameters/?jurisdiction=431322")
    assert response.status_code == 302
    client, signed = _sign_in(app, "xinhua", next="/parameters/?jurisdiction=431322")
    assert signed.headers["Location"] == "/parameters/?jurisdiction=431322"


# -- throttling of sign-in -------------------------------------------------------------------------


def test_thirty_quick_wrong_passwords_then_the_right_one_is_refused(app):
    statuses = [_sign_in(app, "xinhua", "wrong-password")[1].status_code for _ in range(30)]
    client, response = _sign_in(app, "xinhua")
    assert response.status_code == 429 and "登录失败次数过多" in response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert not _signed_in(client)
    assert statuses.count(429) >= 25  # a growing wait between attempts: most were not even checked
    with app.app_context():
        checked = audit_log(get_db(), action="sign_in.failed")
    assert len(checked) == statuses.count(200) <= 5


def test_a_locked_account_refuses_its_right_password_until_an_admin_unlocks_it(template, tmp_path):
    app = _app(template, tmp_path, SIGN_IN_BACKOFF=0)
    answers = [_sign_in(app, "xinhua", "wrong-password")[1] for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    assert "用户名或密码错误" in answers[0].text and "15 分钟后再试" in answers[-1].text
    assert _sign_in(app, "xinhua")[1].status_code == 429  # the right password, refused
    with app.app_context():
        locked = audit_log(get_db(), action="sign_in.locked")
    assert [(e["user"], e["object_type"], e["object_id"], e["details"]["failures"]) for e in locked] == [
        ("xinhua", "user", "xinhua", 5)]
    # the same answers for an account that does not exist: nothing tells the two apart
    ghost = [_sign_in(app, "nobody", "wrong-password", address="10.0.0.9")[1] for _ in range(6)]
    assert [r.status_code for r in ghost] == [200, 200, 200, 200, 429, 429]
    def answer(response) -> str:
        return re.sub(r'name="csrf_token"[^>]*', "", response.text)

    assert answer(ghost[-1]).replace("nobody", "xinhua") == answer(_sign_in(app, "xinhua")[1])
    # English too
    english = app.test_client()
    english.post("/lang/en")
    refused = english.post("/login", data={"username": "xinhua", "password": PASSWORD})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text and "min" in refused.text
    # the administrator sees the lock and lifts it
    admin, _ = _sign_in(app, "admin", address="10.0.0.1")
    page = admin.get("/admin/users/xinhua").text
    assert "该账户已被锁定" in page and "解除登录锁定" in page
    assert admin.post("/admin/users/xinhua/unlock").status_code == 302
    assert "该账户已被锁定" not in admin.get("/admin/users/xinhua").text
    client, response = _sign_in(app, "xinhua", address="10.0.0.2")
    assert response.status_code == 302 and _signed_in(client)
    with app.app_context():
        assert [e["user"] for e in audit_log(get_db(), action="sign_in.unlock")] == ["admin"]


def test_a_lock_ends_by_itself_and_the_cli_lifts_one(template, tmp_path):
    app = _app(template, tmp_path, SIGN_IN_BACKOFF=0)
    for _ in range(5):
        _sign_in(app, "xinhua", "wrong-password")
    assert _sign_in(app, "xinhua")[1].status_code == 429
    with app.app_context():  # fifteen minutes later
        get_db().execute("update sign_in_throttle set locked_until = locked_until - 901")
        get_db().conn.commit()
    assert _sign_in(app, "xinhua")[1].status_code == 302
    for _ in range(5):
        _sign_in(app, "xinhua", "wrong-password", address="10.0.0.3")
    assert _sign_in(app, "xinhua", address="10.0.0.4")[1].status_code == 429
    result = CliRunner().invoke(cli, ["users", "unlock", "xinhua", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 0 and "xinhua: unlocked" in result.output
    assert _sign_in(app, "xinhua", address="10.0.0.4")[1].status_code == 302
    result = CliRunner().invoke(cli, ["users", "unlock", "ghost", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 2 and "ghost" in result.output


def test_one_address_trying_many_accounts_is_locked_out(template, tmp_path):
    app = _app(template, tmp_path, SIGN_IN_BACKOFF=0, SIGN_IN_ADDRESS_LIMIT=4)
    for name in ("a1", "a2", "a3", "a4"):
        _sign_in(app, name, "wrong-password", address="10.9.9.9")
    assert _sign_in(app, "xinhua", address="10.9.9.9")[1].status_code == 429
    assert _sign_in(app, "xinhua", address="10.9.9.8")[1].status_code == 302
    with app.app_context():
        locked = audit_log(get_db(), action="sign_in.locked")
    assert [(e["object_type"], e["object_id"]) for e in locked] == [("address", "10.9.9.9")]


def test_behind_a_trusted_proxy_the_clients_address_is_throttled(template, tmp_path):
    app = _app(template, tmp_path, SIGN_IN_BACKOFF=0, SIGN_IN_ADDRESS_LIMIT=2, TRUSTED_PROXIES=1)

    def attempt(client_address: str, password: str) -> int:
        return app.test_client().post("/login", data={"username": "xinhua", "password": password},
                                      headers={"X-Forwarded-For": client_address},
                                      environ_base={"REMOTE_ADDR": "10.0.0.254"}).status_code  # the proxy

    assert [attempt("192.168.1.7", "wrong-password") for _ in range(3)] == [200, 429, 429]
    assert attempt("192.168.1.8", PASSWORD) == 302  # another client behind the same proxy
    with app.app_context():
        assert [e["object_id"] for e in audit_log(get_db(), action="sign_in.locked")] == ["192.168.1.7"]


def test_the_wait_between_attempts_grows_before_the_lock(template, tmp_path):
    policy = signin.Policy()  # the defaults: 5 per account, 20 per address, 1 s backoff
    assert [policy.delay(n, policy.account_limit) for n in range(5)] == [0, 0, 1, 2, 4]
    assert [policy.delay(n, policy.address_limit) for n in (1, 10, 16, 17, 18, 19)] == [0, 0, 0, 1, 2, 4]
    shutil.copy(template, tmp_path / "t.db")
    db = open_db(tmp_path / "t.db")
    waits = []
    for _ in range(5):  # five wrong passwords, each tried as soon as the backoff allows
        wait = signin.begin_attempt(db, "xinhua", "10.1.1.1", policy)  # straight after the last failure
        waits.append(round(wait))
        if wait:
            db.execute("update sign_in_throttle set last_attempt = last_attempt - ?", [wait + 0.01])
            db.conn.commit()
            assert signin.begin_attempt(db, "xinhua", "10.1.1.1", policy) == 0
        signin.attempt_failed(db, "xinhua", "10.1.1.1", policy)
    assert waits == [0, 0, 1, 2, 4]
    assert 899 < signin.begin_attempt(db, "xinhua", "10.1.1.1", policy) <= 900  # the fifth failure locked it
    assert signin.locked_until(db, "xinhua") is not None
    db.conn.close()


def test_concurrent_attempts_check_at_most_the_limit_of_passwords(template, tmp_path):
    shutil.copy(template, tmp_path / "t.db")
    policy = signin.Policy(account_limit=5, backoff=0)
    verdicts: list[float] = []

    def attempt() -> None:
        db = open_db(tmp_path / "t.db")  # a connection of its own, as each request thread or process has
        verdicts.append(signin.begin_attempt(db, "xinhua", "10.1.1.1", policy))
        db.conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(verdicts) == 16 and verdicts.count(0.0) == 5


# -- sessions ----------------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_expires(app):
    _, response = _sign_in(app, "xinhua")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie and "Secure" not in cookie


def test_the_cookie_is_secure_when_configured_by_the_environment(template, tmp_path, monkeypatch):
    shutil.copy(template, tmp_path / "t.db")
    monkeypatch.setenv("DOUDI_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("DOUDI_DATABASE", str(tmp_path / "t.db"))
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/login", base_url="https://localhost")  # its form's token is in the cookie
    assert response.status_code == 200
    assert "Secure" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]


def _replayed(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app):
    client, _ = _sign_in(app, "xinhua")
    cookie = _session_cookie(client)
    assert _signed_in(_replayed(app, cookie))
    client.post("/logout")
    assert not _signed_in(_replayed(app, cookie))
    assert not _signed_in(client)


def test_a_copied_cookie_stops_working_after_a_password_change(app):
    client, _ = _sign_in(app, "xinhua")
    cookie = _session_cookie(client)
    admin, _ = _sign_in(app, "admin")
    assert admin.post("/admin/users/xinhua/password", data={"password": "new-password-2"}).status_code == 302
    assert not _signed_in(_replayed(app, cookie))
    assert _signed_in(admin)  # only that user's sessions end
    assert _sign_in(app, "xinhua", "new-password-2")[1].status_code == 302


@pytest.mark.parametrize("change", ["role", "disable", "cli password"])
def test_a_copied_cookie_stops_working_after_a_role_change_or_disable(app, tmp_path, change):
    client, _ = _sign_in(app, "xinhua")
    cookie = _session_cookie(client)
    other, _ = _sign_in(app, "caseworker")
    with app.app_context():
        db = get_db()
        if change == "role":
            users.set_role(db, "admin", "xinhua", "local_officer", "431300")
        elif change == "disable":
            users.set_active(db, "admin", "xinhua", False)
    if change == "cli password":
        result = CliRunner().invoke(cli, ["users", "password", "xinhua", "--password", "other-pass-3",
                                          "--db", str(tmp_path / "t.db")])
        assert result.exit_code == 0, result.output
    assert not _signed_in(_replayed(app, cookie)) and not _signed_in(client)
    assert _signed_in(other)


def test_a_session_ends_after_its_idle_time_and_its_lifetime(app):
    client, _ = _sign_in(app, "xinhua")
    assert _signed_in(client)
    with app.app_context():
        get_db().execute("update sessions set last_seen = last_seen - 1801")
        get_db().conn.commit()
    assert not _signed_in(client)
    client, _ = _sign_in(app, "xinhua")
    with app.app_context():
        get_db().execute("update sessions set created_at = created_at - 8 * 3600")
        get_db().conn.commit()
    assert not _signed_in(client)


def test_only_a_hash_of_the_session_id_is_stored(app):
    client, _ = _sign_in(app, "xinhua")
    with app.app_context():
        rows = list(get_db().query("select * from sessions"))
    assert len(rows) == 1 and rows[0]["username"] == "xinhua"
    serializer = app.session_interface.get_signing_serializer(app)
    sid = serializer.loads(_session_cookie(client))["sid"]
    assert len(sid) >= 40 and sid not in str(rows) and rows[0]["id_hash"] == signin._hash(sid)


def test_without_a_configured_key_a_random_one_is_kept_beside_the_database(tmp_path):
    data = tmp_path / "data"
    first = create_app({"DATABASE": str(data / "doudi.db")})
    second = create_app({"DATABASE": str(data / "doudi.db")})
    key = data / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key.read_text().strip()
    assert len(first.config["SECRET_KEY"]) == 64 and first.config["SECRET_KEY"] != "dev"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(data.stat().st_mode) == 0o700
    assert create_app({"DATABASE": str(data / "doudi.db"), "SECRET_KEY": "mine"}).config["SECRET_KEY"] == "mine"


# -- headers -----------------------------------------------------------------------------------------

HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin"}


def test_every_kind_of_response_carries_the_security_headers(app):
    client, _ = _sign_in(app, "xinhua")
    responses = {
        "page": client.get("/versions/"),
        "sign-in page": app.test_client().get("/login"),
        "html error": client.get("/drafts/999999"),
        "forbidden page": client.get("/admin/users/"),
        "api": app.test_client().get("/api/v1/openapi.json"),
        "api error": app.test_client().get("/api/v1/versions"),
        "static": app.test_client().get("/static/doudi.css"),
    }
    assert [(k, r.status_code) for k, r in responses.items()] == [
        ("page", 200), ("sign-in page", 200), ("html error", 404), ("forbidden page", 403), ("api", 200),
        ("api error", 401), ("static", 200)]
    for kind, response in responses.items():
        assert {k: response.headers.get(k) for k in HEADERS} == HEADERS, kind
        response.close()
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert [k for k, r in responses.items() if r.headers.get("Cache-Control") != "no-store"] == ["static"]


def test_an_unexpected_failure_page_carries_the_headers_too(template, tmp_path):
    app = _app(template, tmp_path, TESTING=False)

    def fail() -> None:
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", fail)
    response = app.test_client().get("/boom")
    assert response.status_code == 500 and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == CSP


def test_no_template_or_chart_has_inline_script_or_style():
    web = Path(__file__).resolve().parent.parent / "web"
    offending = []
    for path in [*(web / "templates").rglob("*.html"), web / "charts.py"]:  # the pages, and the SVG charts
        text = path.read_text(encoding="utf-8")
        offending += [(path.name, m) for m in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|"
                                                         r"\son[a-z]+=|javascript:", text)]
    assert offending == []


# -- files readable by their owner only ---------------------------------------------------------------


def test_the_database_and_its_wal_files_are_created_0600(tmp_path):
    db = open_db(tmp_path / "new" / "doudi.db")
    db.table("probe").insert({"x": 1})
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "new").iterdir()}
    assert modes == {"doudi.db": 0o600, "doudi.db-wal": 0o600, "doudi.db-shm": 0o600}
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    db.conn.close()


def test_an_existing_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    open_db(path).conn.close()
    path.chmod(0o644)
    open_db(path).conn.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
