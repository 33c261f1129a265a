/*
 * media_play.c
 *		What a session plays to its peer: a queue of prompts (WAV files under
 *		cc.media_dir, TTS renderings, tones from spandsp, silence) with play
 *		count, loop and barge-in, reported by play_done events; and the hold
 *		music of a held leg.
 *
 * A WAV is read ahead a second at a time, so the loop makes one read() a
 * second per prompt rather than one a tick.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/tone_generate.h>

#include "utils/memutils.h"

#include "media.h"
#include "media_wav.h"

typedef enum PlayResult
{
	PLAY_AUDIO,					/* frame filled */
	PLAY_DONE,					/* nothing more: the item is over */
	PLAY_ERROR					/* could not play (error set) */
} PlayResult;

static char *resolve_path(const char *dir, const char *file);
static PlayResult play_read(MediaSession *s, MediaPlay *p, int16 *frame, char *error, int error_len);
static bool play_start(MediaSession *s, MediaPlay *p, char *error, int error_len);
static bool play_rewind(MediaPlay *p);
static void play_close(MediaPlay *p);
static void play_report(MediaSession *s, MediaPlay *p, const char *reason, const char *error);
static bool tone_start(MediaPlay *p, char *error, int error_len);

/* resolve_path puts a relative file under dir (itself relative to the data directory). */
static char *
resolve_path(const char *dir, const char *file)
{
	if (file[0] == '/')
		return MemoryContextStrdup(TopMemoryContext, file);
	return MemoryContextStrdup(TopMemoryContext, psprintf("%s/%s", dir, file));
}

/*
 * media_play_add queues a play (or, with hold, makes it the hold music).
 * s0 is the file, the text or the tone name; s1 the TTS voice.
 */
void
media_play_add(MediaSession *s, const CcMediaCmd *cmd, const char *s0, const char *s1, bool hold)
{
	MediaPlay  *p = MemoryContextAllocZero(TopMemoryContext, sizeof(MediaPlay));
	char	   *error = NULL;

	p->kind = cmd->args[CC_PLAY_KIND];
	p->count = Max(1, cmd->args[CC_PLAY_COUNT]);
	p->loop = cmd->args[CC_PLAY_LOOP] != 0 || hold;
	p->barge_in = cmd->args[CC_PLAY_BARGE];
	p->ms = cmd->args[CC_PLAY_MS];
	p->fd = -1;
	p->tts_job = -1;
	p->hold_music = hold;
	strlcpy(p->tag, cmd->tag, sizeof(p->tag));
	if (p->kind == CC_PLAY_FILE)
		p->path = resolve_path(cc_media_dir, s0);
	else if (p->kind == CC_PLAY_TTS)
	{
		char	   *path = NULL;

		p->tts_job = media_tts_request(s0, s1, &path, &error);
		if (path)
			p->path = MemoryContextStrdup(TopMemoryContext, path);
	}
	else
		p->tone = MemoryContextStrdup(TopMemoryContext, s0);

	if (hold)
	{
		if (s->hold_music)
			media_play_free(s->hold_music);
		s->hold_music = p;
		return;
	}
	if (error)
	{
		play_report(s, p, "error", error);
		media_play_free(p);
		return;
	}
	dlist_push_tail(&s->plays, &p->node);
}

/* media_play_free closes and frees one play. */
void
media_play_free(MediaPlay *p)
{
	play_close(p);
	if (p->path)
		pfree(p->path);
	if (p->tone)
		pfree(p->tone);
	pfree(p);
}

/* play_close lets go of the file, buffer and tone generator of a play. */
static void
play_close(MediaPlay *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->buf)
		pfree(p->buf);
	p->buf = NULL;
	if (p->tone_gen)
		tone_gen_free((tone_gen_state_t *) p->tone_gen);
	p->tone_gen = NULL;
	p->started = false;
}

/* play_report sends play_done for a play that the decisions asked for. */
static void
play_report(MediaSession *s, MediaPlay *p, const char *reason, const char *error)
{
	char	   *tag;

	if (p->hold_music)
		return;
	tag = p->tag[0] ? media_json_string(p->tag) : pstrdup("null");
	if (error)
	{
		char	   *e = media_json_string(error);

		media_emit(s, "{\"type\":\"play_done\",\"tag\":%s,\"reason\":\"%s\",\"error\":%s}", tag, reason, e);
		pfree(e);
	}
	else
		media_emit(s, "{\"type\":\"play_done\",\"tag\":%s,\"reason\":\"%s\"}", tag, reason);
	pfree(tag);
}

