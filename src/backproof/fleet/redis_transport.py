"""kombu's Redis transport, with jobs a worker had taken given back even when the broker was
down at that moment.

One more gap is closed by :func:`reclaim_orphans`, which every worker runs with its heartbeat:
a job whose taking was written to Redis just as the connection broke is in ``unacked`` without
its worker knowing it took it; no one would give it back before the visibility timeout.

A worker that loses its broker closes its channel, and kombu then puts the messages the channel
had taken but not acknowledged back on their queue, once. With Redis down at that very moment
the put-back fails, and kombu leaves them in Redis's ``unacked`` hash until the visibility
timeout (12 hours by default) delivers them again: a submission would wait half a day. Here the
put-back waits for the broker to answer, as the worker's reconnection would anyway, for up to
``RESTORE_WAIT_SECONDS``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_errors

# As long as a worker keeps handing a chain's next step to the broker (fleet.app).
RESTORE_WAIT_SECONDS = 300.0
# A taken job whose step has not started this long after its taking was lost by its taker: a
# worker takes a job only when a pool process is free, which starts it at once.
ORPHAN_AFTER_SECONDS = 30.0
_BROKER_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    """Redis's acknowledgement emulation, whose put-back of unacknowledged messages waits for
    the broker."""

    def restore_unacked(self, client: Any = None) -> Any:
        """Put back every message taken and not acknowledged; while the broker does not answer,
        try again (each message is put back once: a second try finds it gone)."""
        deadline = time.monotonic() + RESTORE_WAIT_SECONDS
        pause = 0.5
        while True:
            try:
                return super().restore_unacked(client)
            except _BROKER_DOWN as exc:
                if time.monotonic() > deadline:
                    raise
                logger.warning(
                    "%d taken job(s) not yet given back: broker unreachable (%s); trying again",
                    len(self._delivered or ()),
                    " ".join(str(exc).split()),
                )
                time.sleep(pause)
                pause = min(2.0, pause * 2)


class Channel(kombu_redis.Channel):
    """A Redis channel with the waiting put-back."""

    QoS = QoS


class Transport(kombu_redis.Transport):
    """The Redis transport of ``backproof worker`` and ``submit`` (``redis://`` broker URLs)."""

    Channel = Channel


def reclaim_orphans(
    connection: Any, is_orphan: Callable[[list[Any]], bool], now: float | None = None
) -> int:
    """Put back on their queue the taken jobs (``unacked``) older than ``ORPHAN_AFTER_SECONDS``
    whose task arguments ``is_orphan`` says no one is running; return how many.

    ``connection`` is a kombu connection to the Redis broker. Each put-back is kombu's own
    (atomic: two workers reclaiming at once put a job back once).
    """
    channel = connection.default_channel
    qos = channel.qos
    client = channel.client
    limit = (time.time() if now is None else now) - ORPHAN_AFTER_SECONDS
    reclaimed = 0
    for raw_tag in client.zrangebyscore(qos.unacked_index_key, "-inf", limit):
        tag = raw_tag.decode() if isinstance(raw_tag, bytes) else str(raw_tag)
        stored = client.hget(qos.unacked_key, tag)
        if stored is None:
            continue
        arguments = _task_arguments(stored)
        if arguments is None or not is_orphan(arguments):
            continue
        logger.warning("job %s was taken and lost in a broker outage: put back on its queue", tag)
        qos.restore_by_tag(tag, client=client)
        reclaimed += 1
    return reclaimed


def _task_arguments(stored: bytes) -> list[Any] | None:
    """Return the positional arguments of a stored Celery message; None for another kind."""
    try:
        payload = json.loads(stored)[0]
        body = payload["body"]
        if payload.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        arguments = json.loads(body)[0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return arguments if isinstance(arguments, list) else None
