-- A CRM with the hard cases of a PostgreSQL dump: Czech diacritics and emoji, NULLs, binary
-- data, large text and JSON, reserved-word and mixed-case names, a table without a primary key,
-- empty tables, several schemas, custom types and domains, a partitioned table, views, a
-- materialized view, a trigger and its function, sequences, comments and large objects.
CREATE SCHEMA sales;
COMMENT ON SCHEMA sales IS 'Obchod – příležitosti 💼';
CREATE TYPE deal_stage AS ENUM ('lead', 'qualified', 'won', 'lost');
CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE postal_address AS (street text, city text, zip char(5));

CREATE TABLE companies (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  city text,
  ico char(8),
  logo bytea,
  profile jsonb,
  address postal_address,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE companies IS 'Firmy – zákazníci 🏢';
COMMENT ON COLUMN companies.ico IS 'IČO';

CREATE TABLE contacts (
  id bigserial PRIMARY KEY,
  company_id bigint REFERENCES companies (id),
  first_name text,
  last_name text,
  email email_address UNIQUE,
  tags text[],
  score double precision,
  balance numeric(14, 2),
  birthday date,
  reminder interval,
  created_at timestamptz
);
CREATE INDEX contacts_company ON contacts (company_id);

CREATE TABLE "Order" ("Id" integer PRIMARY KEY, "select" text, "MixedCase" text, "from" date);
CREATE TABLE audit_log (happened_at timestamptz, action text, payload json);
CREATE TABLE empty_table (id integer PRIMARY KEY, note text);
CREATE TABLE documents (id integer PRIMARY KEY, title text, content oid);

CREATE TABLE sales.deals (
  id serial PRIMARY KEY,
  company_id bigint REFERENCES companies (id),
  stage deal_stage NOT NULL,
  amount numeric(12, 2),
  valid_during daterange
);
CREATE TABLE sales.events (id bigint, happened date NOT NULL, note text, PRIMARY KEY (id, happened))
  PARTITION BY RANGE (happened);
CREATE TABLE sales.events_2025 PARTITION OF sales.events
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE sales.events_2026 PARTITION OF sales.events
  FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE SEQUENCE sales.invoice_numbers START 1000;

CREATE VIEW sales.open_deals AS SELECT * FROM sales.deals WHERE stage IN ('lead', 'qualified');
CREATE MATERIALIZED VIEW company_contacts AS
  SELECT company_id, count(*) AS contacts FROM contacts GROUP BY company_id;

CREATE FUNCTION stamp_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := coalesce(NEW.created_at, now());
  RETURN NEW;
END
$$;
CREATE TRIGGER contacts_stamp BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION stamp_contact();

INSERT INTO companies (name, city, ico, logo, profile, address, notes, created_at)
SELECT
  (ARRAY['Pražské strojírny', 'Čokoládovna Žďár', 'Řeznictví Šťastný', 'Pivovar 🍺 Ústí'])[g % 4 + 1]
    || ' ' || g,
  CASE WHEN g % 7 = 0 THEN NULL ELSE (ARRAY['Praha', 'Brno', 'České Budějovice'])[g % 3 + 1] END,
  lpad(g::text, 8, '0'),
  CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text) || '00ff0a0d5c27', 'hex') END,
  jsonb_build_object('employees', g * 3, 'tags', jsonb_build_array('VIP', 'nový 🎉'),
                     'nested', jsonb_build_object('quote', 'he said "ahoj"\n')),
  ROW('Náměstí Míru ' || g, 'Praha', '12000')::postal_address,
  CASE WHEN g = 1 THEN repeat('Dlouhý text s diakritikou ěščřžýáíé 😀 ', 20000) END,
  timestamptz '2025-01-01 08:00:00+01' + g * interval '1 hour'
FROM generate_series(1, 300) AS g;
UPDATE companies SET profile = (SELECT jsonb_agg(jsonb_build_object('i', i, 'text', 'řádek ' || i))
  FROM generate_series(1, 5000) AS i) WHERE id = 2;

INSERT INTO contacts (company_id, first_name, last_name, email, tags, score, balance, birthday,
  reminder, created_at)
SELECT
  g % 300 + 1,
  (ARRAY['Jiří', 'Žofie', 'Řehoř', 'Věra', NULL])[g % 5 + 1],
  (ARRAY['Novák', 'Dvořák', 'Černá', 'Šťastný'])[g % 4 + 1],
  'kontakt' || g || '@příklad.cz',
  ARRAY['zákazník', 'tag "' || g || '"'],
  CASE WHEN g % 11 = 0 THEN NULL ELSE g / 3.0 END,
  g * 1.25,
  date '1970-01-01' + g,
  g * interval '1 minute',
  timestamptz '2025-06-01 12:00:00+02' + g * interval '1 minute'
FROM generate_series(1, 2000) AS g;

INSERT INTO "Order" VALUES (1, 'SELECT * FROM "table"; -- ne', 'MixedCase ✓', '2025-12-31'),
  (2, NULL, E'tab\tnewline\nbackslash\\', NULL);
INSERT INTO audit_log SELECT timestamptz '2025-01-01 00:00:00+00' + g * interval '1 day',
  'update', json_build_object('n', g) FROM generate_series(1, 40) AS g;
INSERT INTO audit_log SELECT happened_at, action, payload FROM audit_log WHERE happened_at < '2025-01-05';
INSERT INTO documents VALUES (1, 'Smlouva 📄', lo_from_bytea(0, convert_to('Obsah smlouvy 🖋️', 'UTF8'))),
  (2, 'Prázdný', lo_from_bytea(0, ''::bytea));
INSERT INTO sales.deals (company_id, stage, amount, valid_during)
SELECT g % 300 + 1, (ARRAY['lead', 'qualified', 'won', 'lost'])[g % 4 + 1]::deal_stage, g * 1000.5,
  daterange(date '2025-01-01' + g, date '2025-02-01' + g)
FROM generate_series(1, 500) AS g;
INSERT INTO sales.events SELECT g, date '2025-06-01' + g, 'událost ' || g FROM generate_series(1, 400) AS g;
SELECT setval('sales.invoice_numbers', 4242);
REFRESH MATERIALIZED VIEW company_contacts;

CREATE TABLE big_table (id bigint PRIMARY KEY, payload text NOT NULL);
