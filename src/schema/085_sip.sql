-- 085_sip.sql: the SIP decisions that cc sip asks.
--
-- cc sip describes each request it cannot answer by itself as JSON and
-- calls cc.sip_request(); the answer (status, reason, headers, body) comes
-- back as JSON.  The registrar lives here: digest authentication of agents'
-- phones (user = extension, realm = cc.sip_realm, the password known only
-- as its HA1), their contacts in cc.registrations, and the blocking of
-- addresses that fail too often.

-- Our own SIP host, for the From URIs of the requests we send (offers to
-- agents, calls placed by call control).  cc.sip_listen may bind a wildcard
-- host (sip:*:5060, sip:0.0.0.0:5060, sip:[::]:5060), which is no address a
-- peer can answer: the media address cc.rtp_ip (or 127.0.0.1) stands in.
CREATE FUNCTION cc.sip_host_of(listen text, fallback_ip text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    hostport text := substring(listen FROM '^sips?:((?:\[[^]]+\]|[^:;>[:space:]]*)(?::[0-9]+)?)');
BEGIN
    IF hostport IS NULL THEN
        RAISE EXCEPTION 'cc: % is not a sip: URI', coalesce(quote_literal(listen), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'For example sip:192.0.2.10:5060 or sip:*:5060.';
    ELSIF fallback_ip IS NULL OR fallback_ip !~ '^[A-Za-z0-9.:-]+$' THEN
        RAISE EXCEPTION 'cc: % is not an address to stand for a wildcard host', coalesce(quote_literal(fallback_ip), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'An IP address or a host name, for example 192.0.2.10 or 2001:db8::10.';
    END IF;
    RETURN regexp_replace(hostport, '^(\*|0\.0\.0\.0|\[::\])?(?=:|$)',
                          CASE WHEN fallback_ip LIKE '%:%' THEN '[' || fallback_ip || ']' ELSE fallback_ip END);
END;
$$;
COMMENT ON FUNCTION cc.sip_host_of(text, text) IS
    'host[:port] of a sip: URI such as cc.sip_listen; a wildcard or missing host (*, 0.0.0.0, [::]) becomes fallback_ip.';

CREATE FUNCTION cc.sip_local_host() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT cc.sip_host_of(coalesce(nullif(current_setting('cc.sip_listen', true), ''), 'sip:127.0.0.1:5060'),
                          coalesce(nullif(current_setting('cc.rtp_ip', true), ''), '127.0.0.1'));
$$;
COMMENT ON FUNCTION cc.sip_local_host() IS
    'host[:port] of our SIP address (cc.sip_listen; a wildcard host becomes cc.rtp_ip or 127.0.0.1), for the From URIs we send.';

-- The secret that signs our nonces, one per site, made at install.
CREATE TABLE cc.sip_secrets (
    id          boolean     PRIMARY KEY DEFAULT true,
    nonce_key   text        NOT NULL DEFAULT md5(gen_random_uuid()::text || clock_timestamp()::text),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sip_secrets_one_row CHECK (id)
);
COMMENT ON TABLE cc.sip_secrets IS 'The site''s key that signs digest nonces (one row; readable by nobody but the owner).';
COMMENT ON COLUMN cc.sip_secrets.id IS 'Always true: the table has one row.';
COMMENT ON COLUMN cc.sip_secrets.nonce_key IS 'Random key; nonces are time.md5(time:key), so any cc sip of the site can check them without state.';
COMMENT ON COLUMN cc.sip_secrets.created_at IS 'When the key was made.';
INSERT INTO cc.sip_secrets DEFAULT VALUES;

-- Failed digest attempts per source address.
CREATE TABLE cc.sip_auth_failures (
    address         inet        PRIMARY KEY,
    failures        integer     NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    blocked_until   timestamptz,
    CONSTRAINT sip_auth_failures_failures_not_negative CHECK (failures >= 0)
);
COMMENT ON TABLE cc.sip_auth_failures IS
    'Failed SIP authentications in a row per source address; after cc.sip_auth_max_failures() the address is blocked for cc.sip_auth_block_interval().';
COMMENT ON COLUMN cc.sip_auth_failures.address IS 'Source IP address of the failing requests.';
COMMENT ON COLUMN cc.sip_auth_failures.failures IS 'Failures in a row (a success resets the row).';
COMMENT ON COLUMN cc.sip_auth_failures.last_failure_at IS 'When the last failure happened.';
COMMENT ON COLUMN cc.sip_auth_failures.blocked_until IS 'Requests from the address are refused until then.';

CREATE FUNCTION cc.sip_auth_max_failures() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 5';
COMMENT ON FUNCTION cc.sip_auth_max_failures() IS 'Failed authentications in a row before an address is blocked (5: the sixth attempt is refused).';
CREATE FUNCTION cc.sip_auth_block_interval() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '10 minutes'$$;
COMMENT ON FUNCTION cc.sip_auth_block_interval() IS 'How long a blocked address stays blocked (10 minutes).';
CREATE FUNCTION cc.sip_nonce_lifetime() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '5 minutes'$$;
COMMENT ON FUNCTION cc.sip_nonce_lifetime() IS 'How long a digest nonce stays valid; an older one gets a new challenge with stale=true.';

CREATE FUNCTION cc.sip_realm() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('cc.sip_realm', true), ''), 'pg_callcenter') $$;
COMMENT ON FUNCTION cc.sip_realm() IS 'The digest realm: the cc.sip_realm setting.';

CREATE FUNCTION cc.sip_ha1(extension text, password text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT md5(extension || ':' || cc.sip_realm() || ':' || password) $$;
COMMENT ON FUNCTION cc.sip_ha1(text, text) IS
    'The digest HA1 of an extension''s password in this realm: what cc.agents stores instead of the password.';

CREATE FUNCTION cc.sip_nonce() RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
    SELECT t || '.' || md5(t || ':' || (SELECT nonce_key FROM cc.sip_secrets))
      FROM (SELECT to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS t) AS now_hex;
$$;
COMMENT ON FUNCTION cc.sip_nonce() IS 'A fresh digest nonce: the time, signed with the site''s key.';

CREATE FUNCTION cc.sip_nonce_state(nonce text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t       text := split_part(nonce, '.', 1);
    issued  timestamptz;
BEGIN
    IF nonce IS NULL OR t !~ '^[0-9a-f]{1,15}$'
       OR split_part(nonce, '.', 2) <> md5(t || ':' || (SELECT nonce_key FROM cc.sip_secrets)) THEN
        RETURN 'invalid';
    END IF;
    issued := to_timestamp(('x' || lpad(t, 16, '0'))::bit(64)::bigint / 1000.0);
    IF issued < clock_timestamp() - cc.sip_nonce_lifetime() THEN
        RETURN 'stale';
    END IF;
    RETURN 'valid';
END;
$$;
COMMENT ON FUNCTION cc.sip_nonce_state(text) IS 'valid, stale (ours but too old) or invalid (not ours).';

CREATE FUNCTION cc.sip_challenge(stale boolean DEFAULT false, proxy boolean DEFAULT false) RETURNS jsonb
LANGUAGE sql VOLATILE
AS $$
    SELECT jsonb_build_object(
        'status', CASE WHEN proxy THEN 407 ELSE 401 END,
        'reason', CASE WHEN proxy THEN 'Proxy Authentication Required' ELSE 'Unauthorized' END,
        'headers', jsonb_build_object(CASE WHEN proxy THEN 'Proxy-Authenticate' ELSE 'WWW-Authenticate' END,
            format('Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"%s',
                   cc.sip_realm(), cc.sip_nonce(), CASE WHEN stale THEN ', stale=true' ELSE '' END)));
$$;
COMMENT ON FUNCTION cc.sip_challenge(boolean, boolean) IS
    'A digest challenge with a fresh nonce: 401 with WWW-Authenticate (REGISTER), or 407 with Proxy-Authenticate when proxy (INVITE, as phones expect).';

CREATE FUNCTION cc.sip_digest_matches(auth jsonb, method text, ha1 text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ha1 IS NOT NULL AND auth->>'response' =
        CASE WHEN auth->>'qop' IS NULL
             THEN md5(ha1 || ':' || (auth->>'nonce') || ':' || md5(method || ':' || (auth->>'uri')))
             ELSE md5(ha1 || ':' || (auth->>'nonce') || ':' || (auth->>'nc') || ':' || (auth->>'cnonce')
                      || ':' || (auth->>'qop') || ':' || md5(method || ':' || (auth->>'uri')))
        END;
$$;
COMMENT ON FUNCTION cc.sip_digest_matches(jsonb, text, text) IS
    'Whether the Authorization parameters (auth) prove knowledge of ha1 for method (RFC 2617 MD5, with or without qop=auth).';

CREATE FUNCTION cc.sip_auth_failed(address inet) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO cc.sip_auth_failures AS f (address, failures, last_failure_at)
    VALUES (address, 1, now())
    ON CONFLICT ON CONSTRAINT sip_auth_failures_pkey DO UPDATE
       SET failures = f.failures + 1, last_failure_at = now()
    RETURNING failures INTO n;
    IF n >= cc.sip_auth_max_failures() THEN
        UPDATE cc.sip_auth_failures AS f SET blocked_until = now() + cc.sip_auth_block_interval()
         WHERE f.address = sip_auth_failed.address;
        PERFORM cc.event_append('sip.address_blocked',
            jsonb_build_object('address', host(address), 'failures', n,
                               'until', now() + cc.sip_auth_block_interval()));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.sip_auth_failed(inet) IS 'Counts a failed authentication from address and blocks it at the limit.';

-- PL/pgSQL, not SQL: it runs for every INVITE, and PL/pgSQL keeps its plan
-- for the session where a SQL function with a subquery is planned again at
-- every call.
CREATE FUNCTION cc.sip_address_blocked(address inet) RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM cc.sip_auth_failures AS f
                    WHERE f.address = sip_address_blocked.address AND f.blocked_until > now());
END;
$$;
COMMENT ON FUNCTION cc.sip_address_blocked(inet) IS 'Whether requests from address are refused for now.';

-- cc.sip_account finds who a digest user name belongs to: an agent's
-- extension, a desk phone's extension or a register_in trunk's account.
CREATE FUNCTION cc.sip_account(username text) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(
        (SELECT jsonb_build_object('kind', 'agent', 'id', a.id, 'agent_id', a.id, 'ha1', a.sip_ha1)
           FROM cc.agents AS a WHERE a.extension = username AND a.enabled AND a.sip_ha1 IS NOT NULL),
        (SELECT jsonb_build_object('kind', 'phone', 'id', p.id, 'phone_id', p.id, 'agent_id', p.agent_id, 'ha1', p.sip_ha1)
           FROM cc.phones AS p WHERE p.extension = username AND p.enabled AND p.sip_ha1 IS NOT NULL),
        (SELECT jsonb_build_object('kind', 'trunk', 'id', t.id, 'trunk_id', t.id, 'ha1', t.sip_ha1)
           FROM cc.trunks AS t
          WHERE t.mode = 'register_in' AND t.username = sip_account.username AND t.enabled
          ORDER BY t.created_at LIMIT 1));
$$;
COMMENT ON FUNCTION cc.sip_account(text) IS
    'Who a digest user name is: {"kind": "agent"|"phone"|"trunk", "id", "agent_id"/"phone_id"/"trunk_id", "ha1"} for an enabled agent''s extension, desk phone''s extension or register_in trunk account; NULL when none.';

-- cc.sip_check_digest checks the Authorization (or Proxy-Authorization)
-- parameters of a request against the accounts.  A valid answer resets the
-- source's failures; a wrong one counts a failure.
CREATE FUNCTION cc.sip_check_digest(req jsonb, method text, proxy boolean) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    source      inet := nullif(req #>> '{source,ip}', '')::inet;
    auth        jsonb := req->'authorization';
    account     jsonb;
    nonce_state text;
BEGIN
    nonce_state := cc.sip_nonce_state(auth->>'nonce');
    IF nonce_state = 'stale' THEN
        RETURN jsonb_build_object('refuse', cc.sip_challenge(stale => true, proxy => proxy));
    END IF;
    account := cc.sip_account(auth->>'username');
    IF nonce_state <> 'valid' OR account IS NULL
       OR auth->>'realm' IS DISTINCT FROM cc.sip_realm()
       OR NOT cc.sip_digest_matches(auth, method, account->>'ha1') THEN
        IF source IS NOT NULL THEN
            PERFORM cc.sip_auth_failed(source);
        END IF;
        RETURN jsonb_build_object('refuse', cc.sip_refuse(403, 'Forbidden'), 'stranger', true);
    END IF;
    IF source IS NOT NULL THEN
        DELETE FROM cc.sip_auth_failures AS f WHERE f.address = source;
    END IF;
    RETURN account - 'ha1';
END;
$$;
COMMENT ON FUNCTION cc.sip_check_digest(jsonb, text, boolean) IS
    'Checks the digest credentials of a request (method REGISTER or INVITE): the account (cc.sip_account, without its HA1), or {"refuse": answer} (stale nonce: a new challenge; wrong: 403, counted against the source address).';

CREATE FUNCTION cc.sip_register(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    source      inet := nullif(req #>> '{source,ip}', '')::inet;
    aor_user    text := req #>> '{to,user}';
    auth        jsonb := req->'authorization';
    account     jsonb;
    owner       uuid;
    kind        text;
    binding     jsonb;
    expires     integer;
    bindings    text;
BEGIN
    IF source IS NOT NULL AND cc.sip_address_blocked(source) THEN
        RETURN jsonb_build_object('status', 403, 'reason', 'Forbidden (too many failed attempts)', 'stranger', true);
    END IF;
    IF auth IS NULL OR auth->>'scheme' IS DISTINCT FROM 'Digest' THEN
        RETURN cc.sip_challenge();
    END IF;
    IF auth->>'username' IS DISTINCT FROM aor_user THEN
        IF source IS NOT NULL THEN
            PERFORM cc.sip_auth_failed(source);
        END IF;
        RETURN jsonb_build_object('status', 403, 'reason', 'Forbidden', 'stranger', true);
    END IF;
    account := cc.sip_check_digest(req, 'REGISTER', false);
    IF account ? 'refuse' THEN
        RETURN (account->'refuse') || jsonb_strip_nulls(jsonb_build_object('stranger', account->'stranger'));
    END IF;
    kind := account->>'kind';
    owner := (account->>'id')::uuid;

    FOR binding IN SELECT * FROM jsonb_array_elements(coalesce(req->'contacts', '[]')) LOOP
        expires := coalesce((binding->>'expires')::integer, (req->>'expires')::integer, 3600);
        IF binding->>'uri' = '*' THEN
            IF expires <> 0 THEN
                RETURN jsonb_build_object('status', 400, 'reason', 'Contact * needs Expires: 0');
            END IF;
            PERFORM cc.registration_remove(r.id, 'unregistered')
               FROM cc.registrations AS r
              WHERE (kind = 'agent' AND r.agent_id = owner) OR (kind = 'phone' AND r.phone_id = owner)
                 OR (kind = 'trunk' AND r.trunk_id = owner);
        ELSIF expires = 0 THEN
            PERFORM cc.registration_remove(r.id, 'unregistered')
               FROM cc.registrations AS r
              WHERE ((kind = 'agent' AND r.agent_id = owner) OR (kind = 'phone' AND r.phone_id = owner)
                     OR (kind = 'trunk' AND r.trunk_id = owner))
                AND r.contact = binding->>'uri';
        ELSE
            IF kind = 'trunk' THEN
                expires := (SELECT t.register_period_s FROM cc.trunks AS t WHERE t.id = owner);
            ELSE
                expires := least(greatest(expires, 60), 7200);
            END IF;
            PERFORM cc.registration_upsert(kind, owner, binding->>'uri', expires, req);
        END IF;
    END LOOP;

    SELECT string_agg(format('<%s>;expires=%s', r.contact,
                             greatest(0, ceil(extract(epoch FROM r.expires_at - now())))::integer), ', '
                      ORDER BY r.registered_at)
      INTO bindings
      FROM cc.registrations AS r
     WHERE (kind = 'agent' AND r.agent_id = owner) OR (kind = 'phone' AND r.phone_id = owner)
        OR (kind = 'trunk' AND r.trunk_id = owner);
    RETURN jsonb_build_object('status', 200, 'reason', 'OK',
        'headers', jsonb_strip_nulls(jsonb_build_object('Contact', bindings)));
END;
$$;
COMMENT ON FUNCTION cc.sip_register(jsonb) IS
    'The registrar: answers a REGISTER described by cc sip for an agent''s extension, a desk phone or a register_in trunk account. Blocked address: 403. No credentials: 401 with a challenge. Wrong ones: 403, counted. Right ones: contacts added, refreshed or removed (Expires 0, Contact *), 200 listing the bindings.';

CREATE FUNCTION cc.registration_upsert(kind text, owner uuid, contact text, expires_s integer, req jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    existing uuid;
    agent    uuid := CASE WHEN kind = 'agent' THEN owner END;
    phone    uuid := CASE WHEN kind = 'phone' THEN owner END;
    trunk    uuid := CASE WHEN kind = 'trunk' THEN owner END;
BEGIN
    SELECT r.id INTO existing FROM cc.registrations AS r
     WHERE r.contact = registration_upsert.contact
       AND (r.agent_id = agent OR r.phone_id = phone OR r.trunk_id = trunk)
       FOR UPDATE;
    IF FOUND THEN
        UPDATE cc.registrations AS r
           SET expires_at = now() + make_interval(secs => expires_s),
               source_ip = nullif(req #>> '{source,ip}', '')::inet,
               source_port = (req #>> '{source,port}')::integer,
               transport = coalesce(req #>> '{source,transport}', 'udp'),
               user_agent = req->>'user_agent', sip_call_id = req->>'call_id'
         WHERE r.id = existing;
        PERFORM cc.event_append('registration.refreshed',
            jsonb_strip_nulls(jsonb_build_object('contact', contact, 'expires_s', expires_s,
                                                 'phone_id', phone, 'trunk_id', trunk)),
            agent_id => agent);
    ELSE
        INSERT INTO cc.registrations (agent_id, phone_id, trunk_id, contact, expires_at, source_ip, source_port,
                                      transport, user_agent, sip_call_id)
        VALUES (agent, phone, trunk, contact, now() + make_interval(secs => expires_s),
                nullif(req #>> '{source,ip}', '')::inet, (req #>> '{source,port}')::integer,
                coalesce(req #>> '{source,transport}', 'udp'), req->>'user_agent', req->>'call_id');
        PERFORM cc.event_append('registration.added',
            jsonb_strip_nulls(jsonb_build_object('contact', contact, 'expires_s', expires_s,
                               'source', req->'source', 'user_agent', req->>'user_agent',
                               'phone_id', phone, 'trunk_id', trunk)),
            agent_id => agent);
    END IF;
    IF trunk IS NOT NULL THEN
        PERFORM cc.trunk_set_status(trunk, 'registered', 'gateway registered from ' || coalesce(req #>> '{source,ip}', '?'));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.registration_upsert(text, uuid, text, integer, jsonb) IS
    'Adds or refreshes a contact of an agent, desk phone or register_in trunk (kind agent, phone, trunk) for expires_s seconds, with the source address and user agent of the REGISTER; a trunk becomes registered.';

CREATE FUNCTION cc.registration_remove(registration uuid, reason text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    gone cc.registrations;
BEGIN
    DELETE FROM cc.registrations AS r WHERE r.id = registration RETURNING r.* INTO gone;
    IF FOUND THEN
        PERFORM cc.event_append('registration.removed',
            jsonb_strip_nulls(jsonb_build_object('contact', gone.contact, 'reason', reason,
                                                 'phone_id', gone.phone_id, 'trunk_id', gone.trunk_id)),
            agent_id => gone.agent_id);
        IF gone.trunk_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.trunk_id = gone.trunk_id) THEN
            PERFORM cc.trunk_set_status(gone.trunk_id, 'unregistered', 'gateway registration ' || reason);
        END IF;
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.registration_remove(uuid, text) IS
    'Removes a registration (reason: unregistered or expired) and records it; a register_in trunk left without one becomes unregistered.';

CREATE FUNCTION cc.registrations_expire() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN SELECT id FROM cc.registrations WHERE expires_at <= now() FOR UPDATE SKIP LOCKED LOOP
        PERFORM cc.registration_remove(r.id, 'expired');
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.registrations_expire() IS 'Removes the registrations past their expiry; cc sip runs it every few seconds.';

CREATE FUNCTION cc.sip_request(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    CASE req->>'method'
        WHEN 'REGISTER' THEN
            RETURN cc.sip_register(req);
        WHEN 'INVITE' THEN
            RETURN cc.call_arrived(req);
        ELSE
            RETURN jsonb_build_object('status', 501, 'reason', 'Not Implemented');
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.sip_request(jsonb) IS
    'Entry point of cc sip for requests it does not answer itself: the request as JSON in, the answer {status, reason, headers, content_type, body} out.';

-- Trunks as cc sip sees them ---------------------------------------------------

CREATE FUNCTION cc.trunk_set_status(trunk uuid, status text, reason text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('normal', 'registered', 'unregistered', 'abnormal') THEN
        RAISE EXCEPTION 'cc: trunk status "%" is not known', status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A trunk''s status is normal, registered, unregistered or abnormal.';
    END IF;
    UPDATE cc.trunks AS t
       SET status = trunk_set_status.status, status_changed_at = now(), status_reason = reason
     WHERE t.id = trunk AND (t.status IS DISTINCT FROM trunk_set_status.status
                             OR t.status_reason IS DISTINCT FROM reason);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM cc.event_append('trunk.status',
        jsonb_strip_nulls(jsonb_build_object('trunk_id', trunk, 'status', status, 'reason', reason)));
    RETURN true;
END;
$$;
COMMENT ON FUNCTION cc.trunk_set_status(uuid, text, text) IS
    'Sets a trunk''s status (normal, registered, unregistered, abnormal) and reason, with a trunk.status event when either changed; false when nothing changed. cc sip calls it for register_out trunks, the registrar for register_in ones.';

CREATE FUNCTION cc.sip_trunks_config() RETURNS TABLE (
    id uuid, mode text, username text, password text, server text, port integer,
    outbound_proxy text, transport text, expiry_s integer, peer_host text, peer_port integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT t.id, t.mode, t.username, t.password, t.server, t.port, t.outbound_proxy, t.transport,
           t.expiry_s, host(t.peer_addresses[1]), t.peer_port
      FROM cc.trunks AS t
     WHERE t.enabled AND t.mode IN ('register_out', 'peering')
     ORDER BY t.created_at;
$$;
COMMENT ON FUNCTION cc.sip_trunks_config() IS
    'What cc sip loads of the enabled trunks it sends through or registers with: register_out accounts (with the password it answers challenges with) and peering addresses. Re-read when cc.trunks changes.';

CREATE FUNCTION cc.trunks_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM pg_notify('cc_commands', 'trunks');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.trunks_changed() IS
    'Trigger: tells cc sip (NOTIFY cc_commands ''trunks'', on commit) to reload its trunks after a configuration change.';

CREATE TRIGGER trunks_changed_insert_delete AFTER INSERT OR DELETE ON cc.trunks
    FOR EACH STATEMENT EXECUTE FUNCTION cc.trunks_changed();
-- Status updates (cc.trunk_set_status) do not count as changes.
CREATE TRIGGER trunks_changed_update AFTER UPDATE ON cc.trunks FOR EACH ROW
    WHEN ((OLD.mode, OLD.enabled, OLD.username, OLD.password, OLD.server, OLD.port, OLD.outbound_proxy,
           OLD.transport, OLD.expiry_s, OLD.peer_addresses, OLD.peer_port)
          IS DISTINCT FROM
          (NEW.mode, NEW.enabled, NEW.username, NEW.password, NEW.server, NEW.port, NEW.outbound_proxy,
           NEW.transport, NEW.expiry_s, NEW.peer_addresses, NEW.peer_port))
    EXECUTE FUNCTION cc.trunks_changed();

-- Who sent an INVITE ------------------------------------------------------------

CREATE FUNCTION cc.sip_identify(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    source  inet := nullif(req #>> '{source,ip}', '')::inet;
    auth    jsonb := req->'authorization';
    trunk   uuid;
    claimed text := req #>> '{from,user}';
BEGIN
    IF source IS NOT NULL AND cc.sip_address_blocked(source) THEN
        RETURN jsonb_build_object('refuse', cc.sip_refuse(403, 'Forbidden (too many failed attempts)'),
                                  'stranger', true);
    END IF;
    -- a peering trunk: its address is its credential
    SELECT t.id INTO trunk FROM cc.trunks AS t
     WHERE t.mode = 'peering' AND t.enabled AND source <<= ANY (t.peer_addresses)
     ORDER BY t.created_at LIMIT 1;
    IF FOUND THEN
        RETURN jsonb_build_object('kind', 'trunk', 'id', trunk, 'trunk_id', trunk);
    END IF;
    IF auth IS NOT NULL AND auth->>'scheme' = 'Digest' THEN
        RETURN cc.sip_check_digest(req, 'INVITE', true);
    END IF;
    -- without credentials: a challenge for whoever may hold an account here
    -- (phones and gateways expect one), 403 for anyone else
    IF cc.sip_account(claimed) IS NOT NULL
       OR EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.source_ip = source) THEN
        RETURN jsonb_build_object('refuse', cc.sip_challenge(proxy => true));
    END IF;
    IF source IS NOT NULL THEN
        PERFORM cc.sip_auth_failed(source);
    END IF;
    RETURN jsonb_build_object('refuse', cc.sip_refuse(403, 'Forbidden'), 'stranger', true);
END;
$$;
COMMENT ON FUNCTION cc.sip_identify(jsonb) IS
    'Who sent an INVITE: a peering trunk by source address (IP or CIDR), else an agent, desk phone or register_in trunk by digest ({"kind", "id", "agent_id"|"phone_id"|"trunk_id"}); or {"refuse": answer}: 407 challenge for a known account without credentials, 403 for anyone else (counted against the address, blocked after cc.sip_auth_max_failures()).';
