-- hot_updates: the state changes of calls and agents, several per call,
-- are HOT updates (no new index entries).  That holds only while no index
-- of either table covers a column those changes write, state above all,
-- in its key or its predicate (live calls are indexed on ended_at IS NULL,
-- which is the same set as state <> 'ended').  All rolled back.
\set VERBOSITY terse
BEGIN;

-- No index of cc.calls or cc.agents names state.
SELECT i.indexrelid::regclass AS index_on_state
  FROM pg_index AS i
 WHERE i.indrelid IN ('cc.calls'::regclass, 'cc.agents'::regclass)
   AND ((SELECT a.attnum FROM pg_attribute AS a WHERE a.attrelid = i.indrelid AND a.attname = 'state') = ANY (i.indkey)
        OR pg_get_expr(i.indpred, i.indrelid) ~ '\mstate\M'
        OR pg_get_expr(i.indexprs, i.indrelid) ~ '\mstate\M');

-- A call through its states, and an agent through its own: every update
-- is HOT.
INSERT INTO cc.agents (id, name, extension)
VALUES ('00000000-0000-0000-0000-00000000a001', 'Ann', '1001');
INSERT INTO cc.calls (id, direction, caller, callee)
VALUES ('00000000-0000-0000-0000-00000000c001', 'inbound', '+15550100', '+862120001000');
CREATE TEMP TABLE before AS
SELECT c.oid::regclass AS t, pg_stat_get_xact_tuples_updated(c.oid) AS updated,
       pg_stat_get_xact_tuples_hot_updated(c.oid) AS hot
  FROM pg_class AS c WHERE c.oid IN ('cc.calls'::regclass, 'cc.agents'::regclass);
UPDATE cc.calls SET state = 'ivr' WHERE id = '00000000-0000-0000-0000-00000000c001';
UPDATE cc.calls SET state = 'queued' WHERE id = '00000000-0000-0000-0000-00000000c001';
UPDATE cc.calls SET state = 'offering' WHERE id = '00000000-0000-0000-0000-00000000c001';
UPDATE cc.calls SET state = 'connected', connected_at = now() WHERE id = '00000000-0000-0000-0000-00000000c001';
SELECT cc.agent_login('00000000-0000-0000-0000-00000000a001') IS NOT NULL AS logged_in;
SELECT cc.agent_set_state('00000000-0000-0000-0000-00000000a001', 'busy') IS NOT NULL AS busy;
SELECT cc.agent_set_state('00000000-0000-0000-0000-00000000a001', 'idle') IS NOT NULL AS idle;
SELECT b.t AS table_name, pg_stat_get_xact_tuples_updated(b.t) - b.updated AS updates,
       pg_stat_get_xact_tuples_hot_updated(b.t) - b.hot AS hot_updates
  FROM before AS b ORDER BY 1;
ROLLBACK;
