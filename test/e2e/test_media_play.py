"""test_media_play.py: Done-when line 1 of the media engine: a call answered
by a flow that plays a known WAV receives that audio (decoded samples match
the file within the codec's own error) for PCMU, PCMA and G722 calls; TTS
of a known sentence produces audio of the expected length.  Also: a prompt
WAV that is not 16-bit mono 8/16 kHz is refused when registered."""

import glob
import math
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import media_util as mu  # noqa: E402


def reference_audio():
    """Two seconds of a sweep plus a steady tone, shaped so alignment is unambiguous."""
    rate = 8000
    out = []
    for i in range(2 * rate):
        t = i / rate
        f = 300 + 1500 * t / 2.0
        out.append(int(6000 * math.sin(2 * math.pi * f * t) + 3000 * math.sin(2 * math.pi * 700 * t)
                       * (0.5 + 0.5 * math.sin(2 * math.pi * 3 * t))))
    return out


def upsample(x):
    """upsample doubles the rate the way the media worker does (interpolation)."""
    out, prev = [], 0
    for v in x:
        out += [(prev + v) // 2, v]
        prev = v
    return out


def codec_own_snr(pt, ref8k):
    """codec_own_snr is the SNR of the reference through the codec alone (same spandsp), aligned."""
    enc, dec = mu.Codec(pt), mu.Codec(pt)
    src = upsample(ref8k) if pt == 9 else ref8k
    n = enc.frame
    out = []
    for i in range(0, len(src) - n + 1, n):
        out += mu.samples_of(dec.decode(enc.encode(mu.pcm_bytes(src[i:i + n]))))
    shift, _ = mu.best_alignment(out, src, 200)
    return mu.snr_db(out[shift:], src)


def play_and_receive(cluster, number, pt, prompt):
    peer = mu.RtpPeer(pt=pt)
    try:
        mu.number_with_flow(cluster, number, mu.play_flow(prompt))
        caller = mu.Caller(cluster, number, mu.uac_scenario(peer.port, pts=(pt, 101)))
        code = caller.wait(60)
        assert code == 0, "sipp call to %s failed (%s); see %s" % (number, code, caller.logdir)
        return peer.audio(), peer
    finally:
        peer.close()


def test_1_flow_plays_wav_caller_receives_it_pcmu_pcma_g722_and_tts_length():
    with mu.MediaCluster("media_play") as cluster:
        ref = reference_audio()
        mu.write_wav(os.path.join(mu.media_dir(cluster), "known.wav"), ref, 8000)
        # registering it checks the file (and fills its length in)
        cluster.sql("INSERT INTO cc.prompts (name, kind, file_path) VALUES ('known', 'file', 'known.wav')")
        assert cluster.one("SELECT duration_ms FROM cc.prompts WHERE name = 'known'") == 2000

        for pt, number in ((0, "7100"), (8, "7108"), (9, "7109")):
            audio, peer = play_and_receive(cluster, number, pt, {"file": "known.wav"})
            src = upsample(ref) if pt == 9 else ref
            rate = mu.RATE[pt]
            assert len(audio) >= len(src), "%s: received %d samples, the file has %d" % (
                mu.NAME[pt], len(audio), len(src))
            shift, corr = mu.best_alignment(audio, src, rate)  # within the first second
            got = mu.snr_db(audio[shift:shift + len(src)], src)
            own = codec_own_snr(pt, ref)
            assert corr > 0.95, "%s: received audio does not look like the file (correlation %.3f)" % (
                mu.NAME[pt], corr)
            assert got >= own - 3.0, "%s: SNR %.1f dB, the codec alone gives %.1f dB" % (
                mu.NAME[pt], got, own)
            # nothing but the prompt: after it, silence (the flow hangs up)
            tail = audio[shift + len(src) + rate // 10:]
            assert mu.rms(tail) < 50, "%s: audio after the prompt (rms %.0f)" % (mu.NAME[pt], mu.rms(tail))

        # TTS: a known sentence, rendered once (cached WAV), played whole
        sentence = "Thank you for calling. All of our agents are busy. Please stay on the line."
        audio, peer = play_and_receive(cluster, "7200", 0, {"tts": sentence})
        cached = glob.glob(os.path.join(mu.media_dir(cluster), "tts", "*.wav"))
        assert len(cached) == 1, "one cached rendering expected, found %r" % cached
        rate, ch, chans = mu.read_wav(cached[0])
        assert rate in (8000, 16000) and ch == 1
        rendered_s = len(chans[0]) / rate
        words = len(sentence.split())
        # speech runs at 1.5 to 4 words a second
        assert words / 4.0 <= rendered_s <= words / 1.5, "rendering of %d words lasts %.2f s" % (words, rendered_s)
        voiced = [i for i in range(0, len(audio), 160) if mu.rms(audio[i:i + 160]) > 200]
        assert voiced, "no speech received"
        heard_s = (voiced[-1] - voiced[0]) / 8000.0 + 0.02
        assert abs(heard_s - rendered_s) < 0.6, "heard %.2f s of speech, the rendering lasts %.2f s" % (
            heard_s, rendered_s)
        # a second call with the same text uses the cache: still one file
        play_and_receive(cluster, "7201", 8, {"tts": sentence})
        assert len(glob.glob(os.path.join(mu.media_dir(cluster), "tts", "*.wav"))) == 1


def test_1_prompt_wav_not_16bit_mono_8_or_16khz_is_refused():
    with mu.MediaCluster("media_prompts", media_workers=1) as cluster:
        d = mu.media_dir(cluster)
        os.makedirs(d, exist_ok=True)
        mu.write_wav(os.path.join(d, "stereo.wav"), [0] * 1600, 8000, channels=2)
        mu.write_wav(os.path.join(d, "r44.wav"), [0] * 4410, 44100)
        mu.write_wav(os.path.join(d, "8bit.wav"), [0] * 800, 8000, width=1)
        with open(os.path.join(d, "text.wav"), "w") as f:
            f.write("not a wav at all")
        for name, what in (("stereo.wav", "2 channels"), ("r44.wav", "44100 Hz"), ("8bit.wav", "8-bit")):
            try:
                cluster.sql("INSERT INTO cc.prompts (name, kind, file_path) VALUES (%s, 'file', %s)", name, name)
            except psycopg2.Error as e:
                assert e.pgcode == "22023", e.pgcode
                assert name in str(e) and what in str(e), str(e)
                assert "16-bit PCM, mono, 8000 or 16000 Hz" in (e.diag.message_hint or ""), e.diag.message_hint
            else:
                raise AssertionError("prompt %s was accepted" % name)
        for name, code in (("text.wav", "22023"), ("missing.wav", "58P01"), ("../etc.wav", "22023")):
            try:
                cluster.sql("INSERT INTO cc.prompts (name, kind, file_path) VALUES (%s, 'file', %s)", name, name)
            except psycopg2.Error as e:
                assert e.pgcode == code, (name, e.pgcode, str(e))
                assert name in str(e), str(e)
            else:
                raise AssertionError("prompt %s was accepted" % name)
        mu.write_wav(os.path.join(d, "wide.wav"), [0] * 16000, 16000)
        cluster.sql("INSERT INTO cc.prompts (name, kind, file_path) VALUES ('wide', 'file', 'wide.wav')")
        assert cluster.one("SELECT sample_rate FROM cc.prompts WHERE name = 'wide'") == 16000
