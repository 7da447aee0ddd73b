"""kombu's Redis transport, with jobs a worker had taken given back even when the broker was
down at that moment.

A worker that loses its broker closes its channel, and kombu then puts the messages the channel
had taken but not acknowledged back on their queue, once. With Redis down at that very moment
the put-back fails, and kombu leaves them in Redis's ``unacked`` hash until the visibility
timeout (12 hours by default) delivers them again: a submission would wait half a day. Here the
put-back waits for the broker to answer, as the worker's reconnection would anyway, for up to
``RESTORE_WAIT_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_errors

# As long as a worker keeps handing a chain's next step to the broker (fleet.app).
RESTORE_WAIT_SECONDS = 300.0
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
