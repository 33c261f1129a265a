"""test_media_dtmf.py: Done-when line 2 of the media engine: each of sipp's
RFC 4733 captures yields exactly one digit, the right one; generated
in-band tones at -10 and -25 dBm0 per frequency, 40 and 80 ms long, are
detected; speech-like noise yields none; every IBM collect rule is
exercised (termination key, exact count, minimum/maximum, inter-digit
timeout, first-digit timeout started after the prompts, stop_after_collection,
barge-in on and off), with digits by RFC 4733 and by SIP INFO."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import media_util as mu  # noqa: E402

PCAPS = [(str(d), "dtmf_2833_%d.pcap" % d) for d in range(10)] + [("#", "dtmf_2833_pound.pcap"),
                                                                   ("*", "dtmf_2833_star.pcap")]


def test_2_rfc4733_pcaps_give_one_right_digit_each():
    with mu.MediaCluster("media_dtmf_pcap") as cluster:
        mu.number_with_flow(cluster, "7300", mu.pause_flow(60))
        callers = []
        for digit, pcap in PCAPS:
            sc = mu.uac_scenario(None, pts=(0, 101), hangup_after_ms=4000,
                                 pcap="/usr/share/sip-tester/" + pcap)
            callers.append((digit, pcap, mu.Caller(cluster, "7300", sc)))
        legs = [(digit, pcap, mu.leg_by_remote_rtp(cluster, c.media_port)[1], c) for digit, pcap, c in callers]
        for digit, pcap, leg, c in legs:
            assert c.wait(60) == 0, "sipp call playing %s failed; see %s" % (pcap, c.logdir)
        for digit, pcap, leg, c in legs:
            got = [d["digit"] for d in mu.leg_events(cluster, leg, "dtmf")]
            assert got == [digit], "%s gave %r, expected [%r]" % (pcap, got, digit)
            assert all(d["via"] == "rfc4733" for d in mu.leg_events(cluster, leg, "dtmf"))


def test_2_inband_tones_detected_at_levels_and_lengths_noise_gives_none():
    with mu.MediaCluster("media_dtmf_inband") as cluster:
        mu.number_with_flow(cluster, "7301", mu.pause_flow(120))
        peer = mu.RtpPeer(pt=0, dtmf_pt=None)
        try:
            # no telephone-event in the offer: the media worker listens in-band
            caller = mu.Caller(cluster, "7301", mu.uac_scenario(peer.port, pts=(0,), hangup_after_ms=40000))
            call, leg, sess = mu.leg_of_peer(cluster, peer)
            harness.wait_until(lambda: peer.target, 10, what="our RTP reaching the caller")
            # speech-like noise first: no digit may come out of it
            peer.play(mu.speech_like(6000))
            harness.wait_until(peer.idle, 15, what="noise sent")
            time.sleep(0.5)
            assert mu.leg_events(cluster, leg, "dtmf") == [], "speech-like noise gave digits %r" % (
                mu.leg_events(cluster, leg, "dtmf"))
            expected = []
            keys = "1234567890*#ABCD"
            for level in (-10, -25):
                for ms in (40, 80):
                    for d in keys:
                        peer.play(mu.dtmf(d, level, ms) + mu.silence(100))
                        expected.append(d)
            harness.wait_until(peer.idle, 30, what="tones sent")
            harness.wait_until(lambda: len(mu.leg_events(cluster, leg, "dtmf")) >= len(expected), 10,
                               what="%d in-band digits" % len(expected))
            time.sleep(0.3)
            got = mu.leg_events(cluster, leg, "dtmf")
            assert [d["digit"] for d in got] == expected, "in-band digits %r, expected %r" % (
                "".join(d["digit"] for d in got), "".join(expected))
            assert all(d["via"] == "inband" for d in got)
            caller.kill()
        finally:
            peer.close()


def collect(cluster, call, leg, tag, params, extra=(), peer=None):
    if peer is not None:
        harness.wait_until(peer.idle, 10, what="digits sent")
        time.sleep(0.3)
    mu.send_actions(cluster, call, list(extra) + [
        {"type": "dtmf", "leg": leg, "tag": tag,
         "command_info": {"type": "collect", "parameters": params}}])


def done(cluster, leg, tag, timeout=15):
    return mu.wait_event(cluster, leg, "collect_done", lambda d: d.get("tag") == tag, timeout)


def event_time(cluster, leg, type_, tag):
    return cluster.one("SELECT extract(epoch FROM at)::float8 FROM cc.events WHERE leg_id = %s "
                       "AND type = %s AND data->>'tag' = %s", leg, "leg." + type_, tag)


def test_2_collect_rules():
    with mu.MediaCluster("media_collect") as cluster:
        mu.number_with_flow(cluster, "7302", mu.pause_flow(300))
        peer = mu.RtpPeer(pt=0, dtmf_pt=101)
        try:
            caller = mu.Caller(cluster, "7302", mu.uac_scenario(peer.port, pts=(0, 101), hangup_after_ms=90000))
            call, leg, sess = mu.leg_of_peer(cluster, peer)
            harness.wait_until(lambda: peer.target, 10, what="our RTP reaching the caller")

            # termination key: the key ends it and is not among the digits
            collect(cluster, call, leg, "term", {"termination_key": "#", "maximum_count": 10}, peer=peer)
            time.sleep(0.3)
            peer.send_digits("123#")
            d = done(cluster, leg, "term")
            assert (d["digits"], d["reason"]) == ("123", "termination_key"), d

            # exact count: the 4th key is not collected but reported on its own
            collect(cluster, call, leg, "count", {"count": 3}, peer=peer)
            time.sleep(0.3)
            peer.send_digits("4567")
            d = done(cluster, leg, "count")
            assert (d["digits"], d["reason"]) == ("456", "count"), d
            mu.wait_event(cluster, leg, "dtmf", lambda e: e["digit"] == "7")

            # minimum and maximum: complete at the maximum
            collect(cluster, call, leg, "range", {"minimum_count": 2, "maximum_count": 4}, peer=peer)
            time.sleep(0.3)
            peer.send_digits("98765")
            d = done(cluster, leg, "range")
            assert (d["digits"], d["reason"]) == ("9876", "maximum"), d

            # inter-digit timeout: ends 1.5 s after the last key
            collect(cluster, call, leg, "inter", {"maximum_count": 5, "inter_digit_timeout_count": 1500}, peer=peer)
            time.sleep(0.3)
            peer.send_digits("12")
            harness.wait_until(peer.idle, 5)
            t_last = time.time()
            d = done(cluster, leg, "inter")
            waited = time.time() - t_last
            assert (d["digits"], d["reason"]) == ("12", "timeout"), d
            assert 0.9 < waited < 3.5, "inter-digit timeout after %.2f s, 1.5 s asked" % waited

            # first-digit timeout, started only once the prompt before it has played (2 s beep)
            t0 = time.time()
            collect(cluster, call, leg, "first", {"count": 2, "first_digit_timeout_ms": 1000},
                    extra=[{"type": "play", "leg": leg, "tone": "beep", "ms": 2000, "tag": "beep",
                            "barge_in": False}])
            d = done(cluster, leg, "first")
            elapsed = time.time() - t0
            assert (d["digits"], d["reason"]) == ("", "first_digit_timeout"), d
            assert elapsed > 2.8, "first-digit timer ran during the prompt (%.2f s)" % elapsed
            played = event_time(cluster, leg, "play_done", "beep")
            ended = event_time(cluster, leg, "collect_done", "first")
            assert 0.8 < ended - played < 1.6, "first-digit timeout %.2f s after the prompt, 1 s asked" % (
                ended - played)

            # barge-in allowed: a key stops the prompt and counts
            collect(cluster, call, leg, "barge", {"count": 1},
                    extra=[{"type": "play", "leg": leg, "tone": "ringback", "ms": 10000, "tag": "ring",
                            "barge_in": True}])
            time.sleep(0.5)
            peer.send_digits("5")
            d = done(cluster, leg, "barge")
            assert d["digits"] == "5", d
            p = mu.wait_event(cluster, leg, "play_done", lambda e: e.get("tag") == "ring")
            assert p["reason"] == "barge_in", p

            # barge-in disabled (IBM): keys pressed during the prompt are ignored
            mu.send_actions(cluster, call, [
                {"type": "dtmf", "leg": leg, "command_info": {"type": "disable_barge_in"}},
                {"type": "play", "leg": leg, "tone": "beep", "ms": 1500, "tag": "nobarge"}])
            time.sleep(0.4)
            n_before = len(mu.leg_events(cluster, leg, "dtmf"))
            peer.send_digits("3")
            p = mu.wait_event(cluster, leg, "play_done", lambda e: e.get("tag") == "nobarge")
            assert p["reason"] == "finished", p
            assert len(mu.leg_events(cluster, leg, "dtmf")) == n_before, "a key during a no-barge prompt counted"
            mu.send_actions(cluster, call, [{"type": "dtmf", "leg": leg, "command_info": {"type": "enable_barge_in"}}])

            # stop_after_collection: keys after it are ignored until a new dtmf command
            collect(cluster, call, leg, "stop", {"count": 1, "stop_after_collection": True}, peer=peer)
            time.sleep(0.3)
            peer.send_digits("8")
            d = done(cluster, leg, "stop")
            assert d["digits"] == "8", d
            n_before = len(mu.leg_events(cluster, leg, "dtmf"))
            peer.send_digits("0")
            harness.wait_until(peer.idle, 5)
            time.sleep(0.5)
            assert len(mu.leg_events(cluster, leg, "dtmf")) == n_before, "key after stop_after_collection reported"
            mu.send_actions(cluster, call, [{"type": "dtmf", "leg": leg, "command_info": {"type": "enable_barge_in"}}])
            time.sleep(0.3)
            peer.send_digits("*")
            mu.wait_event(cluster, leg, "dtmf", lambda e: e["digit"] == "*")

            # a bad collect is refused with collect_done reason error
            collect(cluster, call, leg, "bad", {"count": 500})
            d = done(cluster, leg, "bad")
            assert d["reason"] == "error" and "500" in d["error"], d

            # counters: every digit counted on the session
            assert cluster.one("SELECT dtmf_in FROM cc.media_sessions WHERE leg_id = %s", leg) >= 20
            caller.kill()
        finally:
            peer.close()


def test_2_info_digits_feed_the_same_collect():
    with mu.MediaCluster("media_collect_info", media_workers=1) as cluster:
        mu.number_with_flow(cluster, "7303", mu.pause_flow(300))
        peer = mu.RtpPeer(pt=0)
        try:
            caller = mu.Caller(cluster, "7303", mu.uac_scenario(
                peer.port, pts=(0, 101), info_digits=[(3000, "4"), (200, "2"), (200, "#")],
                hangup_after_ms=3000))
            call, leg, sess = mu.leg_of_peer(cluster, peer)
            collect(cluster, call, leg, "info", {"termination_key": "#", "maximum_count": 5})
            d = done(cluster, leg, "info")
            assert (d["digits"], d["reason"]) == ("42", "termination_key"), d
            assert caller.wait(30) == 0, "sipp INFO call failed; see %s" % caller.logdir
        finally:
            peer.close()


def goertzel_digit(chunk, rate):
    """goertzel_digit names the DTMF digit whose two tones dominate chunk, or None."""
    lows, highs = (697, 770, 852, 941), (1209, 1336, 1477, 1633)
    pl = [mu.tone_power(chunk, f, rate) for f in lows]
    ph = [mu.tone_power(chunk, f, rate) for f in highs]
    if max(pl) < 300 or max(ph) < 300:
        return None
    lo, hi = lows[pl.index(max(pl))], highs[ph.index(max(ph))]
    return next(d for d, fr in mu.DTMF_FREQS.items() if fr == (lo, hi))


def test_2_dtmf_send_rfc4733_and_inband():
    with mu.MediaCluster("media_dtmf_send") as cluster:
        mu.number_with_flow(cluster, "7310", mu.pause_flow(120))
        ev_peer = mu.RtpPeer(pt=0, dtmf_pt=101)
        tone_peer = mu.RtpPeer(pt=0, dtmf_pt=None)
        try:
            c1 = mu.Caller(cluster, "7310", mu.uac_scenario(ev_peer.port, pts=(0, 101), hangup_after_ms=30000))
            c2 = mu.Caller(cluster, "7310", mu.uac_scenario(tone_peer.port, pts=(0,), hangup_after_ms=30000))
            call1, leg1, _ = mu.leg_of_peer(cluster, ev_peer)
            call2, leg2, _ = mu.leg_of_peer(cluster, tone_peer)
            digits = [{"code": "1", "duration": 120, "volume": -10}, {"code": -11, "duration": 200},
                      {"code": "9", "duration": 80, "volume": -20}, {"code": -10}]
            for call, leg in ((call1, leg1), (call2, leg2)):
                mu.send_actions(cluster, call, [{"type": "dtmf", "leg": leg, "tag": "s",
                                                 "command_info": {"type": "send", "parameters": {
                                                     "digits": digits, "send_interval": 100}}}])
            for leg in (leg1, leg2):
                mu.wait_event(cluster, leg, "dtmf_sent", lambda e: e.get("tag") == "s")
            time.sleep(0.3)
            # RFC 4733: one event per digit (by timestamp), its end sent three times, its length and volume
            events = {}
            for code, end, duration, ts in ev_peer.events():
                e = events.setdefault(ts, {"code": code, "ends": 0, "duration": 0})
                e["ends"] += end
                e["duration"] = max(e["duration"], duration)
            got = [("0123456789*#ABCD"[e["code"]], e["duration"] // 8, e["ends"]) for _, e in sorted(events.items())]
            assert got == [("1", 120, 3), ("#", 200, 3), ("9", 80, 3), ("*", 200, 3)], got
            vols = {p[4][1] & 0x3F for p in ev_peer.received if p[0] == 101 and p[4][0] == 1}
            assert vols == {10}, vols
            # in-band: the tones, in order, in the audio
            audio = tone_peer.audio()
            seen = []
            for i in range(0, len(audio) - 160, 160):
                d = goertzel_digit(audio[i:i + 160], 8000)
                if d and (not seen or seen[-1][0] != d or i - seen[-1][1] > 480):
                    seen.append((d, i))
                elif d:
                    seen[-1] = (d, i)
            assert [d for d, _ in seen] == ["1", "#", "9", "*"], seen
            c1.kill()
            c2.kill()
        finally:
            ev_peer.close()
            tone_peer.close()