/*
 * tone_start sets up a tone: ringback (440+480 Hz, 2 s on 4 s off), busy
 * (480+620 Hz, 0.5 s on, 0.5 s off), beep (1 kHz, 0.5 s) or silence; ms
 * (default: one cadence) is how long one play lasts.
 */
static bool
tone_start(MediaPlay *p, char *error, int error_len)
{
	tone_gen_descriptor_t *desc;

	if (strcmp(p->tone, "ringback") == 0)
	{
		desc = tone_gen_descriptor_init(NULL, 440, -19, 480, -19, 2000, 4000, 0, 0, true);
		if (p->ms <= 0)
			p->ms = 6000;
	}
	else if (strcmp(p->tone, "busy") == 0)
	{
		desc = tone_gen_descriptor_init(NULL, 480, -24, 620, -24, 500, 500, 0, 0, true);
		if (p->ms <= 0)
			p->ms = 1000;
	}
	else if (strcmp(p->tone, "beep") == 0)
	{
		desc = tone_gen_descriptor_init(NULL, 1000, -10, 0, 0, p->ms > 0 ? p->ms : 500, 0, 0, 0, false);
		if (p->ms <= 0)
			p->ms = 500;
	}
	else if (strcmp(p->tone, "silence") == 0)
	{
		if (p->ms <= 0)
			p->ms = 1000;
		p->elapsed_ms = 0;
		return true;
	}
	else
	{
		snprintf(error, error_len, "unknown tone \"%s\" (ringback, busy, beep or silence)", p->tone);
		return false;
	}
	p->tone_gen = (struct tone_gen_state_s *) tone_gen_init(NULL, desc);
	tone_gen_descriptor_free(desc);
	p->elapsed_ms = 0;
	return true;
}

/* play_start opens what a play reads from. */
static bool
play_start(MediaSession *s, MediaPlay *p, char *error, int error_len)
{
	if (p->kind == CC_PLAY_TONE)
		p->started = tone_start(p, error, error_len);
	else
	{
		CcWavInfo	info;
		char		why[256];

		if (!cc_wav_read_file(p->path, &info, why, sizeof(why)) ||
			!cc_wav_playable(&info, why, sizeof(why)))
		{
			snprintf(error, error_len, "cannot play \"%s\": %s", p->path, why);
			return false;
		}
		p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
		if (p->fd < 0)
		{
			snprintf(error, error_len, "cannot open \"%s\": %m", p->path);
			return false;
		}
		p->rate = info.sample_rate;
		p->data_start = info.data_offset;
		p->data_bytes = info.data_bytes & ~(int64) 1;
		p->pos = 0;
		p->buf = MemoryContextAlloc(TopMemoryContext, sizeof(int16) * 16000);
		p->buf_len = p->buf_pos = 0;
		p->started = true;
	}
	return p->started;
}

/* play_rewind starts a play over (count, loop). */
static bool
play_rewind(MediaPlay *p)
{
	p->pos = 0;
	p->buf_len = p->buf_pos = 0;
	p->elapsed_ms = 0;
	if (p->tone_gen)
	{
		tone_gen_free((tone_gen_state_t *) p->tone_gen);
		p->tone_gen = NULL;
		p->started = false;
	}
	return true;
}

