"""Generate a realistic CRM database of about a given size, on PostgreSQL or MariaDB.

    python benchmarks/generate_crm.py --engine postgresql --size-mb 1000 --database bench_crm
    python benchmarks/generate_crm.py --engine mariadb --size-mb 100 --database bench_crm

Companies, contacts, deals, activities with free text, attachments with binary content and an
audit log without a primary key, with Czech names, e-mails, JSON profiles and NULLs, in the
proportions of a CRM that has run for some years. Rows are made by the server itself
(``generate_series`` / the sequence engine), deterministically, so that two runs of the same
size dump to the same bytes. The database is dropped and created again. Prints the size of its
table data (without indexes) in MB.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
import pymysql

# Rows per 1000 MB of table data; every count scales linearly with the size asked for.
ROWS_PER_GB = {
    "companies": 30_000,
    "contacts": 1_450_000,
    "deals": 440_000,
    "activities": 1_900_000,
    "attachments": 58_000,
    "audit_log": 730_000,
}

FIRST = "'Jiří','Petr','Jana','Marie','Tomáš','Lucie','Ondřej','Kateřina','Žofie','Řehoř','Věra'"
LAST = "'Novák','Dvořák','Černá','Procházka','Kučerová','Veselý','Horák','Němcová','Šťastný'"
CITIES = "'Praha','Brno','Ostrava','Plzeň','Liberec','Olomouc','České Budějovice','Ústí nad Labem'"
WORDS = "'schůzka','nabídka','faktura','reklamace','objednávka','telefonát','smlouva','sleva'"

POSTGRESQL = f"""
CREATE TABLE companies (id bigint PRIMARY KEY, name text NOT NULL, city text, ico char(8),
  website text, profile jsonb, created_at timestamptz NOT NULL);
CREATE TABLE contacts (id bigint PRIMARY KEY, company_id bigint REFERENCES companies (id),
  first_name text, last_name text, email text, phone text, position text, note text,
  created_at timestamptz NOT NULL);
CREATE TABLE deals (id bigint PRIMARY KEY, company_id bigint REFERENCES companies (id),
  contact_id bigint REFERENCES contacts (id), title text, stage text, amount numeric(14, 2),
  closed_at date, created_at timestamptz NOT NULL);
CREATE TABLE activities (id bigint PRIMARY KEY, contact_id bigint REFERENCES contacts (id),
  kind text, subject text, body text, happened_at timestamptz NOT NULL);
CREATE TABLE attachments (id bigint PRIMARY KEY, activity_id bigint REFERENCES activities (id),
  file_name text, mime text, content bytea);
CREATE TABLE audit_log (happened_at timestamptz, actor text, action text, payload jsonb);
INSERT INTO companies SELECT g,
  (ARRAY[{LAST}])[(g % 9 + 1)::int] || ' a syn ' || g || ' s.r.o.',
  CASE WHEN g % 13 = 0 THEN NULL ELSE (ARRAY[{CITIES}])[(g % 8 + 1)::int] END,
  lpad((g * 7919 % 100000000)::text, 8, '0'), 'https://firma' || g || '.cz',
  jsonb_build_object('employees', g % 500, 'segment', (ARRAY['SMB','enterprise'])[(g % 2 + 1)::int],
    'tags', jsonb_build_array((ARRAY[{WORDS}])[(g % 8 + 1)::int], 'VIP 🎉')),
  timestamptz '2019-01-01 00:00:00+00' + g * interval '17 minutes'
FROM generate_series(1::bigint, @companies@) AS g;
INSERT INTO contacts SELECT g, g % @companies@ + 1,
  (ARRAY[{FIRST}])[(g % 11 + 1)::int], (ARRAY[{LAST}])[(g % 9 + 1)::int],
  'kontakt' || g || '@firma' || (g % @companies@ + 1) || '.cz',
  '+420 ' || lpad((g * 104729 % 1000000000)::text, 9, '0'),
  CASE WHEN g % 4 = 0 THEN NULL
    ELSE (ARRAY['jednatel','nákup','účetní','IT'])[(g % 4 + 1)::int] END,
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'Poznámka: ' || md5(g::text) || ' ' ||
    (ARRAY[{WORDS}])[(g % 8 + 1)::int] END,
  timestamptz '2019-01-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1::bigint, @contacts@) AS g;
INSERT INTO deals SELECT g, g % @companies@ + 1, g % @contacts@ + 1,
  'Zakázka ' || (ARRAY[{WORDS}])[(g % 8 + 1)::int] || ' ' || g,
  (ARRAY['lead','qualified','proposal','won','lost'])[(g % 5 + 1)::int],
  (g * 7919 % 10000000) / 100.0,
  CASE WHEN g % 5 >= 3 THEN date '2020-01-01' + (g % 2000)::int END,
  timestamptz '2019-06-01 00:00:00+00' + g * interval '3 minutes'
