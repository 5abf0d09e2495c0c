"""RedisHuey: Huey on Redis (blocking BRPOP dequeue; the Redis here keeps nothing on disk)."""

from __future__ import annotations

from huey import RedisHuey

from .common import PEER_DBS, REDIS_HOST, REDIS_PORT, add_and_record, flush_db
from .huey_common import HueySystem

DB = PEER_DBS["huey_redis"]
huey = RedisHuey("bench", host=REDIS_HOST, port=REDIS_PORT, db=DB)


@huey.task()
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class RedisHueySystem(HueySystem):
    def reset(self) -> None:
        flush_db(DB)


def make() -> RedisHueySystem:
    return RedisHueySystem("huey_redis", huey, add, "peers.huey_redis.huey", table=False)
