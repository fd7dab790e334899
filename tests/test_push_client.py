"""The push client's own rules, without a server: the server URL and token settings (checked
where they enter, the token never shown in full), backoff with jitter, which failures are
retried, how HTTP answers become errors (against a stdlib HTTP double standing in for
the server's failure modes), and ``wattprint push`` without a server. The end-to-end
behaviour against the real server is in ``test_push_server.py``."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from typing import Any, Iterator

import pytest

from _cli import assert_clean_error, cli_env, wp
from wattprint.config import load_config
from wattprint.errors import ConfigError, PushError
from wattprint.push import RetryPolicy, mask_token, server_url
from wattprint.push._http import backoff_s, post_json, post_with_retries

TOKEN = "wpt_" + "s3cr3t" * 6


@pytest.mark.parametrize("given, expected", [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("  https://WattPrint.Example.ORG/  ", "https://wattprint.example.org"),
    ("http://h.example:80/team/wattprint/", "http://h.example/team/wattprint"),
    ("https://h.example:443", "https://h.example"),
    ("http://[::1]:9000/x", "http://[::1]:9000/x"),
])
def test_server_urls_are_normalised(given: str, expected: str) -> None:
    assert server_url(given) == expected


@pytest.mark.parametrize("bad, why", [
    ("ftp://h.example", "scheme"), ("h.example:8000", "scheme"),
    ("http://user:pw@h.example", "no user or password"), ("http://h.example/?q=1", "query"),
    ("http://h.example/#top", "fragment"), ("http://h.example:99999", "URL"),
    ("http://bad_host!/", "host"), ("http:///path", "host"), ("", "empty"),
])
def test_bad_server_urls_are_refused_with_the_rule(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        server_url(bad)


def test_settings_from_environment_and_masked_everywhere(tmp_path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "WATTPRINT_SERVER": "HTTP://Team.Example:8080/",
           "WATTPRINT_TOKEN": TOKEN}
    config = load_config(env=env, cwd=str(tmp_path))
    assert config.server == "http://team.example:8080" and config.token == TOKEN
    shown = json.dumps(config.as_dict())
    assert TOKEN not in shown and "wpt_" in shown and str(len(TOKEN)) in shown
    with pytest.raises(ConfigError, match="WATTPRINT_SERVER") as err:
        load_config(env={**env, "WATTPRINT_SERVER": "team.example"}, cwd=str(tmp_path))
    assert "http(s)://host[:port][/path]" in str(err.value)
    bad = "wpt_ok_but has spaces " + "x" * 20
    with pytest.raises(ConfigError, match="WATTPRINT_TOKEN") as err:
        load_config(env={**env, "WATTPRINT_TOKEN": bad}, cwd=str(tmp_path))
    assert bad not in str(err.value) and "has spaces" not in str(err.value)
    assert err.value.value != bad


def test_config_command_never_prints_the_token(tmp_path) -> None:
    env = cli_env(tmp_path, WATTPRINT_SERVER="http://127.0.0.1:1", WATTPRINT_TOKEN=TOKEN)
    for args in (("config",), ("config", "--json")):
        proc = wp(tmp_path, *args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert TOKEN not in proc.stdout + proc.stderr and "s3cr3t" not in proc.stdout
        assert "http://127.0.0.1:1" in proc.stdout
    proc = wp(tmp_path, "push", "--token", "short", env=env)
    assert_clean_error(proc, "--token", "8 to 512 characters")


def test_mask_token_shows_only_the_kind_and_length() -> None:
    assert mask_token(TOKEN) == f"wpt_… ({len(TOKEN)} characters)"
    assert mask_token("abcdefgh") == "… (8 characters)"  # too short to show any of it
    assert mask_token(None) == "(not set)"


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_s=0.5, factor=2.0, cap_s=4.0)
    assert [backoff_s(policy, n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [
        0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff_s(policy, 3, rng=lambda: 0.0) == 0.0  # full jitter: anywhere below
    assert backoff_s(policy, 1, rng=lambda: 0.5, retry_after_s=3.0) == 3.0  # Retry-After
    assert backoff_s(policy, 1, rng=lambda: 0.5, retry_after_s=600) == 4.0  # capped


class _Script:
    """A fake ``post``: answers from a list (an exception or a (status, answer))."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, server: str, token: str, body: bytes, *, timeout_s: float) -> Any:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _err(reason: str, status: int | None = None) -> PushError:
    return PushError(reason, server="http://s", reason=reason, status=status)


