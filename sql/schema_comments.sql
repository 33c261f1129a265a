-- schema_comments: \d+ is part of the manual, so every table, view and
-- column of schema cc has a comment, and every function too.  Each query
-- lists what lacks one: the expected output is zero rows.
-- (Partitions of cc.events take their columns' meaning from the parent.)

-- Tables and views without a comment.
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'cc'::regnamespace
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;

-- Columns without a comment.
SELECT c.relname, a.attname
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'cc'::regnamespace
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND NOT c.relispartition
   AND col_description(c.oid, a.attnum) IS NULL
 ORDER BY 1, 2;

-- Functions without a comment.
SELECT p.oid::regprocedure AS function
  FROM pg_proc p
 WHERE p.pronamespace = 'cc'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1;

-- CHECK constraints are named after their table and say their rule
-- (the name is what a refused row's message shows), within 63 characters.
SELECT conrelid::regclass AS table_name, conname
  FROM pg_constraint
 WHERE connamespace = 'cc'::regnamespace AND contype = 'c'
   AND NOT (SELECT relispartition FROM pg_class WHERE oid = conrelid)
   AND (conname NOT LIKE (SELECT relname FROM pg_class WHERE oid = conrelid) || '\_%'
        OR conname ~ '_check[0-9]*$' OR length(conname) > 63)
 ORDER BY 1, 2;
