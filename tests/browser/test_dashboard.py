"""The dashboard at ``/`` in headless Chromium against a real node: the token, live updates
through SSE, filters, a task's detail, the actions on one task and on a filter, queue controls."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .harness import TOKEN, Served, open_dashboard, screenshot, serve

pytestmark = pytest.mark.browser


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, task_id: str) -> Any:
    return page.locator(f'#tasks tbody tr[data-id="{task_id}"]')


def test_it_asks_for_the_token_once_and_keeps_it_for_the_session(page: Any, served: Served) -> None:
    expect = _expect()
    page.goto(served.url + "/")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()

    page.fill("#token-input", "wrong")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("That token was refused.")

    page.fill("#token-input", TOKEN)
    page.click("#login button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")  # the stream authenticated with ?token=
    assert page.evaluate("sessionStorage.getItem('actors.token')") == TOKEN

    page.reload()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()


def test_a_token_in_the_address_is_kept_and_taken_out_of_the_address(page: Any, served: Served) -> None:
    expect = _expect()
    open_dashboard(page, served)
    expect(page.locator("#login")).to_be_hidden()
    assert "token" not in page.url
    page.goto(served.url + "/")  # a new visit in the same session: no prompt
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#login")).to_be_hidden()


def test_a_server_without_a_token_asks_for_none(browser: Any, tmp_path: Path) -> None:
    expect = _expect()
    with serve(tmp_path, token=None) as open_node:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(open_node.url + "/")
            expect(page.locator("#live")).to_have_text("live")
            expect(page.locator("#login")).to_be_hidden()
            expect(page.locator("#sign-out")).to_be_hidden()
            task_id = open_node.sup.create_task("ECHO")
            expect(_row(page, task_id)).to_be_visible()
        finally:
            context.close()


def test_the_dashboard_works_mounted_under_a_prefix(browser: Any, tmp_path: Path) -> None:
    expect = _expect()
    with serve(tmp_path, prefix="/actors") as mounted:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{mounted.url}?token={TOKEN}")  # /actors: redirected to /actors/
            expect(page.locator("#live")).to_have_text("live")
            task_id = mounted.api("POST", "/api/tasks", json={"name": "ECHO"})["id"]
            expect(_row(page, task_id).locator(".state")).to_have_text("succeeded")
            _row(page, task_id).click()
            expect(page.locator("#d-outcome")).to_contain_text('"name": "ECHO"')
        finally:
            context.close()


def test_a_task_created_through_the_api_appears_without_a_reload(page: Any, served: Served) -> None:
    expect = _expect()
    open_dashboard(page, served)
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#state-counts [data-state=succeeded] .n")).to_have_text("0")

    task_id = served.api("POST", "/api/tasks", json={"name": "ECHO", "metadata": {"n": 1}, "tags": ["crm"]})["id"]
    row = _row(page, task_id)
    expect(row).to_be_visible()
    expect(row.locator("td").first).to_have_text(task_id[:8])
    expect(row.locator("td.name")).to_contain_text("ECHO")
    expect(row.locator(".state")).to_have_text("succeeded")
    expect(page.locator("#state-counts [data-state=succeeded] .n")).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    expect(page.locator("#live")).to_have_attribute("data-events", re.compile(r"^[1-9]"))  # through SSE
    screenshot(page, served, "dashboard-live.png")


def test_the_list_filters_by_state_name_queue_tag_and_text(page: Any, served: Served) -> None:
    expect = _expect()
    ok = served.sup.create_task("ECHO", tags=["crm"], queue="emails", description="Sync user data from CRM")
    bad = served.sup.create_task("BOOM", metadata={"why": "the CRM is down"})
    served.wait_status(ok, "succeeded")
    served.wait_status(bad, "failed")
    open_dashboard(page, served)
    expect(_row(page, ok)).to_be_visible()
    expect(_row(page, bad)).to_be_visible()

    page.select_option("#filters select[name=status]", "failed")
    expect(_row(page, ok)).to_have_count(0)
    expect(_row(page, bad)).to_be_visible()
    page.click("#state-counts [data-state=succeeded]")  # the counts are filters too
    expect(page.locator("#filters select[name=status]")).to_have_value("succeeded")
    expect(_row(page, bad)).to_have_count(0)
    expect(_row(page, ok)).to_be_visible()

    page.click("#filters button[type=reset]")
    expect(_row(page, bad)).to_be_visible()
    page.fill("#filters input[name=name]", "BOOM")
    expect(_row(page, ok)).to_have_count(0)
    expect(_row(page, bad)).to_be_visible()

    page.click("#filters button[type=reset]")
    page.select_option("#filters select[name=queue]", "emails")
    expect(_row(page, bad)).to_have_count(0)
    expect(_row(page, ok)).to_be_visible()

    page.click("#filters button[type=reset]")
    page.fill("#filters input[name=tag]", "crm")
    expect(_row(page, bad)).to_have_count(0)
    expect(_row(page, ok)).to_be_visible()

    page.click("#filters button[type=reset]")
    page.fill("#filters input[name=q]", "crm is down")  # the text search looks in errors too
    expect(_row(page, ok)).to_have_count(0)
    expect(_row(page, bad)).to_be_visible()
    expect(page.locator("[data-bulk=retry]")).to_be_disabled()  # bulk acts on the filter, not the search


def test_a_tasks_detail_shows_its_result_logs_metadata_and_children(page: Any, served: Served) -> None:
    expect = _expect()
    task_id = served.sup.create_task("CHATTY", description="Talks a lot", metadata={"sourceUrl": "https://x.test"})
    served.wait_status(task_id, "succeeded")
    open_dashboard(page, served)
    _row(page, task_id).click()
    expect(page).to_have_url(re.compile(f"#/tasks/{task_id}$"))
    detail = page.locator("#detail-view")
    expect(detail.locator("#d-id")).to_have_text(task_id[:8])
    expect(detail.locator("#d-name")).to_have_text("CHATTY")
    expect(detail.locator("#d-state")).to_have_text("succeeded")
    expect(detail.locator("#d-outcome-title")).to_have_text("Result")
    expect(detail.locator("#d-outcome")).to_contain_text('"child"')
    expect(detail.locator("#d-metadata")).to_contain_text("https://x.test")
    expect(detail.locator("#d-logs summary")).to_contain_text("Attempt 1")
    expect(detail.locator("#d-logs")).to_contain_text("step 1 of chatty")
    child_id = served.sup.get_tasks(parent_id=task_id)[0].id
    expect(detail.locator("#d-children tbody tr")).to_contain_text(child_id[:8])
    expect(page.locator("#tasks-view")).to_be_hidden()
    expect(detail.get_by_role("button", name="Delete")).to_be_visible()
    expect(detail.get_by_role("button", name="Retry")).to_be_hidden()  # it succeeded
    screenshot(page, served, "dashboard-detail.png")

    detail.locator("#d-children tbody tr").first.click()  # a child links to its own detail
    expect(detail.locator("#d-id")).to_have_text(child_id[:8])
    expect(detail.locator("#d-fields")).to_contain_text(task_id[:8])  # ... and back to its parent


def test_retry_on_a_failed_task_runs_it_again(page: Any, served: Served) -> None:
    expect = _expect()
    marker = served.tmp_path / "ready"
    task_id = served.sup.create_task("FLAKY", metadata={"path": str(marker)})
    served.wait_status(task_id, "failed")
    open_dashboard(page, served, f"/#/tasks/{task_id}")
    detail = page.locator("#detail-view")
    expect(detail.locator("#d-state")).to_have_text("failed")
    expect(detail.locator("#d-outcome-title")).to_have_text("Error")
    expect(detail.locator("#d-outcome")).to_contain_text("the file is not there yet")
    marker.touch()
    detail.get_by_role("button", name="Retry", exact=True).click()
    expect(detail.locator("#d-state")).to_have_text("succeeded")  # live: no reload
    expect(detail.locator("#d-outcome")).to_have_text("1")  # attempts were reset: attempt 1 again


def test_cancel_stops_a_running_task(page: Any, served: Served) -> None:
    expect = _expect()
    task_id = served.sup.create_task("WAIT")
    served.wait_status(task_id, "running")
    open_dashboard(page, served, f"/#/tasks/{task_id}")
    detail = page.locator("#detail-view")
    expect(detail.locator("#d-state")).to_have_text("running")
    detail.get_by_role("button", name="Cancel", exact=True).click()
    expect(detail.locator("#d-state")).to_have_text("cancelled")
    assert served.wait_status(task_id, "cancelled").status.value == "cancelled"
    expect(detail.get_by_role("button", name="Retry", exact=True)).to_be_visible()


def test_delete_removes_a_task_and_returns_to_the_list(page: Any, served: Served) -> None:
    expect = _expect()
    task_id = served.sup.create_task("ECHO")
    served.wait_status(task_id, "succeeded")
    open_dashboard(page, served, f"/#/tasks/{task_id}")
    page.locator("#detail-view").get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#tasks-view")).to_be_visible()
    expect(_row(page, task_id)).to_have_count(0)
    assert served.sup.get_task(task_id) is None


def test_retry_all_retries_every_task_matching_the_filter_and_only_those(page: Any, served: Served) -> None:
    expect = _expect()
    marker = served.tmp_path / "ready"
    flaky = [served.sup.create_task("FLAKY", metadata={"path": str(marker)}) for _ in range(3)]
    other = served.sup.create_task("BOOM")
    for task_id in [*flaky, other]:
        served.wait_status(task_id, "failed")
    open_dashboard(page, served)
    page.select_option("#filters select[name=status]", "failed")
    page.fill("#filters input[name=name]", "FLAKY")
    expect(_row(page, other)).to_have_count(0)
    expect(page.locator("#tasks tbody tr")).to_have_count(3)
    screenshot(page, served, "dashboard-failed.png")
    marker.touch()
    page.get_by_role("button", name="Retry all").click()
    expect(page.locator("#toast")).to_have_text("Retried 3 tasks")
    for task_id in flaky:
        served.wait_status(task_id, "succeeded")
    expect(page.locator("#tasks tbody tr")).to_have_count(0)  # the failed FLAKY tasks are gone from the view
    boom = served.sup.get_task(other)
    assert boom is not None and boom.status.value == "failed" and boom.attempts == 1  # not matched: untouched


def test_a_queue_is_paused_and_resumed_from_the_dashboard(page: Any, served: Served) -> None:
    expect = _expect()
    served.sup.set_queue("emails", concurrency=3)
    open_dashboard(page, served)
    row = page.locator('#queues tbody tr[data-queue="emails"]')
    expect(row.locator("input")).to_have_value("3")
    row.get_by_role("button", name="Pause", exact=True).click()
    expect(row.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    assert [q.paused for q in served.sup.get_queues() if q.name == "emails"] == [True]

    task_id = served.sup.create_task("ECHO", queue="emails")
    expect(_row(page, task_id).locator(".state")).to_have_text("pending")  # a paused queue starts nothing
    row.locator("input").fill("2")
    row.get_by_role("button", name="Set").click()
    expect(page.locator("#toast")).to_have_text("emails: concurrency 2")
    assert [q.concurrency for q in served.sup.get_queues() if q.name == "emails"] == [2]

    row.get_by_role("button", name="Resume", exact=True).click()
    expect(row.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    expect(_row(page, task_id).locator(".state")).to_have_text("succeeded")


def _populate(served: Served) -> dict[str, int]:
    """A board with something in every panel: ends of both kinds, a running task, a paused
    queue's pending task, a limited queue, two schedules. Returns the counts it expects."""
    sup = served.sup
    sup.set_queue("emails", concurrency=5, rate_limit="100/m")
    sup.set_queue("reports", paused=True)
    sup.schedule("ECHO", cron="0 3 * * *", key="nightly-report", metadata={"kind": "nightly"})
    sup.schedule("ECHO", every=3600, key="hourly-sync")
    done = [sup.create_task("ECHO", queue="emails", tags=["crm"], description=f"Send welcome e-mail #{n}")
            for n in range(4)]
    done.append(sup.create_task("CHATTY", description="Sync user data from CRM", tags=["sync", "crm"]))
    failed = [sup.create_task("BOOM", metadata={"why": "the CRM answered 503"}, description="Import contacts")]
    running = sup.create_task("WAIT", description="Rebuild the search index")
    waiting = sup.create_task("ECHO", queue="reports", description="Monthly report")
    for task_id in done:
        served.wait_status(task_id, "succeeded")
    for task_id in failed:
        served.wait_status(task_id, "failed")
    served.wait_status(running, "running")
    served.wait_status(waiting, "pending")
    return {"succeeded": len(done), "failed": len(failed), "running": 1}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_busy_board_in_either_colour_scheme(browser: Any, served: Served, scheme: str) -> None:
    expect = _expect()
    counts = _populate(served)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, color_scheme=scheme)
    try:
        page = context.new_page()
        open_dashboard(page, served)
        for state, count in counts.items():
            expect(page.locator(f"#state-counts [data-state={state}] .n")).to_have_text(str(count))
        expect(page.locator('#queues tbody tr[data-queue="reports"]')).to_contain_text("paused")
        expect(page.locator("#schedules tbody tr")).to_have_count(2)
        expect(page.locator("#nodes li")).to_have_count(1)
        expect(page.locator("#task-workers li code")).to_have_text(["BOOM", "CHATTY", "CHILD", "ECHO", "FLAKY", "WAIT"])
        if scheme == "light":
            page.locator("#task-workers li a", has_text="BOOM").click()  # a worker filters the list by name
            expect(page.locator("#filters input[name=name]")).to_have_value("BOOM")
            expect(page.locator("#tasks tbody tr")).to_have_count(1)
            page.click("#filters button[type=reset]")
            expect(page.locator("#tasks tbody tr")).to_have_count(9)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(15, 18, 24)" if scheme == "dark" else "rgb(246, 247, 249)")
        screenshot(page, served, "dashboard.png" if scheme == "light" else "dashboard-dark.png")
    finally:
        context.close()


