"""test_media_mix.py: Done-when lines 3, 4 and 5 of the media engine, with
two media workers (the legs of each test live on different workers, so
every path crosses shared memory):
 3. a PCMU leg and a G722 leg bridged hear each other; hold sends hold
    audio to the held party (and silence to the other); resume restores it;
 4. a bridged call recorded in two channels for 10 s of talk (with a pause
    in between): each party on its own channel, duration within 100 ms;
 5. a five-party conference: each hears the mix of the others, not itself;
    listen-only and whisper change who hears whom."""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import media_util as mu  # noqa: E402


def continuous_tone(peer, freq, seconds=120, level=-12):
    """continuous_tone queues seconds of a tone (a whole number of hertz: one second repeats seamlessly)."""
    peer.play(mu.tones([freq], level, 1000, peer.codec.rate) * seconds)


def listen(peer, seconds=1.5, skip=0.4):
    """listen returns what the peer received over the next seconds (less the first skip)."""
    since = len(peer.received)
    time.sleep(seconds)
    audio = peer.audio(since)
    return audio[int(skip * peer.codec.rate):]


def level(audio, freq, rate):
    return mu.tone_power(audio, freq, rate)


def start_legs(cluster, number, codecs, seconds=300):
    """start_legs calls number once per codec, each with an RtpPeer; returns [(peer, caller, call, leg, session)]."""
    mu.number_with_flow(cluster, number, mu.pause_flow(seconds))
    out = []
    for pt in codecs:
        peer = mu.RtpPeer(pt=pt)
        caller = mu.Caller(cluster, number, mu.uac_scenario(peer.port, pts=(pt, 101), hangup_after_ms=280000))
        call, leg, sess = mu.leg_of_peer(cluster, peer)
        harness.wait_until(lambda: peer.target, 10, what="our RTP reaching the caller")
        out.append((peer, caller, call, leg, sess))
    return out


def stop_legs(legs):
    for peer, caller, *_ in legs:
        caller.kill()
        peer.close()


def test_3_pcmu_and_g722_legs_bridged_hold_and_resume():
    with mu.MediaCluster("media_bridge") as cluster:
        mu.write_wav(os.path.join(mu.media_dir(cluster), "hold.wav"), mu.tones([350], -12, 3000), 8000)
        legs = start_legs(cluster, "7400", (0, 9))
        try:
            (a, _, call_a, leg_a, sess_a), (b, _, call_b, leg_b, sess_b) = legs
            assert sess_a["worker"] != sess_b["worker"], "both legs on one media worker: %r %r" % (sess_a, sess_b)
            assert (sess_a["codec"], sess_b["codec"]) == ("PCMU", "G722")
            continuous_tone(a, 600)
            continuous_tone(b, 1500)
            time.sleep(0.5)
            # before the bridge: nobody hears the other
            heard_a = listen(a)
            assert level(heard_a, 1500, 8000) < 100, "A hears B before any bridge"

            mu.send_actions(cluster, call_a, [{"type": "bridge", "leg": leg_a, "with": leg_b}])
            time.sleep(0.5)
            heard_a, heard_b = listen(a), None
            heard_b = listen(b)
            assert level(heard_a, 1500, 8000) > 1000, "A (PCMU) does not hear B's 1500 Hz: %.0f" % level(heard_a, 1500, 8000)
            assert level(heard_a, 600, 8000) < 100, "A hears itself"
            assert level(heard_b, 600, 16000) > 1000, "B (G722) does not hear A's 600 Hz: %.0f" % level(heard_b, 600, 16000)
            assert level(heard_b, 1500, 16000) < 150, "B hears itself"
            assert cluster.one("SELECT bridged_with FROM cc.media_sessions WHERE leg_id = %s", leg_a) == sess_b["session"]

            # hold A with music: A hears the music, not B; B hears silence from A
            mu.send_actions(cluster, call_a, [{"type": "hold", "leg": leg_a,
                                               "music": {"file": "hold.wav", "loop": True}}])
            time.sleep(0.5)
            heard_a = listen(a)
            heard_b = listen(b)
            assert level(heard_a, 350, 8000) > 1000, "held A does not hear the hold music"
            assert level(heard_a, 1500, 8000) < 100, "held A still hears B"
            assert level(heard_b, 600, 16000) < 100, "B still hears held A"

            # resume: the path is back
            mu.send_actions(cluster, call_a, [{"type": "unhold", "leg": leg_a}])
            time.sleep(0.5)
            heard_a = listen(a)
            heard_b = listen(b)
            assert level(heard_a, 1500, 8000) > 1000, "after unhold A does not hear B"
            assert level(heard_a, 350, 8000) < 100, "after unhold A still hears music"
            assert level(heard_b, 600, 16000) > 1000, "after unhold B does not hear A"

            # hold without music: silence; mute: B stops hearing A, A still hears B
            mu.send_actions(cluster, call_a, [{"type": "mute", "leg": leg_a}])
            time.sleep(0.5)
            heard_a, heard_b = listen(a), listen(b)
            assert level(heard_b, 600, 16000) < 100, "B hears muted A"
            assert level(heard_a, 1500, 8000) > 1000, "muted A no longer hears B"
            mu.send_actions(cluster, call_a, [{"type": "unmute", "leg": leg_a}])

            # unbridge: back to nothing
            mu.send_actions(cluster, call_a, [{"type": "unbridge", "leg": leg_a}])
            time.sleep(0.5)
            heard_a = listen(a)
            assert level(heard_a, 1500, 8000) < 100, "A hears B after unbridge"
        finally:
            stop_legs(legs)


