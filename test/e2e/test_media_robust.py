"""test_media_robust.py: Done-when line 6 of the media engine: random
bytes, truncated RTP headers, a wrong SSRC and a flood from a stranger on a
session's port: no crash (the media workers keep their pids and the call
its audio), and each is counted in cc.media_sessions / cc.media_workers."""

import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import media_util as mu  # noqa: E402


def counters(cluster, leg):
    r = cluster.sql("SELECT packets_in, strangers, wrong_ssrc, malformed, duplicates FROM cc.media_sessions "
                    "WHERE leg_id = %s", leg)[0]
    return dict(zip(("packets_in", "strangers", "wrong_ssrc", "malformed", "duplicates"), r))


def wait_counts(cluster, leg, what, **least):
    """wait_counts waits until every named counter of the leg's session reaches its least value."""
    seen = {}

    def ok():
        seen.update(counters(cluster, leg))
        return all(seen[k] >= v for k, v in least.items())
    try:
        harness.wait_until(ok, 15, what=what)
    except AssertionError as e:
        raise AssertionError("%s; counters %r" % (e, seen))
    return dict(seen)


def test_6_random_bytes_truncated_headers_wrong_ssrc_stranger_flood_counted_no_crash():
    with mu.MediaCluster("media_robust") as cluster:
        mu.write_wav(os.path.join(mu.media_dir(cluster), "steady.wav"), mu.tones([800], -12, 3000), 8000)
        mu.number_with_flow(cluster, "7700", mu.pause_flow(300))
        pids = dict(cluster.sql("SELECT worker, pid FROM cc.media_workers"))
        peer = mu.RtpPeer(pt=0)
        rnd = random.Random(4)
        try:
            caller = mu.Caller(cluster, "7700", mu.uac_scenario(peer.port, pts=(0, 101), hangup_after_ms=120000))
            call, leg, sess = mu.leg_of_peer(cluster, peer)
            harness.wait_until(lambda: peer.target, 10, what="our RTP reaching the caller")
            ours = peer.target
            peer.play(mu.tones([500], -12, 1000) * 60)
            harness.wait_until(lambda: counters(cluster, leg)["packets_in"] > 20, 10, what="RTP flowing in")

            # from the latched peer's own address: garbage and truncated headers are malformed
            # (paced: a burst larger than the socket buffer would be dropped by the kernel, uncounted)
            for i in range(300):
                peer.send_raw(bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 200))))
                if i % 50 == 49:
                    time.sleep(0.05)
            hdr = peer.packet(b"\xff" * 160)
            for n in range(0, 12):
                peer.send_raw(hdr[:n])                           # shorter than a header
            peer.send_raw(bytes([0x8F]) + hdr[1:12])             # 15 CSRCs announced, none there
            peer.send_raw(bytes([0x90]) + hdr[1:12] + b"\x00")   # extension bit, extension cut
            peer.send_raw(bytes([0xA0]) + hdr[1:12] + b"\x00" * 10 + b"\xff")  # padding longer than the packet
            peer.send_raw(peer.packet(b"\x00" * 160, pt=34))     # a payload type never negotiated
            # wrong SSRC from the peer's address (fewer than it takes to believe a new stream)
            for i in range(10):
                peer.send_raw(peer.packet(b"\xff" * 160, ssrc=0xDEADBEEF, seq=rnd.randrange(65536)))
            # (random bytes that happen to look like RTP v2 may count as late or wrong SSRC instead)
            c = wait_counts(cluster, leg, "malformed and wrong-SSRC packets counted", malformed=250, wrong_ssrc=10)

            # a stranger: random bytes, then a flood of well-formed RTP
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stranger.bind(("127.0.0.1", 0))
            for i in range(200):
                stranger.sendto(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))), ours)
                if i % 50 == 49:
                    time.sleep(0.05)
            # a flood of well-formed RTP, 5,000 packets a second for 3 s (100 times a call's rate);
            # what the kernel drops when the socket buffer overflows is not ours to count
            flood = struct.pack("!BBHII", 0x80, 0, 1, 1, 0x12345678) + b"\xff" * 160
            t0 = time.time()
            sent = 0
            while time.time() - t0 < 3.0:
                for _ in range(100):
                    stranger.sendto(flood, ours)
                    sent += 1
                time.sleep(max(0.0, t0 + sent / 5000.0 - time.time()))
            stranger.close()
            c = wait_counts(cluster, leg, "stranger packets counted (%d sent)" % sent,
                            strangers=200 + int(sent * 0.8))

            # no crash: the same workers, and the call still has audio both ways
            assert dict(cluster.sql("SELECT worker, pid FROM cc.media_workers")) == pids
            since_in = counters(cluster, leg)["packets_in"]
            mu.send_actions(cluster, call, [{"type": "play", "leg": leg, "file": "steady.wav", "tag": "after"}])
            mu.wait_event(cluster, leg, "play_done", lambda e: e.get("tag") == "after", 10)
            audio = peer.audio(len(peer.received) - 150)
            assert mu.tone_power(audio, 800, 8000) > 1000, "no prompt audio after the attack"
            assert counters(cluster, leg)["packets_in"] > since_in + 50, "the peer's RTP is no longer accepted"
            w = cluster.sql("SELECT sum(strangers), sum(malformed), sum(wrong_ssrc) FROM cc.media_workers")[0]
            assert w[0] >= c["strangers"] and w[1] >= c["malformed"] and w[2] >= 10, w
            assert "terminated by signal" not in open(cluster.logfile).read()
            caller.kill()
        finally:
            peer.close()


def test_6_silent_peer_reported_as_rtp_timeout():
    with mu.MediaCluster("media_rtp_timeout", media_workers=1, extra_conf={"cc.rtp_timeout_s": "2"}) as cluster:
        mu.number_with_flow(cluster, "7710", mu.pause_flow(60))
        peer = mu.RtpPeer(pt=0, send=False)   # answers, never sends RTP
        try:
            caller = mu.Caller(cluster, "7710", mu.uac_scenario(peer.port, pts=(0, 101), hangup_after_ms=15000))
            call, leg, _ = mu.leg_of_peer(cluster, peer)
            t0 = time.time()
            e = mu.wait_event(cluster, leg, "rtp_timeout", timeout=10)
            assert e["seconds"] >= 2 and time.time() - t0 < 6, (e, time.time() - t0)
            caller.kill()
        finally:
            peer.close()
