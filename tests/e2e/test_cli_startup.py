"""Start-up of the CLI: ``--help`` and ``list`` load only what they use (issue 12).

Time is measured by benchmarks, not here (``benchmarks/bench_startup.py``); these tests read
which modules a real run imported (``python -X importtime``), which does not depend on the load
of the machine.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from backproof.demo import DemoLayout
from backproof.state.sqlite_reads import SCHEMA_HEAD
from cli_process import clean_environment

# Each is a library a command loads only when it needs it: the web stack for `serve`, HTTP for
# alerts, rich for a progress bar on a terminal, Celery and its broker client for the fleet, the
# engines' drivers and tools for a dump or a restore, compression, chunking and encryption for a
# part's bytes, a file lock for a run, Alembic for a due migration.
NOT_FOR_JOBS = {
    "apprise",
    "apscheduler",
    "boto3",
    "botocore",
    "celery",
    "fastapi",
    "httpx",
    "jinja2",
    "kombu",
    "prometheus_client",
    "psycopg",
    "pymysql",
    "redis",
    "rich",
    "starlette",
    "uvicorn",
    "yaml",
}
NEVER_AT_START = NOT_FOR_JOBS | {
    "alembic",
    "cryptography",
    "filelock",
    "pyfastcdc",
    "pyrage",
    "xxhash",
    "zstandard",
}
# `--help` reads no configuration and opens no state database.
NOT_FOR_HELP = NEVER_AT_START | {"pydantic", "sqlalchemy", "tomllib"}
# Modules `list` does not run on a SQLite state database at the newest schema: SQLAlchemy (the
# proofs are read with sqlite3; SQLAlchemy loads where the state must be created or migrated, or
# is a server), Alembic and the audit trail's own module, the pipeline that starts processes
# (the git check of the destination loads it on demand), the alert
# decisions and the dead man's switch (they run after a job, not at start-up), the jobs' records
# (only a stale row needs one), the files store, the other jobs (a backup, a verify, the health
# figures and the metrics, the report), the web pages.
NOT_FOR_LIST = {
    "backproof.jobs.backup",
    "backproof.jobs.verify",
    "backproof.jobs.run",
    "backproof.status",
    "backproof.metrics",
    "backproof.report",
    "backproof.web",
    "backproof.state.activities",
    "backproof.state.database",
    "backproof.process.pipeline",
    "backproof.process.commands",
    "backproof.alert_dispatch",
    "backproof.alerts.deadman",
    "backproof.state.records",
    "backproof.filestore.writer",
    "backproof.filestore.proving",
}
# A backup or a verify of a target without files: the files store's writer and reader (and the
# chunker) load only for a backup whose files are in the store.
FILES_STORE = {"backproof.filestore.writer", "backproof.filestore.proving", "pyfastcdc"}


def imported_modules(demo: DemoLayout, *args: str) -> set[str]:
    """Run ``backproof ARGS…`` in the demo folder; return the modules it imported."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "backproof", *args],
        cwd=demo.folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    lines = [line for line in process.stderr.splitlines() if line.startswith("import time:")]
    assert lines, "python -X importtime printed no import lines"
    return {line.rsplit("|", 1)[-1].strip() for line in lines}


def imported_packages(demo: DemoLayout, *args: str) -> set[str]:
    """Return the top-level packages ``backproof ARGS…`` imported."""
    return {name.split(".")[0] for name in imported_modules(demo, *args)}


def test_help_imports_no_configuration_database_or_engine_library(demo: DemoLayout) -> None:
    loaded = imported_packages(demo, "--help")
    assert "click" in loaded
    assert loaded & NOT_FOR_HELP == set()


def test_list_imports_neither_sqlalchemy_nor_web_nor_engine_nor_codec_libraries(
    demo: DemoLayout,
) -> None:
    imported_packages(demo, "list")  # the first command migrates the new state database
    modules = imported_modules(demo, "list")
    loaded = {name.split(".")[0] for name in modules}
    assert "pydantic" in loaded
    assert loaded & (NEVER_AT_START | {"sqlalchemy"}) == set()
    assert "backproof.state.sqlite_reads" in modules
    assert modules & NOT_FOR_LIST == set()


