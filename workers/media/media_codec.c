/*
 * media_codec.c
 *		PCMU, PCMA and G.722 for a media session (spandsp), to and from the
 *		worker's internal 16 kHz frames, with packet loss concealment
 *		(spandsp's PLC for G.711; a fading repeat of the last frame for G.722).
 *
 * 8 kHz audio goes up to 16 kHz by interpolating between samples and comes
 * back down by keeping the samples it was made of, so a G.711 prompt or
 * bridge passes through unchanged; G.722 audio bridged to a G.711 leg is
 * decimated without a filter (what is above 4 kHz folds down, faintly).
 */
#include "postgres.h"

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>

#include "media.h"

/* media_up8to16 doubles the rate of n samples into out (2n); *last carries across calls. */
void
media_up8to16(const int16 *in, int n, int16 *out, int16 *last)
{
	int			i;
	int16		prev = *last;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = (int16) (((int32) prev + in[i]) / 2);
		out[2 * i + 1] = in[i];
		prev = in[i];
	}
	*last = prev;
}

/* media_down16to8 halves the rate of n16 samples (the inverse of media_up8to16). */
void
media_down16to8(const int16 *in, int n16, int16 *out)
{
	int			i;

	for (i = 0; i < n16 / 2; i++)
		out[i] = in[2 * i + 1];
}

/* media_codec_init sets up the codec states of the session's payload type. */
void
media_codec_init(MediaSession *s)
{
	media_codec_free(s);
	s->rate = (s->codec_pt == 9) ? 16000 : 8000;
	if (s->codec_pt == 9)
	{
		s->g722_enc = (struct g722_encode_state_s *) g722_encode_init(NULL, 64000, 0);
		s->g722_dec = (struct g722_decode_state_s *) g722_decode_init(NULL, 64000, 0);
	}
	else
		s->plc = (struct plc_state_s *) plc_init(NULL);
	s->plc_run = 0;
	s->up_prev = 0;
	memset(s->plc_last, 0, sizeof(s->plc_last));
}

/* media_codec_free lets go of the codec states. */
void
media_codec_free(MediaSession *s)
{
	if (s->g722_enc)
		g722_encode_free((g722_encode_state_t *) s->g722_enc);
	if (s->g722_dec)
		g722_decode_free((g722_decode_state_t *) s->g722_dec);
	if (s->plc)
		plc_free((plc_state_t *) s->plc);
	s->g722_enc = NULL;
	s->g722_dec = NULL;
	s->plc = NULL;
}

/*
 * media_codec_decode turns one payload into 16 kHz samples in out (at most
 * max); returns how many.
 */
int
media_codec_decode(MediaSession *s, const uint8 *data, int len, int16 *out, int max)
{
	int16		pcm8[MEDIA_MAX_PAYLOAD];
	int			i;
	int			n;

	if (s->codec_pt == 9)
	{
		len = Min(len, max / 2);
		n = g722_decode((g722_decode_state_t *) s->g722_dec, out, data, len);
		if (n >= CC_FRAME_SAMPLES)
			memcpy(s->plc_last, out + n - CC_FRAME_SAMPLES, sizeof(s->plc_last));
		s->plc_run = 0;
		return n;
	}
	len = Min(len, max / 2);
	for (i = 0; i < len; i++)
		pcm8[i] = (s->codec_pt == 8) ? alaw_to_linear(data[i]) : ulaw_to_linear(data[i]);
	plc_rx((plc_state_t *) s->plc, pcm8, len);
	media_up8to16(pcm8, len, out, &s->up_prev);
	s->plc_run = 0;
	return 2 * len;
}

/* media_codec_plc conceals samples (16 kHz) of a lost packet. */
void
media_codec_plc(MediaSession *s, int16 *out, int samples)
{
	int			i;

	if (s->codec_pt == 9)
	{
		/* repeat the last frame, fading by half at each frame concealed */
		int			shift = Min(++s->plc_run, 15);

		for (i = 0; i < samples; i++)
			out[i] = s->plc_last[i % CC_FRAME_SAMPLES] >> shift;
		return;
	}
	{
		int16		pcm8[CC_FRAME_SAMPLES];

		samples = Min(samples, 2 * CC_FRAME_SAMPLES);
		plc_fillin((plc_state_t *) s->plc, pcm8, samples / 2);
		media_up8to16(pcm8, samples / 2, out, &s->up_prev);
	}
}

/*
 * media_codec_encode turns one 20 ms frame (16 kHz) into the session's
 * payload; returns its length.
 */
int
media_codec_encode(MediaSession *s, const int16 *in, uint8 *out)
{
	int16		pcm8[CC_FRAME_SAMPLES / 2];
	int			i;

	if (s->codec_pt == 9)
		return g722_encode((g722_encode_state_t *) s->g722_enc, out, in, CC_FRAME_SAMPLES);
	media_down16to8(in, CC_FRAME_SAMPLES, pcm8);
	for (i = 0; i < CC_FRAME_SAMPLES / 2; i++)
		out[i] = (s->codec_pt == 8) ? linear_to_alaw(pcm8[i]) : linear_to_ulaw(pcm8[i]);
	return CC_FRAME_SAMPLES / 2;
}
