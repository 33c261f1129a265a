/*
 * media_dtmf.c
 *		DTMF of a media session: RFC 4733 events in (one digit per event,
 *		whatever the redundant and repeated packets), in-band detection
 *		(spandsp) for peers without telephone-event, digits by SIP INFO (from
 *		cc sip); all three meet in media_dtmf_digit, which applies barge-in,
 *		feeds the IBM dtmf collect, or reports a dtmf event.  Out: RFC 4733
 *		or in-band tones (spandsp) with IBM's send parameters.
 */
#include "postgres.h"

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/tone_generate.h>
#include <spandsp/dtmf.h>

#include "media.h"

#define EVENT_LOST_MS 1000		/* an RFC 4733 event without its end for this long is over */
#define INBAND_THRESHOLD_DBM0 -30	/* quietest tone detected, per frequency */

static const char event_digits[] = "0123456789*#ABCD";

static void inband_realtime(void *user_data, int code, int level, int delay);
static void inband_digits(void *user_data, const char *digits, int len);
static void collect_done(MediaSession *s, const char *reason);
static void send_next_digit(MediaSession *s);
static bool digit_tones(char digit, int *low, int *high);

/* media_dtmf_init makes the in-band detector of a session. */
void
media_dtmf_init(MediaSession *s)
{
	dtmf_rx_state_t *rx = dtmf_rx_init(NULL, inband_digits, s);

	dtmf_rx_set_realtime_callback(rx, inband_realtime, s);
	dtmf_rx_parms(rx, false, -1, -1, INBAND_THRESHOLD_DBM0);
	s->dtmf_rx = (struct dtmf_rx_state_s *) rx;
	s->inband_digit = 0;
}

/* media_dtmf_free lets go of the detector and any tone being sent. */
void
media_dtmf_free(MediaSession *s)
{
	if (s->dtmf_rx)
		dtmf_rx_free((dtmf_rx_state_t *) s->dtmf_rx);
	s->dtmf_rx = NULL;
	if (s->send.tone)
		tone_gen_free((tone_gen_state_t *) s->send.tone);
	s->send.tone = NULL;
}

/* inband_digits is spandsp's digit callback; the realtime one reports instead. */
static void
inband_digits(void *user_data, const char *digits, int len)
{
}

/*
 * inband_realtime is called by spandsp when an in-band digit starts (code
 * is the digit) and ends (code 0): the digit is reported at its end, with
 * its duration.
 */
static void
inband_realtime(void *user_data, int code, int level, int delay)
{
	MediaSession *s = (MediaSession *) user_data;

	if (code != 0)
	{
		s->inband_digit = (char) code;
		s->inband_start_ms = media_now_ms;
	}
	else if (s->inband_digit != 0)
	{
		char		d = s->inband_digit;

		s->inband_digit = 0;
		media_dtmf_digit(s, d, (int) (media_now_ms - s->inband_start_ms) + MEDIA_TICK_MS, "inband");
	}
}

/* media_dtmf_inband runs the detector over one received frame (at 8 kHz). */
void
media_dtmf_inband(MediaSession *s, const int16 *frame16k)
{
	int16		pcm8[CC_FRAME_SAMPLES / 2];

	if (s->dtmf_rx == NULL)
		return;
	media_down16to8(frame16k, CC_FRAME_SAMPLES, pcm8);
	dtmf_rx((dtmf_rx_state_t *) s->dtmf_rx, pcm8, CC_FRAME_SAMPLES / 2);
}

/*
 * media_dtmf_rfc4733 reads one telephone-event payload.  An event is known
 * by its RTP timestamp: its digit is reported once, at the first packet
 * with the end bit (or when the next event starts without one).
 */