def test_4_bridged_10s_call_recorded_in_two_channels():
    with mu.MediaCluster("media_record") as cluster:
        legs = start_legs(cluster, "7500", (0, 8))
        try:
            (a, _, call_a, leg_a, sess_a), (b, _, call_b, leg_b, sess_b) = legs
            assert sess_a["worker"] != sess_b["worker"]
            continuous_tone(a, 600)
            continuous_tone(b, 1500)
            rec = str(uuid.uuid4())
            cluster.sql("INSERT INTO cc.recordings (id, call_id, leg_id, file_path, channels) "
                        "VALUES (%s, %s, %s, %s, 2)", rec, call_a, leg_a, "calls/%s.wav" % rec)
            mu.send_actions(cluster, call_a, [{"type": "bridge", "leg": leg_a, "with": leg_b}])
            time.sleep(1.0)
            t0 = time.time()
            mu.send_actions(cluster, call_a, [{"type": "record", "leg": leg_a, "command": "start", "tag": "r1",
                                               "recording": rec, "file": "calls/%s.wav" % rec,
                                               "channels": 2, "with": leg_b}])
            time.sleep(4.0)
            t1 = time.time()
            mu.send_actions(cluster, call_a, [{"type": "record", "leg": leg_a, "command": "pause"}])
            time.sleep(2.0)
            t2 = time.time()
            mu.send_actions(cluster, call_a, [{"type": "record", "leg": leg_a, "command": "resume"}])
            time.sleep(6.0)
            t3 = time.time()
            mu.send_actions(cluster, call_a, [{"type": "record", "leg": leg_a, "command": "stop"}])
            talk_ms = ((t1 - t0) + (t3 - t2)) * 1000
            done = mu.wait_event(cluster, leg_a, "recording_done", lambda e: e.get("recording") == rec)
            path = os.path.join(mu.recordings_dir(cluster), "calls", rec + ".wav")
            rate, ch, chans = mu.read_wav(path)
            assert (rate, ch) == (8000, 2), (rate, ch)
            file_ms = len(chans[0]) * 1000 / rate
            assert abs(file_ms - talk_ms) < 100, "recorded %.0f ms for %.0f ms of talk" % (file_ms, talk_ms)
            assert abs(done["duration_ms"] - file_ms) <= 20, (done, file_ms)
            assert done["bytes"] == os.path.getsize(path) and done["channels"] == 2, done
            # each party on its own channel
            c1, c2 = chans[0][8000:], chans[1][8000:]
            assert level(c1, 600, 8000) > 1000 and level(c1, 1500, 8000) < 100, "channel 1 is not the caller alone"
            assert level(c2, 1500, 8000) > 1000 and level(c2, 600, 8000) < 100, "channel 2 is not the other leg alone"
            # the router's function records the figures in cc.recordings
            cluster.sql("SELECT cc.recording_done(%s, %s::jsonb)", leg_a, __import__("json").dumps(done))
            row = cluster.sql("SELECT state, duration_ms, bytes, channels FROM cc.recordings WHERE id = %s", rec)[0]
            assert row == ("complete", done["duration_ms"], done["bytes"], 2), row

            # mono, mixed: both tones in one channel
            rec2 = str(uuid.uuid4())
            mu.send_actions(cluster, call_b, [{"type": "record", "leg": leg_b, "command": "start",
                                               "recording": rec2, "channels": 1}])
            time.sleep(2.0)
            mu.send_actions(cluster, call_b, [{"type": "record", "leg": leg_b, "command": "stop"}])
            mu.wait_event(cluster, leg_b, "recording_done", lambda e: e.get("recording") == rec2)
            rate, ch, chans = mu.read_wav(os.path.join(mu.recordings_dir(cluster), rec2 + ".wav"))
            assert ch == 1
            m = chans[0][4000:]
            assert level(m, 600, 8000) > 1000 and level(m, 1500, 8000) > 1000, "mono recording lacks a party"
        finally:
            stop_legs(legs)


