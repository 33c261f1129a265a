-- schema_security: what each role may read and write.  Secrets (digest
-- HA1s, the register_out password, webhook secrets) are readable by none of
-- cc_app, cc_agent, cc_reporting; the rest of those tables is.
\set VERBOSITY terse
BEGIN;
INSERT INTO cc.agents (name, extension, sip_ha1) VALUES ('Ann', '1001', md5('1001:pg_callcenter:secret'));

-- Every role may use the schema.
SELECT r AS role, has_schema_privilege(r, 'cc', 'USAGE') AS usage
  FROM unnest(ARRAY['cc_admin', 'cc_app', 'cc_agent', 'cc_reporting']) AS r ORDER BY 1;

-- Secret columns: only cc_admin (who sets them) may read them.
SELECT t.tab, t.col, r AS role, has_column_privilege(r, 'cc.' || t.tab, t.col, 'SELECT') AS can_read
  FROM (VALUES ('agents', 'sip_ha1'), ('phones', 'sip_ha1'), ('trunks', 'sip_ha1'),
               ('trunks', 'password'), ('webhooks', 'secret'), ('webhooks', 'auth_secret')) AS t (tab, col),
       unnest(ARRAY['cc_admin', 'cc_app', 'cc_agent', 'cc_reporting']) AS r
 ORDER BY 1, 2, 3;

-- cc_reporting reads every table of schema cc except the site's nonce key,
-- and writes none.
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'cc'::regnamespace AND c.relkind IN ('r', 'p', 'v')
   AND NOT c.relispartition
   AND NOT has_any_column_privilege('cc_reporting', c.oid, 'SELECT')
 ORDER BY 1;
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'cc'::regnamespace AND c.relkind IN ('r', 'p')
   AND (has_table_privilege('cc_reporting', c.oid, 'INSERT')
        OR has_table_privilege('cc_reporting', c.oid, 'UPDATE')
        OR has_table_privilege('cc_reporting', c.oid, 'DELETE'))
 ORDER BY 1;

-- cc_admin writes configuration, not history.
SELECT t AS table_name, has_table_privilege('cc_admin', t, 'INSERT') AS can_insert
  FROM unnest(ARRAY['cc.agents', 'cc.queues', 'cc.numbers', 'cc.trunks', 'cc.flows', 'cc.cdrs', 'cc.calls']) AS t
 ORDER BY 1;

-- As cc_reporting: agents' public columns and cc.agents_public are readable,
-- the HA1 is not.
SET LOCAL ROLE cc_reporting;
SELECT name, extension FROM cc.agents;
SELECT name, extension, state FROM cc.agents_public;
SAVEPOINT s;
SELECT sip_ha1 FROM cc.agents;
ROLLBACK TO SAVEPOINT s;
SELECT * FROM cc.agents;
ROLLBACK TO SAVEPOINT s;
-- and it cannot change anything.
UPDATE cc.agents SET name = 'Eve';
ROLLBACK TO SAVEPOINT s;
RESET ROLE;

-- As cc_agent: the public view, not the table's secret.
SET LOCAL ROLE cc_agent;
SELECT name, extension FROM cc.agents_public;
SAVEPOINT s;
SELECT sip_ha1 FROM cc.agents;
ROLLBACK TO SAVEPOINT s;
RESET ROLE;
ROLLBACK;
