"""Jobs a worker took and lost in a Redis outage go back on their queue (kombu alone leaves them
in ``unacked`` until the visibility timeout, 12 hours by default)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import redis
from fleet_processes import (
    RedisBroker,
    StateDatabase,
    Workers,
    make_sqlite_target,
    start_joining_submit,
    write_config,
)
from kombu import Connection, Exchange, Queue

from backproof.config.models import QueueSettings
from backproof.fleet.app import build_celery
from cli_process import run_backproof


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


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_a_job_whose_taking_was_lost_with_the_connection_is_put_back_and_done(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    target = make_sqlite_target(tmp_path, "shop")
    config = write_config(tmp_path, state_db.url, redis_broker.url, [target])
    assert run_backproof("--config", str(config), "submit", "backup", cwd=tmp_path).returncode == 0
    # As a worker's taking lands in Redis when its connection breaks before it hears back: the
    # job is in `unacked` (taken a minute ago), and no worker knows it holds it.
    client = redis.Redis(host="127.0.0.1", port=redis_broker.port)
    try:
        message = json.loads(client.rpop("backproof") or b"null")
        tag = message["properties"]["delivery_tag"]
        client.hset("unacked", tag, json.dumps([message, "backproof", "backproof"]))
        client.zadd("unacked_index", {tag: time.time() - 60})
    finally:
        client.close()

    # The user's `submit --wait` joins the pending job before the worker starts (a worker that
    # started first could finish it before a slow CLI looked, and the CLI would queue anew).
    waiting, joined = start_joining_submit(config, "backup", "--timeout", "120")
    workers.start("w1", "--concurrency", "1")
    out, err = waiting.communicate(timeout=180)

    assert joined.startswith("already queued: backup of shop"), joined + err
    assert waiting.returncode == 0, out + joined + err
    assert state_db.rows("SELECT status FROM ops_activities WHERE job = 'backup'") == [("success",)]
    assert "put back on its queue" in (tmp_path / "w1.log").read_text(encoding="utf-8")
