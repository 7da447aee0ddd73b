"""The settings models: the one source of truth for validation, defaults and the reference.

Every model forbids unknown keys so that a typo is an error naming the key, not a silent default.
Paths and URLs that are relative are made absolute against the config file's folder by
``backproof.config.loading``; the models themselves never touch the filesystem.
"""

from pathlib import Path
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from backproof.config.resolved_secrets import ResolvedSecret
from backproof.masking import mask_url

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
DEFAULT_STATE_URL = "sqlite:///.backproof/state.db"
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")
STORAGE_SCHEMES = ("file", "s3", "memory")
# Accepted but never offered in a message: the in-memory twin exists for the test suite.
UNLISTED_SCHEMES = ("memory",)
# Spellings other tools write for the same engine (Django's dj-database-url, Heroku).
SCHEME_ALIASES = {"postgres": "postgresql"}


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def check_url_scheme(url: str, schemes: tuple[str, ...]) -> str:
    """Return ``url`` (``postgres://`` spelled ``postgresql://``) when its scheme is one of
    ``schemes``; raise ValueError naming the schemes a user may write."""
    url = normalize_url_scheme(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{name}://" for name in schemes if name not in UNLISTED_SCHEMES)
        raise ValueError(f"unsupported URL {mask_url(url)!r}: expected one of {allowed}")
    return check_url_userinfo(url)


def normalize_url_scheme(url: str) -> str:
    """Return ``url`` with an alias scheme (``postgres``) replaced by its engine's name."""
    scheme, separator, rest = url.partition(":")
    base, plus, driver = scheme.partition("+")
    canonical = SCHEME_ALIASES.get(base.lower())
    return f"{canonical}{plus}{driver}{separator}{rest}" if canonical and separator else url


def check_url_userinfo(url: str) -> str:
    """Return ``url`` unless its user or password holds an unencoded ``@``.

    Raises ValueError telling to percent-encode it (some parsers would split it at the first
    ``@`` and send part of the password as the host name).
    """
    netloc = url.split("://", 1)[1].split("/", 1)[0] if "://" in url else ""
    if netloc.count("@") > 1:
        raise ValueError(
            "the user or password of the URL holds an '@': percent-encode it as %40 "
            "(and ':' as %3A, '/' as %2F)"
        )
    return url


class StateSettings(Section):
    """Where the audit trail and the other state of backproof live."""

    url: str = Field(DEFAULT_STATE_URL, description="SQLAlchemy-style URL of the state database")
    lock_dir: Path = Field(Path(".backproof/locks"), description="folder of the run locks")
    lock_wait_seconds: float = Field(60.0, ge=0, description="how long a second run waits")
    stale_after_hours: float = Field(
        24.0, gt=0, description="a `running` row of another host older than this is stale"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return check_url_scheme(url, DATABASE_SCHEMES)


BACKUP_TIME_PLACEHOLDER = "{backup_time}"


class ApplicationCheck(Section):
    """A query run on every restored copy (``[[targets.checks]]``); its first value must match
    ``expect``, or lie within ``at_least`` / ``at_most``."""

    name: str = Field(min_length=1, max_length=200, description="what the check proves")
    sql: str = Field(
        min_length=1,
        description="a read-only query: the first column of its first row is the value; "
        f"`{BACKUP_TIME_PLACEHOLDER}` becomes the backup's UTC time as a quoted literal",
    )
    expect: int | float | str | None = Field(None, description="the value must equal this")
    at_least: float | None = Field(None, description="the value must be a number >= this")
    at_most: float | None = Field(None, description="the value must be a number <= this")
    timeout_seconds: float = Field(30.0, gt=0, le=3600, description="the query is cancelled after")

    @model_validator(mode="after")
    def _check_expectation(self) -> Self:
        if self.expect is None and self.at_least is None and self.at_most is None:
            raise ValueError("a check needs `expect`, `at_least` or `at_most`")
        if self.expect is not None and (self.at_least is not None or self.at_most is not None):
            raise ValueError("set `expect`, or `at_least`/`at_most`, not both")
        return self


class HookSettings(Section):
    """Commands run around a backup (maintenance mode, a cache flush, a queue pause).

    Each is a command line split as a shell splits words (quotes kept), run without a shell;
    write ``sh -c '…'`` for pipes or redirections.
    """

    before_backup: list[str] = Field(
        [], description="run in order before the dump; one failing fails it"
    )
    after_backup: list[str] = Field(
        [],
        description="run in order after the backup, even a failed one; one failing fails it",
    )
    timeout_seconds: float = Field(300.0, gt=0, description="a hook still running is killed")
    cwd: Path | None = Field(None, description="folder the hooks run in (default: the config's)")


class TargetSettings(Section):
    """One application's data to protect."""

    name: str = Field(
        "crm", pattern=NAME_PATTERN, description="name in storage keys, metrics and the trail"
    )
    database: str | None = Field(None, description="URL of the database; none for files only")
    password_env: str | None = Field(None, description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password")
    files: list[Path] = Field([], description="folders and files to archive")
    exclude: list[str] = Field(
        [],
        description="glob patterns left out of `files`: `*.log` (a name anywhere), "
        "`uploads/tmp/*` (a path from the folder's name)",
    )
    key_tables: list[str] = Field(
        [],
        description="tables whose sampled rows verify compares by checksum (the CRM: "
        '["companies", "contacts"])',
    )
    sample_rows: int = Field(100, ge=1, le=100_000, description="rows sampled per key table")
    compression: Literal["zstd", "gzip"] = Field("zstd", description="compression of the parts")
    compression_level: int | None = Field(None, ge=1, le=19, description="default: zstd 3, gzip 6")
    integrity_checks: bool = Field(
        True,
        description="run the database's own checks on the restored copy (amcheck, CHECK TABLE, "
        "integrity_check); off only for very large databases",
    )
    content_digests: bool = Field(
        True,
        description="verify compares every table's content with the digests the backup read "
        "from the dump (a second read of every restored row); off: tables, row counts and "
        "sampled rows only",
    )
    checks: list[ApplicationCheck] = Field(
        [], description="application checks run on every restored copy"
    )
    files_format: Literal["store", "tar"] = Field(
        "store",
        description="`store`: files stored once per destination (content-addressed, "
        "deduplicated); `tar`: one archive per backup",
    )
    files_reread_days: float = Field(
        30.0, gt=0, description="unchanged files are read again at least this often (store)"
    )
    hooks: HookSettings = Field(
        default_factory=HookSettings, description="commands around a backup"
    )
    # The database's password as the load found it (config/secrets.py); never serialized.
    _password: ResolvedSecret | None = PrivateAttr(None)

    def resolved_password(self) -> ResolvedSecret | None:
        """Return the password resolved when the configuration loaded (None: not yet)."""
        return self._password

    def keep_password(self, secret: ResolvedSecret) -> None:
        """Keep the password resolved for this target."""
        self._password = secret

    @field_validator("database")
    @classmethod
    def _check_database(cls, url: str | None) -> str | None:
        return None if url is None else check_url_scheme(url, DATABASE_SCHEMES)

    @model_validator(mode="after")
    def _check_something_to_back_up(self) -> Self:
        if self.database is None and not self.files:
            raise ValueError("a target needs `database`, `files` or both")
        if self.password_env and self.password_file:
            raise ValueError("set `password_env` or `password_file`, not both")
        names = [path.name for path in self.files]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"`files` are archived under their names; repeated: {repeated}")
        return self


class DestinationSettings(Section):
    """One place backups are written to; the first destination is the primary."""

    name: str = Field("local", pattern=NAME_PATTERN, description="name for `--from` and reports")
    url: str = Field(description="file:///abs/path, file:relative/path or s3://bucket/prefix")
    endpoint_url: str | None = Field(None, description="S3: any S3-compatible server")
    region: str | None = Field(None, description="S3: region")
    profile: str | None = Field(None, description="S3: AWS profile for credentials")
    access_key_id: str | None = Field(None, description="S3: key id (else AWS variables)")
    secret_access_key: SecretStr | None = Field(None, description="S3: secret (else AWS variables)")
    path_style: bool = Field(True, description="S3: path-style addressing")
    server_side_encryption: Literal["AES256", "aws:kms"] | None = Field(
        None, description="S3: server-side encryption"
    )
    max_concurrency: int = Field(4, ge=1, le=32, description="S3: parts uploaded at once")
    part_size_mb: int = Field(16, ge=5, le=5120, description="S3: multipart part size")
    timeout_seconds: float = Field(60.0, gt=0, description="S3: connect and read timeout")
    max_attempts: int = Field(5, ge=1, le=20, description="S3: tries per request, with backoff")

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return check_url_scheme(url, STORAGE_SCHEMES)


class EncryptionSettings(Section):
    """age encryption of parts and authentication of manifests."""

    recipients: list[str] = Field([], description="age public keys the parts are encrypted to")
    identity_file: Path | None = Field(
        None, description="age identity, needed only where verify and restore run"
    )
    signing_key_file: Path | None = Field(
        None, description="Ed25519 private key signing manifests, needed only where backup runs"
    )
    verify_key: str | None = Field(
        None,
        description="public key (`ssh-ed25519 AAAA…`, from `backproof keys show`) every manifest "
        "must be signed with; default: the keys this installation generated",
    )
    allow_unsigned: bool = Field(
        False,
        description="accept unsigned manifests (backups of older versions); report and health warn",
    )
    address_key_file: Path | None = Field(
        None,
        description="secret key naming stored file contents, needed where backup runs "
        "(default: `filestore/address.key` beside the state's locks folder, made at first use)",
    )

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, recipients: list[str]) -> list[str]:
        for recipient in recipients:
            if not recipient.startswith(("age1", "ssh-")):
                raise ValueError(f"{recipient[:12]!r}… is not an age recipient (age1…)")
        return recipients


class VerifySettings(Section):
    """Where the temporary databases of verify are made."""

    url: str | None = Field(
        None,
        description="server for temporary databases (for SQLite, a folder: sqlite:///folder); "
        "default: the source's server; for SQLite a private folder beside the state's locks",
    )
    keep_failed: bool = Field(False, description="keep a temporary database that failed checks")
    files_percent: float = Field(
        100.0,
        gt=0,
        le=100,
        description="share of the stored files whose content a verify reads, a window that "
        "moves each day so every file is read within 100/percent days (files store)",
    )
    heapallindexed_max_mb: float = Field(
        1024.0,
        ge=0,
        description="PostgreSQL: amcheck also proves every row of tables up to this size is "
        "in each of their indexes (heapallindexed); 0: never",
    )
    reprove_days: int = Field(
        30, ge=1, le=3660, description="every kept backup is proved again within this many days"
    )
    # -- parallel restore (issue 12) --
    jobs: int | None = Field(
        None,
        ge=1,
        le=64,
        description="parallel restore of a verify: PostgreSQL pg_restore workers (above 1, "
        "the dump is first written to a local spool as large as the uncompressed dump); "
        "MySQL/MariaDB connections for the INSERT statements; default: the cores",
    )
    spool_dir: Path | None = Field(
        None, description="folder of that spool (default: the system's temporary folder)"
    )
    check_subset_percent: float = Field(
        10.0,
        ge=0,
        le=100,
        description="the scheduled verify also runs `check`, reading this share of the parts "
        "whole (a different share each day); 0: no scheduled check",
    )
    # -- server engines (issue 6): the verify user's password, never in the URL or argv --
    password_env: str | None = Field(
        None, description="environment variable holding the password of verify.url"
    )
    password_file: Path | None = Field(None, description="file holding the password of verify.url")
    # verify.url's password as the load found it (config/secrets.py); never serialized.
    _password: ResolvedSecret | None = PrivateAttr(None)

    def resolved_password(self) -> ResolvedSecret | None:
        """Return the password resolved when the configuration loaded (None: not yet)."""
        return self._password

    def keep_password(self, secret: ResolvedSecret) -> None:
        """Keep the password resolved for ``verify.url``."""
        self._password = secret

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        return None if url is None else check_url_scheme(url, DATABASE_SCHEMES)

    @model_validator(mode="after")
    def _check_password_source(self) -> Self:
        if self.password_env and self.password_file:
            raise ValueError("set `password_env` or `password_file`, not both")
        return self


class RetentionSettings(Section):
    """Which backups cleanup keeps (the defaults of the most used tool in the field)."""

    keep_all_days: int = Field(7, ge=0, description="keep every backup this many days")
    keep_daily_days: int = Field(16, ge=0, description="then the newest of each UTC day")
    keep_weekly_weeks: int = Field(8, ge=0, description="then the newest of each ISO week")
    keep_monthly_months: int = Field(4, ge=0, description="then the newest of each month")
    keep_yearly_years: int = Field(2, ge=0, description="then the newest of each year")
    max_storage_mb: float = Field(
        5000.0, gt=0, description="cap per destination (MB = 10^6 bytes), oldest deleted first"
    )
    debris_min_age_hours: float = Field(
        1.0, ge=0, description="uncommitted backups older than this are removed"
    )


class HealthSettings(Section):
    """The targets health is judged against."""

    window_days: int = Field(7, ge=1, description="window of the success rates")
    min_runs: int = Field(
        3, ge=1, description="a success rate over fewer runs is `pending`, not judged"
    )
    backup_success_rate_min_percent: float = Field(
        99.0, ge=0, le=100, description="warning below this"
    )
    verify_success_rate_min_percent: float = Field(
        99.0, ge=0, le=100, description="warning below this"
    )
    rpo_hours: float = Field(
        24.0, gt=0, description="failing when the newest valid backup is older"
    )
    verify_max_age_hours: float = Field(
        48.0, gt=0, description="warning when no verify passed for this long"
    )
    size_drop_warning_percent: float = Field(
        50.0, gt=0, le=100, description="warn when the newest dump shrank by this much"
    )


class SlackSettings(Section):
    """Slack incoming webhook."""

    webhook_url: SecretStr | None = Field(
        None, description="incoming webhook (or ALERT_SLACK_WEBHOOK)"
    )
    timeout_seconds: float = Field(3.0, gt=0, description="give up on Slack after this")


class EmailSettings(Section):
    """SMTP fallback for alerts."""

    host: str = Field(description="SMTP server")
    port: int = Field(587, ge=1, le=65535, description="SMTP port")
    security: Literal["plain", "starttls", "tls"] = Field("starttls", description="transport")
    username: str | None = Field(None, description="login name")
    password: SecretStr | None = Field(None, description="login password (prefer password_env)")
    password_env: str | None = Field(None, description="variable holding the password")
    from_address: str = Field(alias="from", description="sender address")
    to: list[str] = Field(min_length=1, description="recipients")
    timeout_seconds: float = Field(10.0, gt=0, description="SMTP timeout")


class AlertSettings(Section):
    """Who is told when something is wrong."""

    slack: SlackSettings = Field(default_factory=SlackSettings)
    email: EmailSettings | None = None
    apprise: list[SecretStr] = Field([], description="extra Apprise URLs")
    healthcheck_url: SecretStr | None = Field(
        None, description="dead man's switch pinged around `run` (/start, success, /fail)"
    )
    rate_limit_seconds: float = Field(300.0, ge=0, description="one message per event key per")
    verify_failures_in_a_row: int = Field(2, ge=1, description="verify failures before an alert")
    notify_success: bool = Field(False, description="also announce successes")


class WebSettings(Section):
    """The HTTP service of ``backproof serve``."""

    host: str = Field("127.0.0.1", description="address `serve` binds")
    port: int = Field(9187, ge=0, le=65535, description="port `serve` binds")
    token: SecretStr | None = Field(
        None, description="bearer token; required when binding beyond loopback"
    )


class MetricsSettings(Section):
    """Prometheus exposition."""

    path: str = Field("/crm/ops/metrics", pattern=r"^/", description="HTTP path of the metrics")
    prefix: str = Field(
        "crm_ops_", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", description="metric name prefix"
    )
    pushgateway: str | None = Field(None, description="pushgateway URL; push after each job")
    push_job: str = Field("backproof", description="job label of pushed metrics")


class ReportSettings(Section):
    """The Markdown report."""

    output: Path = Field(Path("docs/16-generated/backup-report.md"), description="Markdown file")
    history: int = Field(14, ge=1, le=1000, description="rows of backups and verifies shown")


class ScheduleSettings(Section):
    """When ``serve`` runs the daily chain."""

    cron: str = Field("0 1 * * *", description="when the daily chain starts (cron syntax)")
    timezone: str = Field("UTC", description="time zone of `cron`")
    shutdown_grace_seconds: float = Field(
        60.0, ge=0, description="on SIGTERM, how long a running job may finish"
    )


class QueueSettings(Section):
    """The fleet (issue 15): jobs sent to Celery workers instead of run in-process."""

    broker_url: SecretStr | None = Field(
        None, description="Celery broker (redis://… or amqp://…); none: jobs run in-process"
    )
    backup_queue: str = Field(
        "backproof", pattern=r"^[A-Za-z0-9_.-]+$", description="queue of backup and cleanup"
    )
    verify_queue: str = Field(
        "backproof", pattern=r"^[A-Za-z0-9_.-]+$", description="queue of verify"
    )
    report_queue: str = Field(
        "backproof", pattern=r"^[A-Za-z0-9_.-]+$", description="queue of report and health"
    )
    verifies_per_server: int = Field(
        2, ge=1, le=64, description="verifies at once on one verify server, over all workers"
    )
    visibility_timeout_seconds: float = Field(
        43200.0,
        ge=10,
        description="Redis: a job not acknowledged in this time is delivered again; "
        "longer than the longest job",
    )
    heartbeat_seconds: float = Field(10.0, gt=0, description="how often a worker says it lives")
    shutdown_grace_seconds: float = Field(
        60.0, ge=0, description="on SIGTERM, how long a worker's running job may finish"
    )

    @field_validator("broker_url")
    @classmethod
    def _check_broker(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            check_url_scheme(url.get_secret_value(), ("redis", "rediss", "amqp", "amqps"))
        return url


class Settings(Section):
    """The whole configuration."""

    state: StateSettings = Field(default_factory=StateSettings)
    targets: list[TargetSettings] = Field(min_length=1)
    destinations: list[DestinationSettings] = Field(min_length=1)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)

    @model_validator(mode="after")
    def _check_queue_state(self) -> Self:
        if self.queue.broker_url is not None and self.state.url.startswith("sqlite"):
            raise ValueError(
                "[queue] needs a state database every worker shares: set state.url to "
                "postgresql://… or mysql://… (SQLite is private to one host)"
            )
        return self

    @model_validator(mode="after")
    def _check_unique_names(self) -> Self:
        for kind, names in (
            ("targets", [target.name for target in self.targets]),
            ("destinations", [destination.name for destination in self.destinations]),
        ):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{kind} names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def target(self, name: str | None) -> TargetSettings:
        """Return the target called ``name`` (the first when None); raise KeyError if unknown."""
        if name is None:
            return self.targets[0]
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)

    def destination(self, name: str | None) -> DestinationSettings:
        """Return the destination called ``name`` (the primary when None)."""
        if name is None:
            return self.destinations[0]
        for destination in self.destinations:
            if destination.name == name:
                return destination
        raise KeyError(name)