/* play_read fills one 16 kHz frame from a play (silence past its end within the frame). */
static PlayResult
play_read(MediaSession *s, MediaPlay *p, int16 *frame, char *error, int error_len)
{
	if (p->kind == CC_PLAY_TTS && p->tts_job >= 0)
	{
		char	   *why = NULL;
		int			r = media_tts_poll(p->tts_job, &why);

		if (r == 0)
		{
			memset(frame, 0, sizeof(int16) * CC_FRAME_SAMPLES);
			return PLAY_AUDIO;	/* rendering: silence meanwhile */
		}
		p->tts_job = -1;
		if (r < 0)
		{
			snprintf(error, error_len, "text to speech failed: %s", why ? why : "unknown error");
			return PLAY_ERROR;
		}
	}
	if (!p->started && !play_start(s, p, error, error_len))
		return PLAY_ERROR;

	if (p->kind == CC_PLAY_TONE)
	{
		int16		pcm8[CC_FRAME_SAMPLES / 2];

		if (p->elapsed_ms >= p->ms)
			return PLAY_DONE;
		memset(pcm8, 0, sizeof(pcm8));
		if (p->tone_gen)
			(void) tone_gen((tone_gen_state_t *) p->tone_gen, pcm8, CC_FRAME_SAMPLES / 2);
		media_up8to16(pcm8, CC_FRAME_SAMPLES / 2, frame, &p->up_prev);
		p->elapsed_ms += MEDIA_TICK_MS;
		return PLAY_AUDIO;
	}
	else
	{
		int			need = p->rate == 16000 ? CC_FRAME_SAMPLES : CC_FRAME_SAMPLES / 2;
		int16		pcm[CC_FRAME_SAMPLES];
		int			got = 0;

		if (p->pos >= p->data_bytes && p->buf_pos >= p->buf_len)
			return PLAY_DONE;
		while (got < need)
		{
			if (p->buf_pos >= p->buf_len)
			{
				int64		left = p->data_bytes - p->pos;
				ssize_t		n;

				if (left <= 0)
					break;
				n = pread(p->fd, p->buf, Min(left, (int64) sizeof(int16) * 16000), p->data_start + p->pos);
				if (n <= 0)
				{
					p->pos = p->data_bytes;	/* truncated file: end here */
					break;
				}
				p->pos += n;
				p->buf_len = (int) (n / 2);
				p->buf_pos = 0;
			}
			pcm[got++] = p->buf[p->buf_pos++];
		}
		if (got == 0)
			return PLAY_DONE;
		if (got < need)
			memset(pcm + got, 0, sizeof(int16) * (need - got));
		if (p->rate == 16000)
			memcpy(frame, pcm, sizeof(int16) * CC_FRAME_SAMPLES);
		else
			media_up8to16(pcm, need, frame, &p->up_prev);
		return PLAY_AUDIO;
	}
}

/*
 * media_play_frame fills frame from the prompt queue; false when nothing
 * plays.  A play that ends is played again (count, loop) or reported.
 */
bool
media_play_frame(MediaSession *s, int16 *frame)
{
	int			guard = 0;

	while (!dlist_is_empty(&s->plays) && guard++ < 4)
	{
		MediaPlay  *p = dlist_container(MediaPlay, node, dlist_head_node(&s->plays));
		char		error[512];
		PlayResult	r = play_read(s, p, frame, error, sizeof(error));

		if (r == PLAY_AUDIO)
			return true;
		if (r == PLAY_DONE && (p->loop || --p->count > 0) && play_rewind(p) &&
			play_read(s, p, frame, error, sizeof(error)) == PLAY_AUDIO)
			return true;
		dlist_delete(&p->node);
		play_report(s, p, r == PLAY_ERROR ? "error" : "finished", r == PLAY_ERROR ? error : NULL);
		if (r == PLAY_ERROR)
			elog(LOG, "cc media %d: session %d: %s", media_worker_id, s->index, error);
		media_play_free(p);
	}
	return false;
}

/* media_play_hold_frame fills frame with the hold music; false (silence) without one. */
bool
media_play_hold_frame(MediaSession *s, int16 *frame)
{
	MediaPlay  *p = s->hold_music;
	char		error[512];
	PlayResult	r;

	if (p == NULL)
		return false;
	r = play_read(s, p, frame, error, sizeof(error));
	if (r == PLAY_DONE && play_rewind(p))
		r = play_read(s, p, frame, error, sizeof(error));
	if (r == PLAY_AUDIO)
		return true;
	if (r == PLAY_ERROR)
	{
		elog(LOG, "cc media %d: session %d: hold music: %s", media_worker_id, s->index, error);
		media_play_free(p);
		s->hold_music = NULL;
	}
	return false;
}

/* media_play_busy tells whether a prompt is queued or playing. */
bool
media_play_busy(MediaSession *s)
{
	return !dlist_is_empty(&s->plays);
}

/* media_play_barge stops every prompt because a key was pressed (play_done barge_in). */
void
media_play_barge(MediaSession *s)
{
	media_play_stop_all(s, "barge_in");
}

/*
 * media_play_stop_all empties the prompt queue; with a reason each play is
 * reported with it, without one (stop_media, close) silently.
 */
void
media_play_stop_all(MediaSession *s, const char *reason)
{
	while (!dlist_is_empty(&s->plays))
	{
		MediaPlay  *p = dlist_container(MediaPlay, node, dlist_pop_head_node(&s->plays));

		if (reason)
			play_report(s, p, reason, NULL);
		media_play_free(p);
	}
}