def test_delete_all_asks_first_and_deletes_only_what_matches(page: Any, served: Served) -> None:
    expect = _expect()
    doomed = [served.sup.create_task("BOOM") for _ in range(2)]
    kept = served.sup.create_task("ECHO")
    for task_id in doomed:
        served.wait_status(task_id, "failed")
    served.wait_status(kept, "succeeded")
    open_dashboard(page, served)
    page.fill("#filters input[name=name]", "BOOM")
    expect(page.locator("#tasks tbody tr")).to_have_count(2)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete all").click()
    expect(page.locator("#tasks tbody tr")).to_have_count(2)
    assert all(served.sup.get_task(task_id) is not None for task_id in doomed)  # dismissed: nothing deleted

    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Delete all").click()
    expect(page.locator("#toast")).to_have_text("Deleted 2 tasks")
    expect(page.locator("#tasks tbody tr")).to_have_count(0)
    assert messages == ["Delete every task matching the filter?"]
    assert [served.sup.get_task(task_id) for task_id in doomed] == [None, None]
    assert served.sup.get_task(kept) is not None


def test_a_rows_own_buttons_act_on_that_task_only(page: Any, served: Served) -> None:
    expect = _expect()
    marker = served.tmp_path / "ready"
    retried, other = (served.sup.create_task("FLAKY", metadata={"path": str(marker)}) for _ in range(2))
    waiting = served.sup.create_task("WAIT")
    for task_id in (retried, other):
        served.wait_status(task_id, "failed")
    served.wait_status(waiting, "running")
    open_dashboard(page, served)
    expect(_row(page, waiting).get_by_role("button", name="Retry")).to_have_count(0)  # only what applies
    expect(_row(page, retried).get_by_role("button", name="Cancel")).to_have_count(0)

    marker.touch()
    _row(page, retried).get_by_role("button", name="Retry").click()
    expect(_row(page, retried).locator(".state")).to_have_text("succeeded")
    expect(page).to_have_url(re.compile(r"/(#/)?$"))  # the button did not open the task
    _row(page, waiting).get_by_role("button", name="Cancel").click()
    expect(_row(page, waiting).locator(".state")).to_have_text("cancelled")
    _row(page, other).get_by_role("button", name="Delete").click()
    expect(_row(page, other)).to_have_count(0)
    assert served.sup.get_task(other) is None
    assert served.wait_status(retried, "succeeded").attempts == 1


def test_a_test_run_creates_a_task_of_a_worker_and_opens_it(page: Any, served: Served) -> None:
    """Trigger.dev's dashboard "Test": a worker's name and its metadata as JSON, then the new task."""
    expect = _expect()
    open_dashboard(page, served, "/")
    form = page.locator("#test-run")
    form.locator("textarea[name=metadata]").fill("{not json")
    form.locator("input[name=name]").fill("ECHO")
    form.get_by_role("button", name="Run").click()
    expect(page.locator("#toast")).to_contain_text("metadata: not JSON")
    assert served.sup.get_tasks(name="ECHO") == []  # nothing was created
    form.locator("textarea[name=metadata]").fill('{"hello": "dashboard"}')
    form.get_by_role("button", name="Run").click()
    detail = page.locator("#detail-view")
    expect(detail).to_be_visible()
    expect(detail.locator("#d-state")).to_have_text("succeeded")
    (task,) = served.sup.get_tasks(name="ECHO")
    assert task.metadata == {"hello": "dashboard"}
    expect(detail.locator("#d-id")).to_contain_text(task.id[:8])