FROM generate_series(1::bigint, @deals@) AS g;
INSERT INTO activities SELECT g, g % @contacts@ + 1,
  (ARRAY['e-mail','telefonát','schůzka','poznámka'])[(g % 4 + 1)::int],
  'Re: ' || (ARRAY[{WORDS}])[(g % 8 + 1)::int] || ' č. ' || g,
  'Dobrý den, posílám ' || (ARRAY[{WORDS}])[(g % 8 + 1)::int] || ' k projednání. ' ||
    repeat(md5(g::text) || ' ', (1 + g % 6)::int) || 'S pozdravem, ' ||
    (ARRAY[{FIRST}])[(g % 11 + 1)::int],
  timestamptz '2019-01-01 00:00:00+00' + g * interval '45 seconds'
FROM generate_series(1::bigint, @activities@) AS g;
INSERT INTO attachments SELECT g, g * 31 % @activities@ + 1, 'příloha-' || g || '.pdf',
  'application/pdf', decode(repeat(md5(g::text) || md5((g + 1)::text), 30), 'hex')
FROM generate_series(1::bigint, @attachments@) AS g;
INSERT INTO audit_log SELECT timestamptz '2019-01-01 00:00:00+00' + g * interval '2 minutes',
  'uživatel' || g % 40, (ARRAY['insert','update','delete'])[(g % 3 + 1)::int],
  jsonb_build_object('table', 'contacts', 'id', g % @contacts@ + 1, 'hash', md5(g::text))
FROM generate_series(1::bigint, @audit_log@) AS g;
CREATE INDEX contacts_company ON contacts (company_id);
CREATE INDEX activities_contact ON activities (contact_id);
CREATE VIEW open_deals AS SELECT * FROM deals WHERE stage NOT IN ('won', 'lost');
"""

MARIADB = f"""
CREATE TABLE companies (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, city VARCHAR(100),
  ico CHAR(8), website VARCHAR(200), profile JSON, created_at DATETIME NOT NULL);
CREATE TABLE contacts (id BIGINT PRIMARY KEY, company_id BIGINT, first_name VARCHAR(100),
  last_name VARCHAR(100), email VARCHAR(200), phone VARCHAR(30), position VARCHAR(50),
  note TEXT, created_at DATETIME NOT NULL, FOREIGN KEY (company_id) REFERENCES companies (id));
CREATE TABLE deals (id BIGINT PRIMARY KEY, company_id BIGINT, contact_id BIGINT,
  title VARCHAR(200), stage VARCHAR(20), amount DECIMAL(14, 2), closed_at DATE,
  created_at DATETIME NOT NULL);
CREATE TABLE activities (id BIGINT PRIMARY KEY, contact_id BIGINT, kind VARCHAR(20),
  subject VARCHAR(200), body TEXT, happened_at DATETIME NOT NULL, KEY (contact_id));
CREATE TABLE attachments (id BIGINT PRIMARY KEY, activity_id BIGINT, file_name VARCHAR(200),
  mime VARCHAR(100), content BLOB);
CREATE TABLE audit_log (happened_at DATETIME, actor VARCHAR(50), action VARCHAR(20),
  payload JSON);
SET FOREIGN_KEY_CHECKS = 0;
INSERT INTO companies SELECT seq, CONCAT(ELT(seq % 9 + 1, {LAST}), ' a syn ', seq, ' s.r.o.'),
  IF(seq % 13 = 0, NULL, ELT(seq % 8 + 1, {CITIES})), LPAD(seq * 7919 % 100000000, 8, '0'),
  CONCAT('https://firma', seq, '.cz'),
  JSON_OBJECT('employees', seq % 500, 'segment', ELT(seq % 2 + 1, 'SMB', 'enterprise'),
    'tags', JSON_ARRAY(ELT(seq % 8 + 1, {WORDS}), 'VIP 🎉')),
  TIMESTAMP('2019-01-01') + INTERVAL seq * 17 MINUTE
FROM seq_1_to_@companies@;
INSERT INTO contacts SELECT seq, seq % @companies@ + 1, ELT(seq % 11 + 1, {FIRST}),
  ELT(seq % 9 + 1, {LAST}), CONCAT('kontakt', seq, '@firma', seq % @companies@ + 1, '.cz'),
  CONCAT('+420 ', LPAD(seq * 104729 % 1000000000, 9, '0')),
  IF(seq % 4 = 0, NULL, ELT(seq % 4 + 1, 'jednatel', 'nákup', 'účetní', 'IT')),
  IF(seq % 3 = 0, NULL, CONCAT('Poznámka: ', MD5(seq), ' ', ELT(seq % 8 + 1, {WORDS}))),
  TIMESTAMP('2019-01-01') + INTERVAL seq MINUTE