def test_retries_the_failures_that_may_pass_and_not_the_others() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base_s=0.1)
    post = _Script(_err("unreachable"), _err("server", 503), (201, {"complete": True}))
    assert post_with_retries("http://s", TOKEN, b"{}", policy, sleep=waits.append,
                             post=post) == (201, {"complete": True})
    assert post.calls == 3 and len(waits) == 2 and all(0 <= w <= 0.2 for w in waits)
    for reason, status in (("token", 401), ("rejected", 422), ("too_large", 413),
                           ("forbidden", 403)):
        post = _Script(_err(reason, status), (201, {}))
        with pytest.raises(PushError) as err:
            post_with_retries("http://s", TOKEN, b"{}", policy, sleep=waits.append, post=post)
        assert err.value.reason == reason and post.calls == 1  # not retried
    post = _Script(*[_err("unreachable")] * 5)
    with pytest.raises(PushError, match="unreachable"):
        post_with_retries("http://s", TOKEN, b"{}", policy, sleep=waits.append, post=post)
    assert post.calls == 4  # attempts
    # a deadline: no retry whose wait would end past it
    post = _Script(*[_err("unreachable")] * 5)
    with pytest.raises(PushError):
        post_with_retries("http://s", TOKEN, b"{}",
                          RetryPolicy(attempts=10, base_s=100.0, cap_s=100.0, deadline_s=1.0),
                          sleep=waits.append, post=post)
    assert post.calls <= 2