void
media_dtmf_rfc4733(MediaSession *s, const uint8 *p, int len, uint32 ts)
{
	int			event;
	bool		end;
	int			duration;

	if (len < 4)
	{
		pg_atomic_fetch_add_u64(&s->shm->counters.malformed, 1);
		return;
	}
	event = p[0];
	end = (p[1] & 0x80) != 0;
	duration = (p[2] << 8) | p[3];
	if (event > 15)
		return;					/* flash and tones other than DTMF: not digits */
	if (!s->ev_seen || ts != s->ev_ts)
	{
		/* a new event; one whose end never came is reported first */
		if (s->ev_seen && !s->ev_ended && s->last_event_digit)
			media_dtmf_digit(s, s->last_event_digit, s->last_event_duration, "rfc4733");
		s->ev_seen = true;
		s->ev_ts = ts;
		s->ev_ended = false;
		s->last_event_digit = 0;
	}
	if (!s->ev_ended)
	{
		if (end)
		{
			s->ev_ended = true;
			media_dtmf_digit(s, event_digits[event], duration / 8, "rfc4733");
		}
		else
		{
			s->last_event_digit = event_digits[event];
			s->last_event_ms = media_now_ms;
			s->last_event_duration = duration / 8;
		}
	}
}

/*
 * media_dtmf_digit is where every received digit goes: barge-in on the
 * prompts (or the digit is ignored while a prompt that allows none plays),
 * then the running collection, or a dtmf event.
 */
void
media_dtmf_digit(MediaSession *s, char digit, int duration_ms, const char *via)
{
	MediaCollect *c = &s->collect;

	pg_atomic_fetch_add_u64(&s->shm->counters.dtmf_in, 1);
	if (media_play_busy(s))
	{
		MediaPlay  *p = dlist_container(MediaPlay, node, dlist_head_node(&s->plays));
		bool		barge = p->barge_in >= 0 ? p->barge_in != 0 : s->barge_in;

		if (!barge)
			return;				/* IBM: keys pressed during playback are ignored */
		media_play_barge(s);
	}
	if (c->active)
	{
		if (c->term && digit == c->term)
		{
			collect_done(s, "termination_key");
			return;
		}
		if (c->n < MEDIA_DIGITS_MAX)
			c->digits[c->n++] = digit;
		c->digits[c->n] = '\0';
		if (c->count > 0 && c->n >= c->count)
			collect_done(s, "count");
		else if (c->max > 0 && c->n >= c->max)
			collect_done(s, "maximum");
		else if (c->n >= MEDIA_DIGITS_MAX)
			collect_done(s, "maximum");
		else
		{
			c->first_timer = false;
			c->deadline_ms = media_now_ms + (c->inter_ms >= 0 ? c->inter_ms : c->first_ms);
		}
		return;
	}
	if (s->dtmf_disabled)
		return;
	media_emit(s, "{\"type\":\"dtmf\",\"digit\":\"%c\",\"duration_ms\":%d,\"via\":\"%s\"}",
			   digit, duration_ms, via);
}

/* collect_done reports the collection's digits and why it ended. */
static void
collect_done(MediaSession *s, const char *reason)
{
	MediaCollect *c = &s->collect;
	char	   *tag = media_json_string(c->tag);

	c->digits[c->n] = '\0';
	media_emit(s, "{\"type\":\"collect_done\",\"tag\":%s,\"digits\":\"%s\",\"reason\":\"%s\"}",
			   tag, c->digits, reason);
	pfree(tag);
	c->active = false;
	if (c->stop_after)
		s->dtmf_disabled = true;
}

/*
 * media_dtmf_collect_start starts an IBM dtmf collect (a running one ends
 * with reason stopped).  Its first-digit timer starts when the prompts
 * queued before it have played.
 */
