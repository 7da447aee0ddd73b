"""Translating botocore's exceptions into backproof's, with one clear line each.

Every call to S3 runs inside ``s3_errors(where, what)``: the message names the destination and
the operation, says what went wrong in words an operator acts on (access denied, no such bucket,
connection refused, timed out), and never carries a credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from backproof.errors import NotFoundError, StorageError

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "403",
    }
)
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
THROTTLING_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}
)


def describe_client_error(exc: ClientError) -> tuple[str, str]:
    """Return the error code and the sentence an operator reads for an S3 error answer."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    if code in ACCESS_DENIED_CODES:
        return code, f"access denied ({code}): check the credentials and the bucket's policy"
    if code == "NoSuchBucket":
        bucket = error.get("BucketName") or "the bucket"
        return code, f"bucket {bucket} does not exist"
    if code in NOT_FOUND_CODES:
        return code, "no such object"
    if code in {"BadDigest", "InvalidDigest"}:
        return code, f"the server received other bytes than were sent ({code})"
    if code == "NoSuchUpload":
        return code, "the multipart upload is gone (aborted or expired)"
    if code in THROTTLING_CODES:
        return code, f"the server kept throttling ({code}) through every retry"
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?"))
    message = str(error.get("Message") or "").strip()
    detail = f": {message}" if message else ""
    named = "" if code == status else f" {code}"
    return code, f"the server answered {status}{named}{detail}"


def describe_transport_error(exc: Exception, endpoint: str) -> str:
    """Return the sentence for an error below HTTP: refused, timed out, cut."""
    if isinstance(exc, EndpointConnectionError):
        return f"cannot connect to {endpoint} (connection refused or host unreachable)"
    if isinstance(exc, ConnectTimeoutError):
        return f"connecting to {endpoint} timed out"
    if isinstance(exc, ReadTimeoutError):
        return f"{endpoint} did not answer in time (read timeout)"
    if isinstance(exc, ConnectionClosedError | ResponseStreamingError | Urllib3Error):
        return f"the connection to {endpoint} was cut"
    if isinstance(exc, BotoConnectionError):
        return f"the connection to {endpoint} failed ({type(exc).__name__})"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no credentials: set access_key_id and secret_access_key, a profile, "
            "or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables"
        )
    return f"{type(exc).__name__}: {exc}"


def error_code(error: BaseException) -> str | None:
    """Return the S3 error code behind a translated error (``NoSuchUpload``…), or None."""
    cause = error.__cause__
    if isinstance(cause, ClientError):
        return describe_client_error(cause)[0]
    return None


@contextmanager
def s3_errors(where: str, what: str, endpoint: str) -> Iterator[None]:
    """Run the block; turn botocore and urllib3 errors into StorageError (NotFoundError for 404).

    ``where`` names the destination, ``what`` the operation (``uploading db.sqlite.zst``).
    """
    try:
        yield
    except ClientError as exc:
        code, sentence = describe_client_error(exc)
        error_class = NotFoundError if code in NOT_FOUND_CODES else StorageError
        raise error_class(f"{where}: {what}: {sentence}") from exc
    except (BotoCoreError, Urllib3Error) as exc:
        raise StorageError(f"{where}: {what}: {describe_transport_error(exc, endpoint)}") from exc
