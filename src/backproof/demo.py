"""The sample CRM of ``backproof demo``: a SQLite database, an uploads folder and a config."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backproof.errors import UsageError

FIRST_NAMES = [
    "Jiří",
    "Petr",
    "Jana",
    "Marie",
    "Tomáš",
    "Lucie",
    "Ondřej",
    "Kateřina",
    "Žofie",
    "Řehoř",
    "Věra",
    "Dušan",
]
LAST_NAMES = [
    "Novák",
    "Dvořák",
    "Černá",
    "Procházka",
    "Kučerová",
    "Veselý",
    "Horák",
    "Němcová",
    "Šťastný",
    "Růžička",
    "Pokorná",
    "Král",
]
COMPANY_WORDS = [
    "Pražské",
    "Brněnské",
    "Ostravské",
    "Strojírny",
    "Pekárna",
    "Účetnictví",
    "Software",
    "Logistika",
    "Čokoládovna",
    "Pivovar",
    "Sklárna",
    "Dřevovýroba",
]
CITIES = [
    "Praha",
    "Brno",
    "Ostrava",
    "Plzeň",
    "Liberec",
    "Olomouc",
    "České Budějovice",
    "Ústí nad Labem",
]
NOTES = [
    "Volal kvůli fakturaci 📞",
    "Schůzka příští týden 🗓️",
    "Poslat nabídku ✉️",
    "Zákazník spokojen 👍",
    "Řešit reklamaci ⚠️",
    "Nová objednávka 🎉",
]
STAGES = ["lead", "qualified", "proposal", "won", "lost"]

SCHEMA = """
CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, ico TEXT,
  created_at TEXT NOT NULL);
CREATE TABLE contacts (id INTEGER PRIMARY KEY, company_id INTEGER REFERENCES companies(id),
  first_name TEXT, last_name TEXT, email TEXT UNIQUE, phone TEXT, created_at TEXT NOT NULL);
CREATE TABLE deals (id INTEGER PRIMARY KEY, company_id INTEGER REFERENCES companies(id),
  title TEXT, stage TEXT, amount_czk REAL, closed_at TEXT);
CREATE TABLE notes (id INTEGER PRIMARY KEY, contact_id INTEGER REFERENCES contacts(id),
  body TEXT, attachment BLOB, created_at TEXT NOT NULL);
CREATE INDEX contacts_company ON contacts(company_id);
CREATE VIEW open_deals AS SELECT * FROM deals WHERE stage NOT IN ('won', 'lost');
CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN SELECT 1; END;
"""

CONFIG_TEMPLATE = """\
# backproof configuration of the demo CRM (written by `backproof demo`).
# Relative paths are relative to this file.

[state]
url = "sqlite:///.backproof/state.db"

[[targets]]
name = "crm"
database = "sqlite:///crm.db"
files = ["storage/app/uploads"]
key_tables = ["companies", "contacts"]

[[destinations]]
name = "local"
url = "file:backups"

[report]
output = "docs/16-generated/backup-report.md"
"""


@dataclass(frozen=True)
class DemoLayout:
    """Where the demo put things."""

    folder: Path
    config: Path
    database: Path
    uploads: Path
    rows: dict[str, int]


def create_demo(
    folder: Path, *, companies: int = 300, seed: int = 7, overwrite: bool = False
) -> DemoLayout:
    """Create the sample CRM and its config in ``folder``; UsageError if one is there already."""
    config = folder / "backproof.toml"
    database = folder / "crm.db"
    if not overwrite and (config.exists() or database.exists()):
        raise UsageError(
            f"{folder} already holds a demo (backproof.toml or crm.db); "
            "use another --dir or --force"
        )
    folder.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    rows = fill_database(database, companies, random.Random(seed))  # noqa: S311 - sample data
    uploads = folder / "storage" / "app" / "uploads"
    write_uploads(uploads, random.Random(seed))  # noqa: S311
    config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    return DemoLayout(folder, config, database, uploads, rows)


def fill_database(path: Path, companies: int, rng: random.Random) -> dict[str, int]:
    """Create the CRM tables in ``path`` and fill them; return the row counts."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    # Closed, not only committed: an open connection keeps the data in the WAL file.
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO companies VALUES (?, ?, ?, ?, ?)",
            [
                (
                    index,
                    f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST_NAMES)} s.r.o.",
                    rng.choice(CITIES),
                    f"{rng.randrange(10**7, 10**8)}",
                    (start + timedelta(hours=index)).isoformat(),
                )
                for index in range(1, companies + 1)
            ],
        )
        contacts = [_contact(index, companies, start, rng) for index in range(1, companies * 4 + 1)]
        connection.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?)", contacts)
        connection.executemany(
            "INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    index,
                    rng.randrange(1, companies + 1),
                    f"Zakázka č. {index} – {rng.choice(COMPANY_WORDS)}",
                    rng.choice(STAGES),
                    round(rng.uniform(1000, 2_000_000), 2),
                    None,
                )
                for index in range(1, companies * 2 + 1)
            ],
        )
        connection.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, ?, ?)",
            [
                (
                    index,
                    rng.randrange(1, len(contacts) + 1),
                    rng.choice(NOTES),
                    rng.randbytes(16) if index % 5 == 0 else None,
                    (start + timedelta(minutes=index)).isoformat(),
                )
                for index in range(1, companies * 5 + 1)
            ],
        )
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("companies", "contacts", "deals", "notes")
        }


def _contact(index: int, companies: int, start: datetime, rng: random.Random) -> tuple[object, ...]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{_ascii(first)}.{_ascii(last)}.{index}@example.cz".lower()
    return (
        index,
        rng.randrange(1, companies + 1),
        first,
        last,
        email,
        f"+420 {rng.randrange(600, 800)} {rng.randrange(100, 1000)} {rng.randrange(100, 1000)}",
        (start + timedelta(minutes=7 * index)).isoformat(),
    )


def _ascii(text: str) -> str:
    table = str.maketrans("áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ", "acdeeinorstuuyzACDEEINORSTUUYZ")
    return text.translate(table)


def write_uploads(folder: Path, rng: random.Random) -> None:
    """Write a few sample uploads: documents, an image-like binary, a nested folder."""
    (folder / "contracts" / "2026").mkdir(parents=True, exist_ok=True)
    (folder / "avatars").mkdir(parents=True, exist_ok=True)
    for index in range(1, 13):
        supplier = rng.choice(COMPANY_WORDS)
        text = f"Smlouva č. {index}\nDodavatel: {supplier} – příliš žluťoučký kůň 🐎\n"
        (folder / "contracts" / "2026" / f"smlouva-{index:03d}.txt").write_text(text * 40, "utf-8")
    for index in range(1, 6):
        (folder / "avatars" / f"avatar-{index}.bin").write_bytes(rng.randbytes(20_000))
    (folder / "README-účetní.txt").write_text("Nahrané soubory CRM 📎\n", "utf-8")
