"""Secrets masked by value: whatever text carries a known secret, it leaves masked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from backproof.config.loading import load_settings
from backproof.config.models import QueueSettings
from backproof.errors import ConfigError
from backproof.masking import mask_text, mask_url
from backproof.secret_values import mask_secrets, remember_secrets, secrets_of

CONFIG = """\
[state]
url = "sqlite:///state.db"

[[targets]]
name = "crm"
database = "{database}"

[[destinations]]
name = "local"
url = "file:backups"

[alerts.slack]
webhook_url = "http://127.0.0.1:9/services/T0/B0/XyzWebhookKey123"

[web]
token = "tok-VeryLongToken-42"
"""


def write_config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "backproof.toml"
    path.write_text(CONFIG.format(database=database), encoding="utf-8")
    return path


def test_a_remembered_secret_is_masked_in_any_text_and_encoded() -> None:
    remember_secrets(["p@ss SECRET/1"])

    masked = mask_secrets(
        "server said: bad p@ss SECRET/1 or p%40ss%20SECRET%2F1 or p%40ss+SECRET%2F1"
    )

    assert "SECRET" not in masked
    assert masked.count("***") == 3


def test_short_values_are_not_remembered() -> None:
    remember_secrets(["token"])

    assert mask_secrets("a valid bearer token is required") == "a valid bearer token is required"


def test_loading_a_config_remembers_its_passwords_urls_and_tokens(tmp_path: Path) -> None:
    load_settings(write_config(tmp_path, "mysql://root:p%40ssSECRET@127.0.0.1:1/crm"), environ={})

    echoed = (
        "error: access denied for p@ssSECRET; "
        "body: <a href='http://127.0.0.1:9/services/T0/B0/XyzWebhookKey123'>; "
        "path /services/T0/B0/XyzWebhookKey123; header tok-VeryLongToken-42"
    )

    assert "SECRET" not in mask_text(echoed)
    assert "XyzWebhookKey123" not in mask_text(echoed)
    assert "VeryLongToken" not in mask_text(echoed)


def test_secret_environment_variables_are_remembered(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql://app@127.0.0.1:1/crm")

    load_settings(config, environ={"PGPASSWORD": "pg-PasswordFromEnv"})

    assert mask_secrets("FATAL: pg-PasswordFromEnv") == "FATAL: ***"


def test_an_unencoded_at_in_a_database_password_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "mysql://root:p@ssSECRET@127.0.0.1:1/crm")

    with pytest.raises(ConfigError, match="percent-encode it as %40") as refused:
        load_settings(config, environ={})
    assert "ssSECRET" not in str(refused.value)


def test_mask_url_masks_a_password_up_to_the_last_at() -> None:
    assert mask_url("mysql://root:p@ssSECRET@db:3306/crm") == "mysql://root:***@db:3306/crm"


def test_log_records_are_masked_whichever_handler_writes_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_settings(write_config(tmp_path, "mysql://root:p%40ssSECRET@127.0.0.1:1/crm"), environ={})

    with caplog.at_level(logging.WARNING):
        logging.getLogger("backproof.test").warning("server echoed %s", "p@ssSECRET")

    assert "SECRET" not in caplog.text
    assert "server echoed ***" in caplog.text


def test_a_broker_url_without_a_password_is_not_masked_but_its_password_is() -> None:
    queue = QueueSettings(broker_url=SecretStr("amqp://backproof:BrokerSecret9@mq:5672//"))
    remember_secrets(secrets_of(queue))

    assert mask_secrets("broker amqp://mq:5672// is down") == "broker amqp://mq:5672// is down"
    assert mask_secrets("login BrokerSecret9 refused") == "login *** refused"
