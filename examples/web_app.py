"""A web application that hands work to actors: its own signup route enqueues a task, and the
HTTP Jobs API (``actors.web.create_app``) is mounted under ``/jobs``.

    pip install 'actors[web]'
    python examples/web_app.py            # serves on http://127.0.0.1:8000 (Ctrl-C stops)
    python examples/web_app.py --check    # a temporary SQLite file, a few requests, exit 0

Two nodes share one store, as a web server and a worker fleet would (here in one script):

- the web process starts a client-only node (``workers=0``): it creates, lists and changes
  tasks but runs none. It registers the worker too, so a bad signup is refused by the
  worker's schema (``ValidationError`` → 422) before anything is stored;
- the worker node (``actors worker examples.web_app`` in production) runs the tasks.

Routes: ``POST /signup`` ``{"email": ...}`` → 202 ``{"task_id": ...}``; ``GET /signup/{task_id}``
→ the welcome email's state; everything of the Jobs API under ``/jobs`` (``/jobs/api/tasks``,
``/jobs/api/stats``, ``/jobs/healthz``, ...).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from contextlib import ExitStack
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import actors
import actors.web

#: The Jobs API's token (``ACTORS_TOKEN`` when set).
TOKEN = os.environ.get("ACTORS_TOKEN", "example-token")


def check_signup(options: dict[str, Any]) -> dict[str, Any]:
    """The welcome email's input schema: an ``email`` with an ``@`` (what is stored)."""
    email = options.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise actors.ValidationError("email", email, "must be an email address")
    return {"email": email.strip().lower()}


def send_welcome(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, str]:
    """Runs on the worker node: "sends" the email and says so."""
    ctx.log.info("sending the welcome email to %s", options["email"])
    return {"sent_to": options["email"]}


SEND_WELCOME = actors.TaskWorker("SEND_WELCOME", send_welcome, schema=check_signup, title="Welcome email",
                                 retry=actors.Retry(max_attempts=3))


def create_web_app(client: actors.Supervisor) -> FastAPI:
    """The application: its own routes, and the Jobs API of ``client`` under ``/jobs``."""
    app = FastAPI(title="signups")

    @app.exception_handler(actors.ValidationError)
    async def refused(request: Request, error: actors.ValidationError) -> JSONResponse:
        return JSONResponse({"field": error.field, "error": error.reason}, status_code=422)

    @app.post("/signup", status_code=202)
    def signup(body: dict[str, Any]) -> dict[str, str]:
        task_id = client.create_task("SEND_WELCOME", metadata=body, tags=["signup"])
        return {"task_id": task_id}

    @app.get("/signup/{task_id}")
    def signup_state(task_id: str) -> dict[str, Any]:
        task = client.get_task(task_id)
        if task is None:
            return {"task_id": task_id, "status": "unknown"}
        return {"task_id": task_id, "status": task.status.value, "result": task.result}

    app.mount("/jobs", actors.web.create_app(client, token=TOKEN))
    return app


def start_nodes(stack: ExitStack, store: str) -> actors.Supervisor:
    """The worker node and the web process's client-only node on ``store``; the client is returned."""
    worker = stack.enter_context(actors.Supervisor.start(store, workers=1))
    worker.register_task_worker(SEND_WELCOME)
    client = stack.enter_context(actors.Supervisor.start(store, workers=0))
    client.register_task_worker(SEND_WELCOME)  # validates at create; a workers=0 node never runs it
    return client


def check() -> None:
    """Drive the app in-process on a temporary SQLite file and print what happened."""
    with warnings.catch_warnings():  # (newer Starlette prefers another client package; httpx is what we ship)
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    store = os.path.join(tempfile.mkdtemp(prefix="actors-web-app-"), "tasks.db")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with ExitStack() as stack:
        client = start_nodes(stack, store)
        http = stack.enter_context(TestClient(create_web_app(client)))
        refused = http.post("/signup", json={"email": "not-an-address"})
        print(f"POST /signup bad email: {refused.status_code} {refused.json()}")
        accepted = http.post("/signup", json={"email": "Ada@Example.com"})
        task_id = accepted.json()["task_id"]
        print(f"POST /signup: {accepted.status_code}, enqueued {task_id[:8]}")
        result = client.wait(task_id, timeout=60)  # the worker node runs it
        print(f"GET /signup/{{id}}: {http.get(f'/signup/{task_id}').json()['status']}, result {result}")
        print(f"GET /jobs/api/tasks without the token: {http.get('/jobs/api/tasks').status_code}")
        listed = http.get("/jobs/api/tasks", params={"tag": "signup"}, headers=auth).json()
        print(f"GET /jobs/api/tasks?tag=signup: {[(t['name'], t['status']) for t in listed]}")
        logs = http.get(f"/jobs/api/tasks/{task_id}/logs", headers=auth).json()
        print(f"GET /jobs/api/tasks/{{id}}/logs: {[line['message'] for line in logs]}")
        created = http.post("/jobs/api/tasks", json={"name": "SEND_WELCOME", "metadata": {"email": "bo@example.com"}},
                            headers=auth)
        client.wait(created.json()["id"], timeout=60)
        stats = http.get("/jobs/api/stats", headers=auth).json()
        print(f"POST /jobs/api/tasks: {created.status_code}; succeeded now: {stats['tasks']['succeeded']}")
    print("web app check: ok")


def serve(host: str, port: int) -> None:
    """Serve the app with uvicorn on a ``tasks.db`` in the working directory until Ctrl-C."""
    import uvicorn

    with ExitStack() as stack:
        client = start_nodes(stack, os.environ.get("ACTORS_STORE", "tasks.db"))
        uvicorn.run(create_web_app(client), host=host, port=port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="drive a few requests in-process and exit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.check:
        check()
    else:
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
