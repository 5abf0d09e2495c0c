"""The asyncio view: ``actors.AsyncSupervisor`` and ``sup.aio`` on an inline node (memory store,
manual clock); ``asyncio.run`` drives each test, nothing sleeps."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import actors
from actors import AsyncSupervisor, ManualClock, Supervisor, TaskWorker
from actors.aio import public_methods


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def boom(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError("boom")


def test_every_public_method_of_supervisor_is_a_coroutine_of_the_same_name_and_arguments() -> None:
    mirrored = public_methods(Supervisor)
    assert public_methods(AsyncSupervisor) - mirrored == {"events", "close"}  # the view's own
    assert mirrored <= public_methods(AsyncSupervisor)
    for name in mirrored - {"start"}:
        method = getattr(AsyncSupervisor, name)
        assert inspect.iscoroutinefunction(method), name
        assert inspect.signature(method) == inspect.signature(getattr(Supervisor, name)), name
    assert inspect.signature(AsyncSupervisor.wait) == inspect.signature(Supervisor.wait)


def test_create_wait_and_read_through_sup_aio(sup: actors.Supervisor) -> None:
    async def main() -> tuple[Any, actors.Task | None, str]:
        aio = sup.aio
        assert aio is sup.aio  # one view per node
        await aio.register_task_worker(TaskWorker("ADD", add))
        task_id = await aio.create_task("ADD", metadata={"a": 2, "b": 3})
        result = await aio.wait(task_id, timeout=10)
        return result, await aio.get_task(task_id), task_id

    result, task, task_id = asyncio.run(main())
    assert result == 5
    assert task is not None and (task.id, task.status) == (task_id, actors.TaskStatus.SUCCEEDED)


def test_errors_are_the_same_as_the_blocking_calls(sup: actors.Supervisor) -> None:
    async def main() -> None:
        aio = sup.aio
        await aio.register_task_worker(TaskWorker("BOOM", boom))
        with pytest.raises(actors.TaskNotFound):
            await aio.wait("missing", timeout=5)
        with pytest.raises(actors.ValidationError, match="priority"):
            await aio.create_task("BOOM", priority="urgent")
        with pytest.raises(actors.TaskFailed):
            await aio.wait(await aio.create_task("BOOM"), timeout=10)
        waiting = await aio.create_task("NOBODY_SERVES_IT")
        with pytest.raises(actors.Timeout):
            await aio.wait(waiting, timeout=0.01)

    asyncio.run(main())


def test_events_as_an_async_iterator_end_when_the_node_stops(clock: ManualClock) -> None:
    async def main() -> list[tuple[str, str]]:
        async with AsyncSupervisor.start("memory://", workers=1, executor="inline", clock=clock) as node:
            await node.register_task_worker(TaskWorker("ADD", add))
            seen: list[tuple[str, str]] = []
            stream = node.events(kinds=["created", "succeeded"])
            first = asyncio.ensure_future(stream.__anext__())
            while not node.sync.stats()["events"]["subscribers"]:
                await asyncio.sleep(0)  # the iterator subscribes on its first step
            task_id = await node.create_task("ADD", metadata={"a": 1, "b": 1})
            event = await asyncio.wait_for(first, 10)
            seen.append((event.kind, event.task_id))
            async for event in stream:
                seen.append((event.kind, event.task_id))
                if event.kind == "succeeded":
                    break
            assert await node.wait(task_id, timeout=10) == 2
            await stream.aclose()  # (a break leaves the generator suspended, still subscribed)
            assert node.sync.stats()["events"]["subscribers"] == 0
            rest = node.events()
            ending = asyncio.ensure_future(rest.__anext__())
            while node.sync.stats()["events"]["subscribers"] < 1:
                await asyncio.sleep(0)
            await node.stop()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(ending, 10)
            return [(kind, tid == task_id and "it") for kind, tid in seen]  # type: ignore[misc]

    assert asyncio.run(main()) == [("created", "it"), ("succeeded", "it")]


def test_start_is_awaitable_too_and_stop_closes_the_pool(clock: ManualClock) -> None:
    async def main() -> None:
        node = await AsyncSupervisor.start("memory://", workers=0, clock=clock)
        assert isinstance(node.sync, Supervisor)
        await node.create_task("LATER")
        await node.stop()
        with pytest.raises(actors.NodeStopped):
            await node.create_task("AFTER")

    asyncio.run(main())
    with pytest.raises(actors.ValidationError, match="max_threads"):
        AsyncSupervisor(None, max_threads=0)  # type: ignore[arg-type]
