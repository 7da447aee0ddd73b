-- A CRM with the hard cases of a MySQL/MariaDB dump: Czech diacritics and emoji (utf8mb4),
-- NULLs, binary data, large text and JSON, reserved-word and mixed-case names, a table without
-- a primary key, empty tables, a generated column, a partitioned table, a MyISAM table, views,
-- triggers, routines, an event and a sequence.
CREATE TABLE companies (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  city VARCHAR(100),
  ico CHAR(8),
  logo BLOB,
  profile JSON,
  notes LONGTEXT,
  created_at DATETIME(6) NOT NULL
) COMMENT = 'Firmy – zákazníci 🏢';

CREATE TABLE contacts (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  company_id BIGINT,
  first_name VARCHAR(100),
  last_name VARCHAR(100),
  full_name VARCHAR(201) AS (CONCAT_WS(' ', first_name, last_name)) VIRTUAL,
  email VARCHAR(200) UNIQUE,
  score DOUBLE,
  balance DECIMAL(14, 2),
  birthday DATE,
  reminder TIME,
  touched_at TIMESTAMP NULL,
  avatar VARBINARY(64),
  FOREIGN KEY (company_id) REFERENCES companies (id)
);

CREATE TABLE `Order` (`Id` INT PRIMARY KEY, `select` TEXT, `MixedCase` TEXT, `from` DATE, `flags` BIT(5));
CREATE TABLE audit_log (happened_at DATETIME, action VARCHAR(50), payload JSON);
CREATE TABLE empty_table (id INT PRIMARY KEY, note TEXT);
CREATE TABLE legacy_notes (id INT PRIMARY KEY, body TEXT) ENGINE = MyISAM;
CREATE TABLE deal_events (id BIGINT, happened DATE NOT NULL, note TEXT, PRIMARY KEY (id, happened))
  PARTITION BY RANGE (YEAR(happened)) (
    PARTITION p2025 VALUES LESS THAN (2026),
    PARTITION pmax VALUES LESS THAN MAXVALUE
  );
CREATE SEQUENCE invoice_numbers START WITH 1000;
CREATE TABLE big_table (id BIGINT PRIMARY KEY, payload VARCHAR(100) NOT NULL);

CREATE VIEW vip_companies AS SELECT id, name FROM companies WHERE JSON_EXTRACT(profile, '$.vip') = TRUE;

DELIMITER ;;
CREATE TRIGGER contacts_stamp BEFORE INSERT ON contacts FOR EACH ROW
BEGIN
  IF NEW.touched_at IS NULL THEN
    SET NEW.touched_at = '2025-01-01 00:00:00';
  END IF;
END;;
CREATE PROCEDURE count_contacts(IN company BIGINT, OUT total INT)
BEGIN
  SELECT COUNT(*) INTO total FROM contacts WHERE company_id = company;
END;;
CREATE FUNCTION czech_greeting(name VARCHAR(100)) RETURNS VARCHAR(120) DETERMINISTIC
RETURN CONCAT('Dobrý den, ', name, ' 👋');;
DELIMITER ;

CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit_log WHERE happened_at < '2000-01-01';

INSERT INTO companies (name, city, ico, logo, profile, notes, created_at)
SELECT
  CONCAT(ELT(seq % 4 + 1, 'Pražské strojírny', 'Čokoládovna Žďár', 'Řeznictví Šťastný', 'Pivovar 🍺 Ústí'), ' ', seq),
  IF(seq % 7 = 0, NULL, ELT(seq % 3 + 1, 'Praha', 'Brno', 'České Budějovice')),
  LPAD(seq, 8, '0'),
  IF(seq % 5 = 0, NULL, IF(seq % 5 = 1, '', UNHEX(CONCAT(MD5(seq), '00FF0A0D5C27')))),
  JSON_OBJECT('employees', seq * 3, 'vip', seq % 10 = 0, 'tags', JSON_ARRAY('VIP', 'nový 🎉'),
              'quote', 'he said "ahoj"\n'),
  IF(seq = 1, REPEAT('Dlouhý text s diakritikou ěščřžýáíé 😀 ', 20000), NULL),
  TIMESTAMP('2025-01-01 08:00:00') + INTERVAL seq HOUR
FROM seq_1_to_300;
UPDATE companies SET profile = (SELECT JSON_ARRAYAGG(JSON_OBJECT('i', seq, 'text', CONCAT('řádek ', seq))) FROM seq_1_to_5000) WHERE id = 2;

INSERT INTO contacts (company_id, first_name, last_name, email, score, balance, birthday, reminder, touched_at, avatar)
SELECT
  seq % 300 + 1,
  ELT(seq % 5 + 1, 'Jiří', 'Žofie', 'Řehoř', 'Věra', NULL),
  ELT(seq % 4 + 1, 'Novák', 'Dvořák', 'Černá', 'Šťastný'),
  CONCAT('kontakt', seq, '@příklad.cz'),
  IF(seq % 11 = 0, NULL, seq / 3),
  seq * 1.25,
  DATE('1970-01-01') + INTERVAL seq DAY,
  SEC_TO_TIME(seq * 60),
  IF(seq % 2 = 0, NULL, TIMESTAMP('2025-06-01 12:00:00') + INTERVAL seq MINUTE),
  IF(seq % 3 = 0, NULL, UNHEX(SHA2(seq, 256)))
FROM seq_1_to_2000;

INSERT INTO `Order` VALUES (1, 'SELECT * FROM `table`; -- ne', 'MixedCase ✓', '2025-12-31', b'10101'),
  (2, NULL, 'tab\tnewline\nbackslash\\ quote\' ),(', NULL, b'00000');
INSERT INTO audit_log SELECT TIMESTAMP('2025-01-01') + INTERVAL seq DAY, 'update', JSON_OBJECT('n', seq) FROM seq_1_to_40;
INSERT INTO audit_log SELECT happened_at, action, payload FROM audit_log WHERE happened_at < '2025-01-05';
INSERT INTO legacy_notes VALUES (1, 'Stará poznámka'), (2, NULL);
INSERT INTO deal_events SELECT seq, DATE('2025-06-01') + INTERVAL seq DAY, CONCAT('událost ', seq) FROM seq_1_to_400;
SELECT SETVAL(invoice_numbers, 4242);
