"""A job a worker had taken goes back on its queue although Redis was down when the worker's
channel closed (kombu alone leaves it in ``unacked`` until the visibility timeout)."""

from __future__ import annotations

import threading
import time

import redis
from fleet_processes import RedisBroker
from kombu import Connection, Exchange, Queue

from backproof.config.models import QueueSettings
from backproof.fleet.app import build_celery


def test_a_taken_job_goes_back_on_its_queue_when_the_broker_answers_again(
    redis_broker: RedisBroker,
) -> None:
    app = build_celery(QueueSettings(broker_url=redis_broker.url))
    queue = Queue("putback", Exchange("putback"), "putback")
    client = redis.Redis(host="127.0.0.1", port=redis_broker.port)
    with app.connection_for_write() as connection:
        assert isinstance(connection, Connection)
        channel = connection.channel()
        producer = connection.Producer(channel)
        producer.publish(
            {"job": "backup"}, exchange=queue.exchange, routing_key="putback", declare=[queue]
        )
        taken = channel.basic_get("putback", no_ack=False)
        assert taken is not None and client.hlen("unacked") == 1 and client.llen("putback") == 0
        client.close()

        redis_broker.stop()
        closing = threading.Thread(target=channel.close)
        closing.start()
        time.sleep(2.0)  # the worker's connection is lost; the put-back waits
        assert closing.is_alive()
        redis_broker.start()
        closing.join(timeout=30)

    client = redis.Redis(host="127.0.0.1", port=redis_broker.port)
    try:
        assert not closing.is_alive()
        assert (client.llen("putback"), client.hlen("unacked")) == (1, 0)
    finally:
        client.close()
