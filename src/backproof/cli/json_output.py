"""``--json`` of the job commands: each job's result as one JSON document, the same shape for all.

Job commands answer ``{"job": …, "outcomes": [{"target", "status", "result" | "error"}]}``;
a result is its ``to_json()`` when it has one, else its dataclass fields. Sizes stay bytes,
durations seconds, times ISO 8601 UTC: the text formatting of ``backproof.units`` is for people.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from backproof.clock import isoformat
from backproof.errors import OperationError
from backproof.masking import mask_url

URL_FIELDS = frozenset({"database_url", "url"})


def to_json_value(value: Any) -> Any:
    """Return ``value`` as JSON-ready data (URLs in known fields masked)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseException):
        return str(value)
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: _field_value(item.name, getattr(value, item.name))
            for item in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [to_json_value(item) for item in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _field_value(name: str, value: Any) -> Any:
    if name in URL_FIELDS and isinstance(value, str):
        return mask_url(value)
    return to_json_value(value)


def outcomes_document(job: str, outcomes: Sequence[tuple[str, object]]) -> dict[str, Any]:
    """Return the document of a job command run for one target or several."""
    return {
        "job": job,
        "outcomes": [
            {"target": name, "status": "failed", "error": str(outcome)}
            if isinstance(outcome, OperationError)
            else {"target": name, "status": "success", "result": to_json_value(outcome)}
            for name, outcome in outcomes
        ],
    }


def run_document(results: Sequence[Any]) -> dict[str, Any]:
    """Return the document of ``run --json``: each target's chain, job by job."""
    return {
        "runs": [
            {
                "target": result.target,
                "succeeded": result.succeeded,
                "health": result.health.status if result.health else None,
                "steps": [_step(step) for step in result.steps],
            }
            for result in results
        ]
    }


def _step(step: Any) -> dict[str, Any]:
    if step.skipped_because is not None:
        return {"job": step.job, "status": "skipped", "reason": step.skipped_because}
    if step.error is not None:
        return {"job": step.job, "status": "failed", "error": str(step.error)}
    return {"job": step.job, "status": "success", "result": to_json_value(step.result)}