def test_5_five_party_conference_each_hears_the_others():
    with mu.MediaCluster("media_conference") as cluster:
        codecs = (0, 8, 9, 0, 9)
        freqs = (400, 700, 1000, 1300, 1900)
        legs = start_legs(cluster, "7600", codecs)
        try:
            assert len({s["worker"] for *_, s in legs}) == 2, "participants should span both workers"
            conf = str(uuid.uuid4())
            for (peer, _, call, leg, _), f in zip(legs, freqs):
                continuous_tone(peer, f)
                mu.send_actions(cluster, call, [{"type": "conference", "leg": leg, "command": "join",
                                                 "conference": conf}])
            time.sleep(1.0)

            def check(expect):
                heard = [listen(p, 1.5) for p, *_ in legs]
                for i, (peer, *_) in enumerate(legs):
                    rate = peer.codec.rate
                    for j, f in enumerate(freqs):
                        lv = level(heard[i], f, rate)
                        if expect(i, j):
                            assert lv > 500, "participant %d does not hear %d (%d Hz): %.0f" % (i, j, f, lv)
                        else:
                            assert lv < 150, "participant %d hears %d (%d Hz): %.0f" % (i, j, f, lv)

            # everyone hears the four others, never itself
            check(lambda i, j: i != j)
            # participant 4 only listens: nobody hears it, it hears everyone
            p4 = legs[4]
            mu.send_actions(cluster, p4[2], [{"type": "conference", "leg": p4[3], "command": "mode",
                                              "mode": "listen"}])
            time.sleep(0.5)
            check(lambda i, j: i != j and j != 4)
            # participant 3 whispers to participant 0: only 0 hears 3
            p3, p0 = legs[3], legs[0]
            mu.send_actions(cluster, p3[2], [{"type": "conference", "leg": p3[3], "command": "mode",
                                              "mode": "whisper", "whisper_to": p0[3]}])
            time.sleep(0.5)
            check(lambda i, j: i != j and j != 4 and (j != 3 or i == 0))
            # 2 leaves: the others stop hearing it
            p2 = legs[2]
            mu.send_actions(cluster, p2[2], [{"type": "conference", "leg": p2[3], "command": "leave"}])
            time.sleep(0.5)
            heard = listen(legs[1][0], 1.5)
            assert level(heard, 1000, 8000) < 150, "the one who left is still heard"
            assert level(heard, 400, 8000) > 500
        finally:
            stop_legs(legs)


def test_3_supervisor_monitors_a_bridge_listen_whisper_barge():
    with mu.MediaCluster("media_monitor") as cluster:
        legs = start_legs(cluster, "7450", (0, 9, 8))
        try:
            (a, _, call_a, leg_a, _), (b, _, _, leg_b, _), (s, _, call_s, leg_s, _) = legs
            continuous_tone(a, 600)
            continuous_tone(b, 1500)
            continuous_tone(s, 900)
            mu.send_actions(cluster, call_a, [{"type": "bridge", "leg": leg_a, "with": leg_b}])
            for mode, a_hears_s, b_hears_s in (("listen", False, False), ("whisper", True, False),
                                               ("barge", True, True)):
                mu.send_actions(cluster, call_s, [{"type": "monitor", "leg": leg_s, "target": leg_a, "mode": mode}])
                time.sleep(0.6)
                hs, ha, hb = listen(s), listen(a), listen(b)
                assert level(hs, 600, 8000) > 1000 and level(hs, 1500, 8000) > 1000, \
                    "%s: the supervisor does not hear both parties" % mode
                assert (level(ha, 900, 8000) > 1000) == a_hears_s, "%s: the agent hears the supervisor: %.0f" % (
                    mode, level(ha, 900, 8000))
                assert (level(hb, 900, 16000) > 1000) == b_hears_s, "%s: the caller hears the supervisor: %.0f" % (
                    mode, level(hb, 900, 16000))
                assert level(ha, 1500, 8000) > 1000, "%s: the bridge itself broke" % mode
            mu.send_actions(cluster, call_s, [{"type": "monitor", "leg": leg_s, "target": leg_a, "mode": "stop"}])
            time.sleep(0.6)
            hs, ha = listen(s), listen(a)
            assert level(hs, 600, 8000) < 100 and level(ha, 900, 8000) < 100, "monitoring did not stop"
        finally:
            stop_legs(legs)