FROM seq_1_to_@contacts@;
INSERT INTO deals SELECT seq, seq % @companies@ + 1, seq % @contacts@ + 1,
  CONCAT('Zakázka ', ELT(seq % 8 + 1, {WORDS}), ' ', seq),
  ELT(seq % 5 + 1, 'lead', 'qualified', 'proposal', 'won', 'lost'), (seq * 7919 % 10000000) / 100,
  IF(seq % 5 >= 3, DATE('2020-01-01') + INTERVAL seq % 2000 DAY, NULL),
  TIMESTAMP('2019-06-01') + INTERVAL seq * 3 MINUTE
FROM seq_1_to_@deals@;
INSERT INTO activities SELECT seq, seq % @contacts@ + 1,
  ELT(seq % 4 + 1, 'e-mail', 'telefonát', 'schůzka', 'poznámka'),
  CONCAT('Re: ', ELT(seq % 8 + 1, {WORDS}), ' č. ', seq),
  CONCAT('Dobrý den, posílám ', ELT(seq % 8 + 1, {WORDS}), ' k projednání. ',
    REPEAT(CONCAT(MD5(seq), ' '), 1 + seq % 6), 'S pozdravem, ', ELT(seq % 11 + 1, {FIRST})),
  TIMESTAMP('2019-01-01') + INTERVAL seq * 45 SECOND
FROM seq_1_to_@activities@;
INSERT INTO attachments SELECT seq, seq * 31 % @activities@ + 1, CONCAT('příloha-', seq, '.pdf'),
  'application/pdf', UNHEX(REPEAT(CONCAT(MD5(seq), MD5(seq + 1)), 30))
FROM seq_1_to_@attachments@;
INSERT INTO audit_log SELECT TIMESTAMP('2019-01-01') + INTERVAL seq * 2 MINUTE,
  CONCAT('uživatel', seq % 40), ELT(seq % 3 + 1, 'insert', 'update', 'delete'),
  JSON_OBJECT('table', 'contacts', 'id', seq % @contacts@ + 1, 'hash', MD5(seq))
FROM seq_1_to_@audit_log@;
SET FOREIGN_KEY_CHECKS = 1;
CREATE VIEW open_deals AS SELECT * FROM deals WHERE stage NOT IN ('won', 'lost');
"""


def row_counts(size_mb: float) -> dict[str, int]:
    """Return the rows of each table for about ``size_mb`` MB of table data."""
    return {table: max(1, round(rows * size_mb / 1000)) for table, rows in ROWS_PER_GB.items()}


def fill(script: str, counts: dict[str, int]) -> str:
    """Return ``script`` with each ``@table@`` replaced by its row count."""
    for table, rows in counts.items():
        script = script.replace(f"@{table}@", str(rows))
    return script


def generate_postgresql(admin_url: str, database: str, counts: dict[str, int]) -> float:
    """(Re)create ``database`` with the CRM; return its table data in MB."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]
        admin.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
    target = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    with psycopg.connect(target, autocommit=True) as connection:
        script = fill(POSTGRESQL, counts)
        connection.execute(script)  # type: ignore[arg-type]
        connection.execute("VACUUM ANALYZE")
        row = connection.execute(
            "SELECT sum(pg_table_size(c.oid)) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()
    return float(row[0] if row else 0) / 1e6


def generate_mariadb(admin: dict[str, Any], database: str, counts: dict[str, int]) -> float:
    """(Re)create ``database`` with the CRM; return its table data in MB."""
    connection = pymysql.connect(**admin, charset="utf8mb4", autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            cursor.execute(f"USE `{database}`")
            script = fill(MARIADB, counts)
            for statement in filter(None, (part.strip() for part in script.split(";\n"))):
                cursor.execute(statement)
            cursor.execute(f"ANALYZE TABLE {', '.join(counts)}")
            cursor.fetchall()
            cursor.execute(
                "SELECT SUM(DATA_LENGTH) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
                (database,),
            )
            (size,) = cursor.fetchone()
    finally:
        connection.close()
    return float(size or 0) / 1e6


def main() -> None:
    """Parse the arguments, generate, print the size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "mariadb"], required=True)
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--database", default="bench_crm")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    counts = row_counts(arguments.size_mb)
    started = time.monotonic()
    if arguments.engine == "postgresql":
        size_mb = generate_postgresql(arguments.admin_url, arguments.database, counts)
    else:
        admin = {"host": "127.0.0.1", "port": 3306, "user": "root"}
        size_mb = generate_mariadb(admin, arguments.database, counts)
    elapsed = time.monotonic() - started
    print(
        f"{arguments.engine} {arguments.database}: {size_mb:.0f} MB of table data, "
        f"{sum(counts.values())} rows, generated in {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
