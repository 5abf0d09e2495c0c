"""Who may call: the bearer token on every route but ``/healthz``, and where a server without a
token may listen (``check_bind``); the dashboard's files at ``/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import actors
from actors.web import create_app
from actors.web.app import mount_dashboard
from actors.web.server import check_bind, resolve_token

from .conftest import TOKEN, bearer


def every_operation(authed: TestClient) -> list[tuple[str, str]]:
    spec = authed.get("/openapi.json", headers=bearer()).json()
    return [(method.upper(), path.replace("{task_id}", "some-id").replace("{name}", "q"))
            for path, operations in spec["paths"].items() for method in operations]


def test_every_route_but_healthz_needs_the_token(authed: TestClient, sup: actors.Supervisor) -> None:
    operations = every_operation(authed)
    assert ("GET", "/api/events") in operations and ("GET", "/metrics") in operations and len(operations) > 15
    for method, path in [*operations, ("GET", "/openapi.json")]:
        if path == "/healthz":
            continue
        for headers in ({}, bearer("wrong-token"), {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
            response = authed.request(method, path, headers=headers, json={"name": "NOBODY"})
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer" and response.json()["error"]
    assert sup.get_tasks() == []  # nothing was created without the token
    assert authed.get("/healthz").status_code == 200


def test_the_token_lets_requests_through(authed: TestClient, sup: actors.Supervisor) -> None:
    response = authed.post("/api/tasks", json={"name": "NOBODY"}, headers=bearer())
    assert response.status_code == 201
    assert [task["id"] for task in authed.get("/api/tasks", headers=bearer()).json()] == [response.json()["id"]]
    assert authed.get("/metrics", headers=bearer()).status_code == 200


def test_the_query_token_is_taken_by_the_event_stream_only(authed: TestClient) -> None:
    # (a browser's EventSource cannot send headers; the other routes want the header)
    assert authed.get(f"/api/tasks?token={TOKEN}").status_code == 401
    assert authed.get("/api/events?token=wrong").status_code == 401


@pytest.mark.parametrize("token", ["", "two words", " padded", 42])
def test_a_bad_token_is_refused_by_create_app(sup: actors.Supervisor, token: object) -> None:
    with pytest.raises(actors.ValidationError) as caught:
        create_app(sup, token=token)  # type: ignore[arg-type]
    assert caught.value.field == "token"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_binds_need_no_token(host: str) -> None:
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_a_non_loopback_bind_without_a_token_is_refused_with_a_clear_message(host: str) -> None:
    with pytest.raises(actors.ValidationError) as caught:
        check_bind(host, None)
    assert caught.value.field == "host" and caught.value.value == host
    if host:
        assert "without a token" in str(caught.value) and "--token" in str(caught.value)
    check_bind(host or "0.0.0.0", "a-token")  # with a token: anywhere


def test_the_token_comes_from_actors_token_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTORS_TOKEN", "from-env")
    assert resolve_token(None) == "from-env" and resolve_token("given") == "given"
    monkeypatch.setenv("ACTORS_TOKEN", "")
    assert resolve_token(None) is None


def test_the_dashboard_is_served_at_the_root_without_the_token(sup: actors.Supervisor, tmp_path: Path) -> None:
    # the page itself asks for the token (API.md); the data behind it needs it
    (tmp_path / "index.html").write_text("<html><body>Dashboard</body></html>")
    (tmp_path / "app.js").write_text("console.log('hi')")
    app = FastAPI()
    mount_dashboard(app, tmp_path)
    with TestClient(app) as client:
        assert "Dashboard" in client.get("/").text
        assert client.get("/app.js").text == "console.log('hi')"
    with TestClient(create_app(sup, token=TOKEN)) as client:
        response = client.get("/")  # this build's page (or the placeholder)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        assert client.get("/api/tasks").status_code == 401  # the API behind it still needs the token


def test_the_app_mounts_inside_another_application(sup: actors.Supervisor) -> None:
    outer = FastAPI()
    outer.mount("/actors", create_app(sup, token=TOKEN))
    with TestClient(outer) as client:
        created = client.post("/actors/api/tasks", json={"name": "NOBODY"}, headers=bearer())
        assert created.status_code == 201
        assert client.get(f"/actors/api/tasks/{created.json()['id']}", headers=bearer()).json()["name"] == "NOBODY"
        assert client.get("/actors/healthz").json()["ok"] is True
