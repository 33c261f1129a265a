-- 990_security.sql: who may do what.
--
-- Runs after every other schema file, so the grants cover the lead's
-- tables (events, commands, sip) too.  Four roles (made in 000_base.sql):
--   cc_admin      configuration: reads everything, writes configuration;
--   cc_app        call control API: reads live state and history, calls
--                 the functions, may insert commands by hand;
--   cc_agent      its own state: reads the public side of agents and
--                 queues, calls the functions (agent_set_state, ...);
--   cc_reporting  read-only reporting on every table.
-- Secrets (digest HA1s, the register_out password, webhook secrets, the
-- headers of outbound HTTP requests, which may carry tokens, the nonce key)
-- are never readable by cc_app, cc_agent or cc_reporting:
-- those roles get column-level SELECT on the other columns of such tables,
-- and cc.agents_public shows agents without their secret.

GRANT USAGE ON SCHEMA cc TO cc_admin, cc_app, cc_agent, cc_reporting;

-- Everyone but cc_agent reads every table; secrets are taken back below.
GRANT SELECT ON ALL TABLES IN SCHEMA cc TO cc_admin, cc_app, cc_reporting;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cc TO cc_admin, cc_app, cc_agent;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA cc TO cc_admin, cc_app;

-- cc_admin writes configuration.
GRANT INSERT, UPDATE, DELETE ON
    cc.settings, cc.prompts, cc.schedules, cc.break_reasons, cc.trunks,
    cc.agents, cc.phones, cc.webhooks, cc.flows, cc.flow_versions,
    cc.queues, cc.queue_members, cc.routing_rules, cc.numbers,
    cc.number_queues, cc.blacklisted_numbers, cc.campaigns,
    cc.campaign_numbers, cc.campaign_contacts
    TO cc_admin;

-- cc_app may insert a command row by hand (the trigger notifies the workers).
DO $$
BEGIN
    IF to_regclass('cc.commands') IS NOT NULL THEN
        GRANT INSERT ON cc.commands TO cc_app;
    END IF;
END;
$$;

-- cc_agent sees what its workbench needs.
GRANT SELECT ON cc.queues, cc.queue_members, cc.break_reasons, cc.settings TO cc_agent;

-- Secrets: for each table holding one, replace the table-wide SELECT of
-- cc_app, cc_agent and cc_reporting by SELECT on the other columns.
-- Tables that are secret as a whole are revoked entirely.
DO $$
DECLARE
    t       record;
    cols    text;
    r       text;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel, array_agg(s.col) AS secret_cols
          FROM (VALUES ('agents', 'sip_ha1'), ('phones', 'sip_ha1'),
                       ('trunks', 'sip_ha1'), ('trunks', 'password'),
                       ('webhooks', 'secret'), ('webhooks', 'auth_secret'),
                       ('http_requests', 'headers')) AS s (tab, col)
          JOIN pg_class c ON c.relname = s.tab AND c.relnamespace = 'cc'::regnamespace
         GROUP BY c.oid
    LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname <> ALL (t.secret_cols);
        FOREACH r IN ARRAY ARRAY['cc_app', 'cc_agent', 'cc_reporting'] LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %I', t.rel, r);
            EXECUTE format('GRANT SELECT (%s) ON %s TO %I', cols, t.rel, r);
        END LOOP;
    END LOOP;

    -- The site's nonce key: nobody but the owner.
    IF to_regclass('cc.sip_secrets') IS NOT NULL THEN
        REVOKE ALL ON cc.sip_secrets FROM cc_admin, cc_app, cc_agent, cc_reporting;
    END IF;
END;
$$;

-- Agents without their secret, for whoever may read agents.
CREATE VIEW cc.agents_public AS
    SELECT id, name, nickname, employee_number, email, role, mobile, extension,
           enabled, forced_offline, mobile_mode, default_state_after_login, wrap_up_s,
           state, state_entered_at, state_reason, break_reason_id, max_no_answer,
           no_answer_count, last_call_ended_at
      FROM cc.agents;
COMMENT ON VIEW cc.agents_public IS 'cc.agents without the digest HA1: what applications, agents and reports read.';
COMMENT ON COLUMN cc.agents_public.id IS 'Agent id.';
COMMENT ON COLUMN cc.agents_public.name IS 'Full name.';
COMMENT ON COLUMN cc.agents_public.nickname IS 'Name shown or spoken to customers.';
COMMENT ON COLUMN cc.agents_public.employee_number IS 'Employee number.';
COMMENT ON COLUMN cc.agents_public.email IS 'E-mail address.';
COMMENT ON COLUMN cc.agents_public.role IS 'Role (super_admin, admin, agent, qa_inspector or custom).';
COMMENT ON COLUMN cc.agents_public.mobile IS 'Mobile number.';
COMMENT ON COLUMN cc.agents_public.extension IS 'SIP extension.';
COMMENT ON COLUMN cc.agents_public.enabled IS 'Whether the agent may log in.';
COMMENT ON COLUMN cc.agents_public.forced_offline IS 'Kept offline by a supervisor.';
COMMENT ON COLUMN cc.agents_public.mobile_mode IS 'off, when_offline or always.';
COMMENT ON COLUMN cc.agents_public.default_state_after_login IS 'idle or busy after login (NULL: the setting).';
COMMENT ON COLUMN cc.agents_public.wrap_up_s IS 'After-call work in seconds (NULL: the queue''s).';
COMMENT ON COLUMN cc.agents_public.state IS 'offline, idle, busy, break, ringing, talking, wrap_up.';
COMMENT ON COLUMN cc.agents_public.state_entered_at IS 'When the agent entered its state.';
COMMENT ON COLUMN cc.agents_public.state_reason IS 'Why the agent is in its state.';
COMMENT ON COLUMN cc.agents_public.break_reason_id IS 'Break reason while on break.';
COMMENT ON COLUMN cc.agents_public.max_no_answer IS 'Unanswered offers in a row before a break (0 = never).';
COMMENT ON COLUMN cc.agents_public.no_answer_count IS 'Unanswered offers in a row so far.';
COMMENT ON COLUMN cc.agents_public.last_call_ended_at IS 'When the agent''s last call ended.';
GRANT SELECT ON cc.agents_public TO cc_admin, cc_app, cc_agent, cc_reporting;

-- Tables and functions added after this file (by later schema files or
-- upgrade scripts, run by the same owner) get the same reading rights;
-- such a file must still take back its own secrets.
ALTER DEFAULT PRIVILEGES IN SCHEMA cc GRANT SELECT ON TABLES TO cc_admin, cc_app, cc_reporting;
ALTER DEFAULT PRIVILEGES IN SCHEMA cc GRANT EXECUTE ON FUNCTIONS TO cc_admin, cc_app, cc_agent;