void
media_dtmf_collect_start(MediaSession *s, const CcMediaCmd *cmd)
{
	MediaCollect *c = &s->collect;

	if (c->active)
		collect_done(s, "stopped");
	memset(c, 0, sizeof(*c));
	c->active = true;
	strlcpy(c->tag, cmd->tag, sizeof(c->tag));
	c->term = (char) cmd->args[CC_COLLECT_TERM];
	c->count = cmd->args[CC_COLLECT_COUNT];
	c->min = cmd->args[CC_COLLECT_MIN];
	c->max = cmd->args[CC_COLLECT_MAX];
	c->inter_ms = cmd->args[CC_COLLECT_INTER_MS];
	c->first_ms = cmd->args[CC_COLLECT_FIRST_MS] > 0 ? cmd->args[CC_COLLECT_FIRST_MS] : 7000;
	c->stop_after = cmd->args[CC_COLLECT_STOP_AFTER] != 0;
	c->deadline_ms = 0;
	c->first_timer = true;
	s->dtmf_disabled = false;	/* a new dtmf command re-enables keys */
}

/*
 * media_dtmf_tick runs the timers: the collection's first-digit timer
 * (armed once no prompt plays) and inter-digit timer, and the end of an
 * RFC 4733 event whose end packets were all lost.
 */
void
media_dtmf_tick(MediaSession *s)
{
	MediaCollect *c = &s->collect;

	if (s->ev_seen && !s->ev_ended && s->last_event_digit &&
		media_now_ms - s->last_event_ms > EVENT_LOST_MS)
	{
		s->ev_ended = true;
		media_dtmf_digit(s, s->last_event_digit, s->last_event_duration, "rfc4733");
	}
	if (!c->active)
		return;
	if (c->deadline_ms == 0)
	{
		if (!media_play_busy(s))
			c->deadline_ms = media_now_ms + c->first_ms;
		return;
	}
	if (media_now_ms >= c->deadline_ms)
		collect_done(s, c->n == 0 ? "first_digit_timeout" : "timeout");
}

/* media_dtmf_stop ends collection and sending without reporting them (stop_media). */
void
media_dtmf_stop(MediaSession *s)
{
	s->collect.active = false;
	s->send.active = false;
	if (s->send.tone)
		tone_gen_free((tone_gen_state_t *) s->send.tone);
	s->send.tone = NULL;
}

/* digit_tones gives the two frequencies of a DTMF digit. */
static bool
digit_tones(char digit, int *low, int *high)
{
	static const char keys[] = "123A456B789C*0#D";
	static const int lows[] = {697, 770, 852, 941};
	static const int highs[] = {1209, 1336, 1477, 1633};
	const char *k = strchr(keys, digit);

	if (digit == '\0' || k == NULL)
		return false;
	*low = lows[(k - keys) / 4];
	*high = highs[(k - keys) % 4];
	return true;
}

/*
 * media_dtmf_send_start queues digits to send.  digits is "D:ms:dBm0" items
 * separated by ';' (sip_media.c writes it); a send in progress is replaced.
 */
void
media_dtmf_send_start(MediaSession *s, const CcMediaCmd *cmd, const char *digits)
{
	MediaSend  *d = &s->send;
	const char *p = digits;

	/* a send in progress is replaced; a collection goes on */
	s->send.active = false;
	memset(d->digits, 0, sizeof(d->digits));
	d->n = 0;
	while (*p && d->n < MEDIA_DIGITS_MAX)
	{
		MediaSendDigit *x = &d->digits[d->n];
		int			low,
					high;

		x->digit = *p;
		x->duration_ms = 200;
		x->volume = 0;
		if (p[1] == ':')
		{
			char	   *end;

			x->duration_ms = (int) strtol(p + 2, &end, 10);
			if (*end == ':')
				x->volume = (int) strtol(end + 1, &end, 10);
			p = end;
		}
		else
			p++;
		while (*p && *p != ';')
			p++;
		if (*p == ';')
			p++;
		x->duration_ms = Max(40, Min(x->duration_ms, 10000));
		x->volume = Max(-63, Min(x->volume, 0));
		if (digit_tones(x->digit, &low, &high))
			d->n++;
	}
	strlcpy(d->tag, cmd->tag, sizeof(d->tag));
	d->interval_ms = Max(0, Min(cmd->args[0], 10000));
	d->i = -1;
	s->dtmf_disabled = false;
	if (d->n == 0)
	{
		char	   *tag = media_json_string(d->tag);

		media_emit(s, "{\"type\":\"dtmf_sent\",\"tag\":%s}", tag);
		pfree(tag);
		return;
	}
	d->active = true;
	send_next_digit(s);
}

