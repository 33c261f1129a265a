-- 082_media.sql: the media engine seen from SQL: counters of every media
-- session and media worker (read from shared memory), what a WAV file is
-- (prompts are refused unless playable), and the recording figures that
-- recording_done events bring.

CREATE FUNCTION cc.media_session_stats(
    OUT session integer, OUT worker integer, OUT state text, OUT leg_id uuid,
    OUT local_port integer, OUT remote text, OUT codec text, OUT dtmf_pt integer,
    OUT opened_at timestamptz,
    OUT packets_in bigint, OUT packets_out bigint, OUT bytes_in bigint, OUT bytes_out bigint,
    OUT lost bigint, OUT late bigint, OUT out_of_order bigint, OUT duplicates bigint,
    OUT strangers bigint, OUT wrong_ssrc bigint, OUT malformed bigint, OUT dtmf_in bigint,
    OUT jitter_ms double precision, OUT jitter_buffer_ms integer,
    OUT bridged_with integer, OUT conference text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cc_media_session_stats'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.media_session_stats() IS
    'One row per media session in use, read from shared memory: owner worker, leg, ports, codec, RTP counters (see the view cc.media_sessions).';

CREATE VIEW cc.media_sessions AS SELECT * FROM cc.media_session_stats();
COMMENT ON VIEW cc.media_sessions IS 'Media sessions in use (one per leg with media), live from shared memory, with their RTP counters since the session opened.';
COMMENT ON COLUMN cc.media_sessions.session IS 'Index in the session table (local RTP port = cc.rtp_port_min + 2 * session).';
COMMENT ON COLUMN cc.media_sessions.worker IS 'Media worker that owns it (cc media N).';
COMMENT ON COLUMN cc.media_sessions.state IS 'opening (asked for by cc sip) or open (socket bound).';
COMMENT ON COLUMN cc.media_sessions.leg_id IS 'Leg whose media it is (cc.legs.id).';
COMMENT ON COLUMN cc.media_sessions.local_port IS 'Our RTP port.';
COMMENT ON COLUMN cc.media_sessions.remote IS 'Where the peer''s SDP asked for RTP (ip:port; we answer to the address RTP comes from).';
COMMENT ON COLUMN cc.media_sessions.codec IS 'PCMU, PCMA or G722.';
COMMENT ON COLUMN cc.media_sessions.dtmf_pt IS 'telephone-event payload type, NULL when the peer has none (in-band DTMF is detected then).';
COMMENT ON COLUMN cc.media_sessions.opened_at IS 'When the media worker bound the socket.';
COMMENT ON COLUMN cc.media_sessions.packets_in IS 'RTP packets accepted from the peer.';
COMMENT ON COLUMN cc.media_sessions.packets_out IS 'RTP packets sent to the peer.';
COMMENT ON COLUMN cc.media_sessions.bytes_in IS 'Bytes of the accepted packets.';
COMMENT ON COLUMN cc.media_sessions.bytes_out IS 'Bytes sent.';
COMMENT ON COLUMN cc.media_sessions.lost IS 'Sequence numbers that never arrived in time (concealed).';
COMMENT ON COLUMN cc.media_sessions.late IS 'Packets that arrived after their playout time (dropped).';
COMMENT ON COLUMN cc.media_sessions.out_of_order IS 'Packets that arrived after a later one (still played when in time).';
COMMENT ON COLUMN cc.media_sessions.duplicates IS 'Packets whose sequence number was already buffered.';
COMMENT ON COLUMN cc.media_sessions.strangers IS 'Packets from an address other than the latched peer (dropped).';
COMMENT ON COLUMN cc.media_sessions.wrong_ssrc IS 'Packets from the peer''s address with another SSRC (dropped until the new SSRC persists).';
COMMENT ON COLUMN cc.media_sessions.malformed IS 'Datagrams that are not RTP, truncated, or of a payload type not negotiated (dropped).';
COMMENT ON COLUMN cc.media_sessions.dtmf_in IS 'Digits received (RFC 4733, in-band or SIP INFO).';
COMMENT ON COLUMN cc.media_sessions.jitter_ms IS 'RFC 3550 interarrival jitter of the peer''s packets, in milliseconds.';
COMMENT ON COLUMN cc.media_sessions.jitter_buffer_ms IS 'Current playout delay of the adaptive jitter buffer (20 to 200 ms).';
COMMENT ON COLUMN cc.media_sessions.bridged_with IS 'Session it is bridged with, if any.';
COMMENT ON COLUMN cc.media_sessions.conference IS 'Conference it has joined, if any.';

CREATE FUNCTION cc.media_worker_stats(
    OUT worker integer, OUT pid integer, OUT sessions integer, OUT ticks bigint,
    OUT ticks_late bigint, OUT busy_ms double precision, OUT tts_pending integer,
    OUT packets_in bigint, OUT packets_out bigint, OUT lost bigint, OUT late bigint,
    OUT out_of_order bigint, OUT strangers bigint, OUT wrong_ssrc bigint, OUT malformed bigint,
    OUT ring_messages_dropped bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cc_media_worker_stats'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.media_worker_stats() IS
    'One row per media worker, read from shared memory: sessions, 20 ms ticks, time busy, TTS queue, and its open sessions'' RTP counters summed (see the view cc.media_workers).';

CREATE VIEW cc.media_workers AS SELECT * FROM cc.media_worker_stats();
COMMENT ON VIEW cc.media_workers IS 'Media workers (cc media N), live from shared memory.';
COMMENT ON COLUMN cc.media_workers.worker IS 'N of cc media N.';
COMMENT ON COLUMN cc.media_workers.pid IS 'Process id; NULL when not running.';
COMMENT ON COLUMN cc.media_workers.sessions IS 'Media sessions it holds open.';
COMMENT ON COLUMN cc.media_workers.ticks IS '20 ms ticks run since it started.';
COMMENT ON COLUMN cc.media_workers.ticks_late IS 'Ticks that started more than 5 ms after their time.';
COMMENT ON COLUMN cc.media_workers.busy_ms IS 'Milliseconds spent working (not waiting) since it started: divide by uptime for its CPU share.';
COMMENT ON COLUMN cc.media_workers.tts_pending IS 'TTS renderings queued or running in its rendering thread.';
COMMENT ON COLUMN cc.media_workers.packets_in IS 'Packets accepted, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.packets_out IS 'Packets sent, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.lost IS 'Lost packets, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.late IS 'Late packets, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.out_of_order IS 'Reordered packets, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.strangers IS 'Packets from strangers, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.wrong_ssrc IS 'Packets with a wrong SSRC, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.malformed IS 'Malformed datagrams, summed over its open sessions.';
COMMENT ON COLUMN cc.media_workers.ring_messages_dropped IS 'Messages to or from cc sip dropped because a ring was full.';

CREATE FUNCTION cc.media_tick_lags(OUT worker integer, OUT lag_ms double precision, OUT ticks bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cc_media_tick_lags'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.media_tick_lags() IS
    'Each media worker''s histogram of how late its 20 ms ticks started since it started: lag_ms is the lower bound of a 0.5 ms bucket (the last, 31.5, holds everything later). Ticks run on time have lag_ms 0: the send-interval jitter the worker adds.';

CREATE FUNCTION cc.wav_info(file text,
    OUT format text, OUT channels integer, OUT sample_rate integer, OUT bits integer,
    OUT duration_ms bigint, OUT playable boolean, OUT problem text)
RETURNS record
AS 'MODULE_PATHNAME', 'cc_wav_info'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.wav_info(text) IS
    'What the WAV file at file (relative to cc.media_dir) is: format (pcm, alaw, mulaw, float, other), channels, rate, bits, length; playable says whether prompts may use it (16-bit PCM, mono, 8000 or 16000 Hz), problem why not. Errors when the file is missing, outside cc.media_dir, or not a WAV.';

CREATE FUNCTION cc.prompt_check_file() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    w record;
BEGIN
    IF NEW.kind <> 'file' OR NEW.file_path IS NULL THEN
        RETURN NEW;
    END IF;
    w := cc.wav_info(NEW.file_path);
    IF NOT w.playable THEN
        RAISE EXCEPTION 'cc: prompt "%" file "%" cannot be played: %', NEW.name, NEW.file_path, w.problem
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Prompts are WAV files under cc.media_dir: 16-bit PCM, mono, 8000 or 16000 Hz (e.g. sox in.wav -b 16 -c 1 -r 8000 out.wav).';
    END IF;
    NEW.sample_rate := w.sample_rate;
    NEW.duration_ms := w.duration_ms;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION cc.prompt_check_file() IS
    'Trigger of cc.prompts: a file prompt must be a playable WAV under cc.media_dir (16-bit PCM, mono, 8 or 16 kHz); sets its sample_rate and duration_ms from the file.';

CREATE TRIGGER prompts_check_file BEFORE INSERT OR UPDATE OF kind, file_path ON cc.prompts
    FOR EACH ROW EXECUTE FUNCTION cc.prompt_check_file();

CREATE FUNCTION cc.recording_done(leg uuid, event jsonb) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    rec_id uuid;
    rec    cc.recordings;
    l      cc.legs;
    failed boolean := event->>'reason' = 'error' OR coalesce(event->>'error', '') <> '';
BEGIN
    IF event->>'recording' IS NULL OR event->>'recording' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'cc: recording_done event has recording "%", not a recording id', event->>'recording'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The record action''s "recording" is the uuid of its cc.recordings row.';
    END IF;
    rec_id := (event->>'recording')::uuid;
    UPDATE cc.recordings AS r
       SET state = CASE WHEN failed THEN 'failed' ELSE 'complete' END,
           duration_ms = greatest(coalesce((event->>'duration_ms')::bigint, 0), 0),
           bytes = greatest(coalesce((event->>'bytes')::bigint, 0), 0),
           channels = CASE WHEN event->>'channels' IN ('1', '2') THEN (event->>'channels')::integer ELSE r.channels END,
           -- a stop command already said when recording ended
           ended_at = coalesce(r.ended_at, greatest(now(), r.started_at))
     WHERE r.id = rec_id AND r.state IN ('recording', 'paused')
    RETURNING * INTO rec;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM cc.recordings WHERE id = rec_id) THEN
            RETURN rec_id;      -- told twice: the first one counts
        END IF;
        -- the decision did not insert the row: keep the file on record anyway
        SELECT * INTO l FROM cc.legs WHERE id = leg;
        INSERT INTO cc.recordings (id, call_id, leg_id, file_path, channels, state, duration_ms, bytes, ended_at)
        VALUES (rec_id, l.call_id, leg, coalesce(event->>'file', rec_id || '.wav'),
                CASE WHEN event->>'channels' = '1' THEN 1 ELSE 2 END,
                CASE WHEN failed THEN 'failed' ELSE 'complete' END,
                greatest(coalesce((event->>'duration_ms')::bigint, 0), 0),
                greatest(coalesce((event->>'bytes')::bigint, 0), 0), now())
        RETURNING * INTO rec;
    END IF;
    PERFORM cc.event_append('recording.completed',
        jsonb_strip_nulls(jsonb_build_object('recording', rec.id, 'kind', rec.kind, 'state', rec.state,
                                             'duration_ms', rec.duration_ms, 'bytes', rec.bytes,
                                             'error', event->'error')),
        call_id => rec.call_id, leg_id => leg);
    RETURN rec_id;
END;
$$;
COMMENT ON FUNCTION cc.recording_done(uuid, jsonb) IS
    'Records a recording_done media event of a leg in cc.recordings: state complete (failed on reason error), duration_ms, bytes, channels, ended_at (kept when a stop set it), and a recording.completed event. The router calls it for every recording_done, even after the call ended; a row the decision did not insert is inserted; a second report changes nothing.';
