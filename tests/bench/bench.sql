-- SQLite workload for scripts/bench: inserts, an index, joins, aggregates,
-- window functions and sorting. @N@ is replaced by the harness (rows / 10).
-- Only integers are printed, so arm64 and x86-64 agree.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, region INTEGER);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, amount INTEGER, day INTEGER, note TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < @N@)
INSERT INTO customer SELECT x, 'cust' || (x * 7919 % 100003), x % 17 FROM n;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < @N@ * 10)
INSERT INTO orders SELECT x, 1 + (x * 2654435761) % @N@, (x * 48271) % 10007, x % 365,
    printf('order-%d-%s', x, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26, 5)) FROM n;
COMMIT;
CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_day ON orders(day, amount);
SELECT count(*), sum(amount), min(amount), max(amount) FROM orders;
SELECT c.region, count(*), sum(o.amount), sum(o.amount) * 100 / count(*)
  FROM orders o JOIN customer c ON c.id = o.customer GROUP BY c.region ORDER BY c.region;
SELECT c.name, sum(o.amount) AS total FROM customer c JOIN orders o ON o.customer = c.id
  GROUP BY c.id ORDER BY total DESC, c.id LIMIT 5;
SELECT day, count(*) FROM orders WHERE amount BETWEEN 5000 AND 5100 GROUP BY day ORDER BY count(*) DESC, day LIMIT 5;
SELECT count(*) FROM orders WHERE note LIKE '%-klm%';
SELECT count(DISTINCT customer) FROM orders WHERE day < 30;
SELECT region, name, rnk FROM (
  SELECT c.region, c.name, rank() OVER (PARTITION BY c.region ORDER BY sum(o.amount) DESC, c.id) AS rnk
    FROM customer c JOIN orders o ON o.customer = c.id GROUP BY c.id)
  WHERE rnk = 1 ORDER BY region;
UPDATE orders SET amount = amount + 1 WHERE day % 7 = 0;
DELETE FROM orders WHERE amount < 100;
SELECT count(*), sum(amount) FROM orders;
SELECT sum(length(notes)) FROM (SELECT group_concat(note, ',') AS notes FROM orders GROUP BY day);
