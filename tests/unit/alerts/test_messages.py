"""Messages: masked when made; the Slack payload of the specification; the e-mail."""

from __future__ import annotations

import json

from backproof.alerts.base import AlertMessage, make_message
from backproof.alerts.email import build_email
from backproof.alerts.slack import slack_payload, slack_text
from backproof.config.models import EmailSettings

CZECH = "Záloha selhala: příliš žluťoučký kůň úpěl ďábelské ódy"


def test_slack_text_is_the_headline_and_the_context_in_a_code_block() -> None:
    message = AlertMessage("backup of crm failed", {"target": "crm", "size_bytes": 4})

    assert slack_text(message) == (
        '[OPS] backup of crm failed ```{\n    "target": "crm",\n    "size_bytes": 4\n}```'
    )


def test_slack_text_without_context_is_the_headline_alone() -> None:
    assert slack_text(AlertMessage("test")) == "[OPS] test"


def test_slack_payload_is_exactly_one_text_field() -> None:
    payload = json.loads(slack_payload(AlertMessage("x", {"a": 1})))
    assert list(payload) == ["text"]


def test_slack_payload_keeps_czech_text_unescaped() -> None:
    body = slack_payload(AlertMessage(CZECH, {"zpráva": CZECH}))

    assert CZECH.encode("utf-8") in body
    assert b"\\u" not in body


def test_message_masks_the_password_of_a_database_url() -> None:
    message = make_message(
        "backup failed", {"message": "cannot connect to postgresql://backup:s3cret@db/crm"}
    )
    assert message.context["message"] == "cannot connect to postgresql://backup:***@db/crm"


def test_message_masks_email_addresses_at_any_depth() -> None:
    message = make_message("x", {"rows": [{"owner": "jan.novak@example.com"}]})
    assert message.context["rows"] == [{"owner": "j***@e***.com"}]


def test_message_masks_a_webhook_in_its_event_line() -> None:
    message = make_message("posting to https://hooks.slack.com/services/T1/B2/secret failed")
    assert "secret" not in message.event


def test_message_keeps_numbers_and_flags_as_they_are() -> None:
    message = make_message("x", {"count": 3, "ok": True, "none": None})
    assert message.context == {"count": 3, "ok": True, "none": None}


def test_email_has_the_headline_as_subject_and_the_context_as_json() -> None:
    settings = EmailSettings.model_validate(
        {"host": "smtp.test", "from": "ops@example.com", "to": ["a@example.com", "b@example.com"]}
    )

    email = build_email(AlertMessage(CZECH, {"zpráva": CZECH}), settings)

    assert email["Subject"] == "[OPS] " + CZECH
    assert email["To"] == "a@example.com, b@example.com"
    body = email.get_content()
    assert f'"zpráva": "{CZECH}"' in body