def test_list_creates_and_migrates_a_missing_state_database_with_sqlalchemy(
    demo: DemoLayout,
) -> None:
    state = demo.folder / ".backproof" / "state.db"
    assert not state.exists()

    loaded = imported_packages(demo, "list")

    assert {"sqlalchemy", "alembic"} <= loaded
    with closing(sqlite3.connect(state)) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == (SCHEMA_HEAD,)


def test_backup_and_verify_of_a_database_only_target_load_neither_files_store_nor_services(
    demo: DemoLayout,
) -> None:
    text = demo.config.read_text(encoding="utf-8")
    without_files = "\n".join(line for line in text.splitlines() if not line.startswith("files = "))
    assert without_files != text.rstrip("\n"), "the demo's config names no files"
    demo.config.write_text(without_files + "\n", encoding="utf-8")
    imported_modules(demo, "list")  # the first command migrates the new state database
    for command in ("backup", "verify"):
        modules = imported_modules(demo, command)
        loaded = {name.split(".")[0] for name in modules}
        assert {"sqlalchemy", "zstandard"} <= loaded, command
        assert loaded & NOT_FOR_JOBS == set(), command
        assert (modules | loaded) & FILES_STORE == set(), command


# The engines: a backup of files alone opens no database (issue 13).
ENGINES = {
    "backproof.sources.registry",
    "backproof.sources.sqlite",
    "backproof.sources.postgresql",
    "backproof.sources.mysql",
}


def test_backup_of_a_files_only_target_loads_no_engine_and_no_service(demo: DemoLayout) -> None:
    text = demo.config.read_text(encoding="utf-8")
    dropped = ("database = ", "key_tables = ")
    files_only = "\n".join(line for line in text.splitlines() if not line.startswith(dropped))
    assert files_only.count("\n") == text.rstrip("\n").count("\n") - 2, "the demo's config changed"
    demo.config.write_text(files_only + "\n", encoding="utf-8")
    imported_modules(demo, "list")  # the first command migrates the new state database

    modules = imported_modules(demo, "backup")

    assert "backproof.filestore.writer" in modules
    assert {name.split(".")[0] for name in modules} & NOT_FOR_JOBS == set()
    assert modules & ENGINES == set()


# A pydantic plugin, installed as pydantic finds plugins (an entry point of the `pydantic` group):
# it notes the name of every model whose validator pydantic builds with it.
PLUGIN_MODULE = """
import os


class NotingPlugin:
    def new_schema_validator(self, schema, schema_type, path, kind, config, settings):
        with open(os.environ["NOTED_MODELS"], "a", encoding="utf-8") as noted:
            noted.write(path.name + "\\n")
        return None, None, None


plugin = NotingPlugin()
"""


def install_noting_plugin(folder: Path) -> None:
    """Write the plugin's module and distribution metadata into ``folder`` (for PYTHONPATH)."""
    (folder / "noting_plugin.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    metadata = folder / "noting_plugin-1.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: noting-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (metadata / "entry_points.txt").write_text(
        "[pydantic]\nnoting = noting_plugin:plugin\n", encoding="utf-8"
    )


def run_list_with_plugin(demo: DemoLayout, tmp_path: Path, **variables: str) -> str:
    """Run ``backproof list`` with the noting plugin installed; return the models it noted."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if not (site / "noting_plugin.py").exists():
        install_noting_plugin(site)
    noted = tmp_path / "noted.txt"
    noted.unlink(missing_ok=True)
    environment = {**clean_environment(), "PYTHONPATH": str(site), "NOTED_MODELS": str(noted)}
    environment.pop("PYDANTIC_DISABLE_PLUGINS", None)
    process = subprocess.run(
        [sys.executable, "-m", "backproof", "list"],
        cwd=demo.folder,
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    return noted.read_text(encoding="utf-8") if noted.exists() else ""


def test_backproof_runs_without_pydantic_plugins_unless_the_user_asks_for_them(
    demo: DemoLayout, tmp_path: Path
) -> None:
    imported_packages(demo, "list")  # the first command migrates the new state database

    assert run_list_with_plugin(demo, tmp_path) == ""
    assert "Settings" in run_list_with_plugin(demo, tmp_path, PYDANTIC_DISABLE_PLUGINS="").split()