class _Double(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next (status, body, headers) of ``server.script``."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        status, body, headers = self.server.script.pop(0)  # type: ignore[attr-defined]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def double() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Double)
    server.script, server.seen = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_http_answers_become_errors_with_their_reason(double) -> None:
    url = _url(double)
    detail = json.dumps({"detail": "run.energy_j: must be >= 0"}).encode()
    double.script += [
        (201, b'{"id": "x", "complete": true}', {}),
        (401, b'{"detail": "bad token"}', {}),
        (422, detail, {}),
        (413, b"too big", {}),
        (503, b"", {"Retry-After": "7"}),
        (200, b"<html>not the API</html>", {}),
        (302, b"", {"Location": "http://elsewhere.example/steal"}),
    ]
    assert post_json(url, TOKEN, b"{}", timeout_s=5) == (201, {"id": "x", "complete": True})
    assert double.seen[0]["Authorization"] == f"Bearer {TOKEN}"
    assert double.seen[0]["Content-Type"] == "application/json"
    expected = [("token", "token refused: check WATTPRINT_TOKEN"),
                ("rejected", "run.energy_j: must be >= 0"), ("too_large", "HTTP 413"),
                ("server", "HTTP 503"), ("not_found", "not the wattprint API"),
                ("not_found", "redirects (HTTP 302 to http://elsewhere.example/steal)")]
    for reason, text in expected:
        with pytest.raises(PushError) as err:
            post_json(url, TOKEN, b"{}", timeout_s=5)
        assert err.value.reason == reason and text in str(err.value)
        assert TOKEN not in str(err.value)
        if reason == "server":
            assert err.value.retry_after_s == 7.0 and err.value.retryable
    assert len(double.seen) == 7  # the redirect was not followed (the token stays here)


def test_connection_refused_says_unreachable_and_the_outbox_keeps_the_runs() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(PushError) as err:
        post_json(url, TOKEN, b"{}", timeout_s=5)
    assert str(err.value) == (f"server unreachable at {url}: the runs stay in the outbox; "
                              "run `wattprint push` later")
    assert err.value.reason == "unreachable" and err.value.retryable


def test_push_without_a_server_is_a_clean_usage_error(tmp_path) -> None:
    proc = wp(tmp_path, "push")
    assert_clean_error(proc, "no team server configured", "WATTPRINT_SERVER")
    proc = wp(tmp_path, "push", "--server", "ftp://x")
    assert_clean_error(proc, "--server 'ftp://x'", "http(s)://host[:port][/path]")
    env = cli_env(tmp_path, WATTPRINT_SERVER="http://127.0.0.1:1")
    proc = wp(tmp_path, "push", env=env)  # nothing recorded: nothing to push, no token needed
    assert proc.returncode == 0 and "nothing to push" in proc.stdout, proc.stderr


def test_the_automatic_push_never_blocks_the_program(tmp_path, monkeypatch, capsys) -> None:
    """A server that accepts connections and never answers: ``stop()`` returns at once
    with the push still waiting in its thread; the wait at exit is bounded, says in one
    line that the run stays in the outbox, and the run does."""
    from wattprint import track
    from wattprint.ledger import Ledger
    from wattprint.push import _auto
    from wattprint.testing import FakeSensor

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # connections complete in the kernel; nothing ever reads them
    url = f"http://127.0.0.1:{hole.getsockname()[1]}"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("WATTPRINT_SERVER", url)
    monkeypatch.setenv("WATTPRINT_TOKEN", TOKEN)
    path = str(tmp_path / "ledger.db")
    try:
        with track("never-blocked", sensors=[FakeSensor(20.0)], ledger=path) as run:
            pass
        (job,) = [j for j in _auto._jobs if j.run_id == run.result.run_id]
        assert job.outcome is None  # stop() returned; the push still waits for the server
        assert _auto._worker is not None and _auto._worker.is_alive()
        assert _auto.wait(0.2) == [(run.result.run_id, None)]
        err = capsys.readouterr().err
        assert (f"wattprint: run {run.result.run_id} not pushed to {url} (no answer "
                "within 0.2 s); it stays in the outbox: run `wattprint push` later") in err
        assert TOKEN not in err
        with Ledger(path) as ledger:
            assert ledger.waiting(url) == [run.result.run_id]
        assert _auto.wait(5.0) == []  # a push that timed out is not waited for again
    finally:
        hole.close()


def test_no_server_configured_means_no_push_and_no_thread(tmp_path, monkeypatch) -> None:
    from wattprint import track
    from wattprint.push import _auto
    from wattprint.testing import FakeSensor

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("WATTPRINT_SERVER", raising=False)
    monkeypatch.setenv("WATTPRINT_TOKEN", TOKEN)  # a token alone pushes nothing
    before = list(_auto._jobs)
    with track("local-only", sensors=[FakeSensor(20.0)], ledger=str(tmp_path / "l.db")):
        pass
    assert _auto._jobs == before and not _auto._queue


def test_runs_of_a_loop_that_cannot_be_pushed_say_so_in_one_line(tmp_path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    script = ("import wattprint\n"
              "from wattprint.testing import FakeSensor\n"
              "for k in range(3):\n"
              "    with wattprint.track(f'step{k}', sensors=[FakeSensor(5.0)], ledger=True):\n"
              "        pass\n"
              "print('done')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=cli_env(tmp_path, WATTPRINT_SERVER=url, WATTPRINT_TOKEN=TOKEN),
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0 and proc.stdout == "done\n", proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("wattprint: 3 runs (") and f"not pushed to {url} (" in lines[0]
    assert lines[0].endswith("they stay in the outbox: run `wattprint push` later")
    from wattprint.ledger import Ledger

    with Ledger(str(tmp_path / "ledger.db"), readonly=True) as ledger:
        assert len(ledger.waiting(url)) == 3


def test_https_with_an_untrusted_certificate_then_trusted_by_ssl_cert_file(
        tmp_path, monkeypatch) -> None:
    """A real TLS server (stdlib, self-signed certificate for 127.0.0.1 made by openssl):
    refused with a line naming SSL_CERT_FILE, not retried; trusted once it is set."""
    import shutil
    import ssl

    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed: apt-get install openssl"
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Double)
    server.script = [(201, b'{"complete": true}', {})]  # type: ignore[attr-defined]
    server.seen = []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        sleeps: list[float] = []
        with pytest.raises(PushError) as err:
            post_with_retries(url, TOKEN, b"{}", RetryPolicy(), sleep=sleeps.append)
        assert err.value.reason == "tls" and not err.value.retryable and sleeps == []
        assert f"the TLS certificate of {url} is not trusted here" in str(err.value)
        assert "SSL_CERT_FILE" in str(err.value)
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        assert post_json(url, TOKEN, b"{}", timeout_s=10) == (201, {"complete": True})
        assert server.seen[0]["Authorization"] == f"Bearer {TOKEN}"  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
