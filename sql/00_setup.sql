-- 00_setup: install the extension (pg_cron comes with CASCADE) and check
-- that it made schema cc and the four roles of ARCHITECTURE.md.
CREATE EXTENSION pg_callcenter CASCADE;
SELECT nspname FROM pg_namespace WHERE nspname = 'cc';
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('cc_admin', 'cc_app', 'cc_agent', 'cc_reporting')
 ORDER BY rolname;