/* send_next_digit moves to the next digit, or reports dtmf_sent after the last. */
static void
send_next_digit(MediaSession *s)
{
	MediaSend  *d = &s->send;

	if (d->tone)
		tone_gen_free((tone_gen_state_t *) d->tone);
	d->tone = NULL;
	d->i++;
	d->elapsed_ms = 0;
	d->end_sent = 0;
	if (d->i >= d->n)
	{
		char	   *tag = media_json_string(d->tag);

		d->active = false;
		media_emit(s, "{\"type\":\"dtmf_sent\",\"tag\":%s}", tag);
		pfree(tag);
		return;
	}
	d->event_ts = s->tx_ts;
	if (s->dtmf_pt < 0)
	{
		tone_gen_descriptor_t *desc;
		MediaSendDigit *x = &d->digits[d->i];
		int			low = 0,
					high = 0;

		(void) digit_tones(x->digit, &low, &high);
		/* volume is the digit's level: each of its two tones 3 dB below (0 dBm0 does not clip) */
		desc = tone_gen_descriptor_init(NULL, low, x->volume - 3, high, x->volume - 3, x->duration_ms, 0, 0, 0, false);
		d->tone = (struct tone_gen_state_s *) tone_gen_init(NULL, desc);
		tone_gen_descriptor_free(desc);
	}
}

/*
 * media_dtmf_send_frame does this tick of the digit being sent: in-band, it
 * writes the tone over frame; RFC 4733, it sends the event packets itself
 * and sets *rfc4733 so no audio goes out this tick.  Returns whether a digit
 * is still being sent.
 */
bool
media_dtmf_send_frame(MediaSession *s, int16 *frame16k, bool *rfc4733)
{
	MediaSend  *d = &s->send;
	MediaSendDigit *x;

	*rfc4733 = false;
	if (!d->active || d->i < 0 || d->i >= d->n)
		return false;
	x = &d->digits[d->i];
	if (d->elapsed_ms < x->duration_ms)
	{
		d->elapsed_ms += MEDIA_TICK_MS;
		if (s->dtmf_pt >= 0)
		{
			uint8		ev[4];
			int			dur = Min(d->elapsed_ms, x->duration_ms) * 8;
			bool		last = d->elapsed_ms >= x->duration_ms;
			int			k;

			ev[0] = (uint8) (strchr(event_digits, x->digit) - event_digits);
			ev[1] = (uint8) (-x->volume & 0x3f);
			ev[2] = (uint8) (dur >> 8);
			ev[3] = (uint8) dur;
			if (last)
			{
				ev[1] |= 0x80;
				for (k = 0; k < 3; k++)	/* the end packet three times (RFC 4733 2.5.1.4) */
					media_rtp_send_packet(s, s->dtmf_pt, ev, 4, d->event_ts, false);
			}
			else
				media_rtp_send_packet(s, s->dtmf_pt, ev, 4, d->event_ts, d->elapsed_ms == MEDIA_TICK_MS);
			*rfc4733 = true;
		}
		else if (d->tone)
		{
			int16		pcm8[CC_FRAME_SAMPLES / 2];
			int16		last = 0;
			int			n = tone_gen((tone_gen_state_t *) d->tone, pcm8, CC_FRAME_SAMPLES / 2);

			if (n < CC_FRAME_SAMPLES / 2)
				memset(pcm8 + n, 0, sizeof(int16) * (CC_FRAME_SAMPLES / 2 - n));
			media_up8to16(pcm8, CC_FRAME_SAMPLES / 2, frame16k, &last);
		}
		return true;
	}
	/* the gap after the digit */
	d->elapsed_ms += MEDIA_TICK_MS;
	if (d->elapsed_ms >= x->duration_ms + d->interval_ms)
		send_next_digit(s);
	return d->active;
}
