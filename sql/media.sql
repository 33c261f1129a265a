-- media: the SQL side of the media engine.  The views read shared memory:
-- one row per media worker (its pid once it runs), no session while no call
-- is up.  cc.wav_info refuses what is not a file under cc.media_dir, a
-- missing file, and a file that is not a WAV, each with its SQLSTATE.
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN (SELECT count(*) FROM cc.media_workers WHERE pid IS NOT NULL AND ticks > 0) = 1;
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;
SELECT worker, pid IS NOT NULL AS running, ticks > 0 AS ticking, sessions FROM cc.media_workers;
SELECT count(*) FROM cc.media_sessions;
SELECT count(*) >= 0 AS readable FROM cc.media_tick_lags();
\set VERBOSITY default
SELECT * FROM cc.wav_info('../../postgresql.conf');
SELECT * FROM cc.wav_info('/etc/passwd');
SELECT * FROM cc.wav_info('no-such-prompt.wav');
-- a prompt file must exist and be a playable WAV
INSERT INTO cc.prompts (name, kind, file_path) VALUES ('missing', 'file', 'missing.wav');
-- TTS prompts are not checked against files
INSERT INTO cc.prompts (name, kind, tts_text) VALUES ('hello', 'tts', 'Hello.') RETURNING name, kind;
\set VERBOSITY terse
-- cc.recording_done: a recording id it cannot read is refused; an unknown
-- one is recorded anyway (the decision did not insert it)
SELECT cc.recording_done(NULL, '{"type": "recording_done", "recording": "nope"}');
SELECT cc.recording_done(NULL, '{"type": "recording_done", "recording": "4a7d1ed4-1c67-4bd6-9b1b-5d9f3b1b8e01",
                                  "file": "x.wav", "duration_ms": 1500, "bytes": 24044, "channels": 2}');
INSERT INTO cc.recordings (id, file_path) VALUES ('9f1c2e57-8d3b-4f7a-a0c1-2b3c4d5e6f70', 'y.wav');
SELECT cc.recording_done(NULL, '{"recording": "9f1c2e57-8d3b-4f7a-a0c1-2b3c4d5e6f70", "duration_ms": 900,
                                  "bytes": 14444, "channels": 1, "reason": "stopped"}');
SELECT id, file_path, state, duration_ms, bytes, channels, ended_at IS NOT NULL AS ended
  FROM cc.recordings ORDER BY file_path;
DELETE FROM cc.recordings;
DELETE FROM cc.prompts;
