/*
 * media_record.c
 *		Recording a session to a WAV file under cc.recordings_dir, 8 kHz
 *		16-bit: two channels (this leg on the first, the other leg or what
 *		this leg hears on the second) or one (both mixed).  Start, pause,
 *		resume, stop; recording_done carries the figures for cc.recordings.
 *
 * Writes go through a 64 kB stdio buffer (a write() every two seconds of
 * a two-channel recording), to a local disk's page cache.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "media.h"
#include "media_wav.h"

#define RECORD_RATE 8000

static void make_parents(const char *path);

/* make_parents creates the directories of path (like mkdir -p of its dirname). */
static void
make_parents(const char *path)
{
	char		buf[MAXPGPATH];
	char	   *p;

	strlcpy(buf, path, sizeof(buf));
	for (p = buf + 1; *p; p++)
		if (*p == '/')
		{
			*p = '\0';
			(void) mkdir(buf, 0750);
			*p = '/';
		}
}

/* media_record_command starts, pauses, resumes or stops the session's recording. */
void
media_record_command(MediaSession *s, const CcMediaCmd *cmd, const char *id, const char *file)
{
	MediaRecord *r = &s->record;
	char		path[MAXPGPATH];
	unsigned char header[44];

	switch (cmd->args[CC_SUB])
	{
		case CC_RECORD_START:
			if (r->active)
				media_record_finish(s, "restarted");
			memset(r, 0, sizeof(*r));
			r->with = -1;
			strlcpy(r->id, id, sizeof(r->id));
			strlcpy(r->path, file, sizeof(r->path));
			strlcpy(r->tag, cmd->tag, sizeof(r->tag));
			r->channels = cmd->args[CC_SUB_ARG] == 1 ? 1 : 2;
			if (cmd->peer >= 0)
			{
				r->with = cmd->peer;
				r->with_generation = cmd->peer_generation;
			}
			if (file[0] == '/')
				strlcpy(path, file, sizeof(path));
			else
				snprintf(path, sizeof(path), "%s/%s", cc_recordings_dir, file);
			make_parents(path);
			r->file = fopen(path, "wb");
			if (r->file == NULL)
			{
				char	   *rid = media_json_string(r->id);
				char	   *f = media_json_string(r->path);
				char	   *e = media_json_string(strerror(errno));

				elog(LOG, "cc media %d: cannot write recording %s: %m", media_worker_id, path);
				media_emit(s, "{\"type\":\"recording_done\",\"recording\":%s,\"file\":%s,\"duration_ms\":0,"
						   "\"bytes\":0,\"channels\":%d,\"reason\":\"error\",\"error\":%s}",
						   rid, f, r->channels, e);
				return;
			}
			setvbuf(r->file, NULL, _IOFBF, 65536);
			cc_wav_header(header, r->channels, RECORD_RATE, 0);
			fwrite(header, 1, sizeof(header), r->file);
			r->active = true;
			break;
		case CC_RECORD_PAUSE:
			r->paused = true;
			break;
		case CC_RECORD_RESUME:
			r->paused = false;
			break;
		case CC_RECORD_STOP:
			media_record_finish(s, "stopped");
			break;
	}
}

/*
 * media_record_frame writes this tick: channel 1 this leg's voice, channel
 * 2 the other leg (its published audio) or, without one, what this leg
 * hears (heard).
 */
void
media_record_frame(MediaSession *s, const int16 *heard)
{
	MediaRecord *r = &s->record;
	int16		a[CC_FRAME_SAMPLES / 2];
	int16		b[CC_FRAME_SAMPLES / 2];
	int16		out[CC_FRAME_SAMPLES];
	int			i;

	if (!r->active || r->paused)
		return;
	media_down16to8(s->in_frame, CC_FRAME_SAMPLES, a);
	if (r->with >= 0 && cc_session(r->with)->state == CC_SESSION_OPEN &&
		cc_session(r->with)->generation == r->with_generation)
	{
		int16		f[CC_FRAME_SAMPLES];

		if (!cc_frame_read(&cc_session(r->with)->heard_in, &r->with_cursor, f))
			memset(f, 0, sizeof(f));
		media_down16to8(f, CC_FRAME_SAMPLES, b);
	}
	else
		media_down16to8(heard, CC_FRAME_SAMPLES, b);
	if (r->channels == 2)
	{
		for (i = 0; i < CC_FRAME_SAMPLES / 2; i++)
		{
			out[2 * i] = a[i];
			out[2 * i + 1] = b[i];
		}
		fwrite(out, sizeof(int16), CC_FRAME_SAMPLES, r->file);
	}
	else
	{
		for (i = 0; i < CC_FRAME_SAMPLES / 2; i++)
			out[i] = (int16) Max(-32768, Min(32767, (int32) a[i] + b[i]));
		fwrite(out, sizeof(int16), CC_FRAME_SAMPLES / 2, r->file);
	}
	r->frames += CC_FRAME_SAMPLES / 2;
}

/*
 * media_record_finish closes the recording (its header now holds the
 * length) and reports recording_done: on this session, or, when the
 * session is closing (reason NULL), on the other leg if it is still open
 * so that its call can still record the figures.
 */
void
media_record_finish(MediaSession *s, const char *reason)
{
	MediaRecord *r = &s->record;
	unsigned char header[44];
	int64		bytes = 44 + r->frames * 2 * r->channels;
	int64		duration_ms = r->frames * 1000 / RECORD_RATE;
	char	   *rid,
			   *f,
			   *tag;
	int			index = s->index;
	uint32		generation = s->generation;

	if (!r->active)
		return;
	r->active = false;
	cc_wav_header(header, r->channels, RECORD_RATE, bytes - 44);
	if (fflush(r->file) != 0 || fseek(r->file, 0, SEEK_SET) != 0 ||
		fwrite(header, 1, sizeof(header), r->file) != sizeof(header))
		elog(LOG, "cc media %d: recording %s: %m", media_worker_id, r->path);
	fclose(r->file);
	r->file = NULL;

	if (reason == NULL)
	{
		int			other = r->with >= 0 ? r->with : s->shm->bridge_peer;
		uint32		other_gen = r->with >= 0 ? r->with_generation : s->shm->bridge_peer_generation;

		reason = "hangup";
		if (other >= 0 && cc_session(other)->state == CC_SESSION_OPEN &&
			cc_session(other)->generation == other_gen)
		{
			index = other;
			generation = other_gen;
		}
	}
	rid = media_json_string(r->id);
	f = media_json_string(r->path);
	tag = r->tag[0] ? media_json_string(r->tag) : pstrdup("null");
	media_emit_for(index, generation,
				   "{\"type\":\"recording_done\",\"tag\":%s,\"recording\":%s,\"file\":%s,\"duration_ms\":"
				   INT64_FORMAT ",\"bytes\":" INT64_FORMAT ",\"channels\":%d,\"reason\":\"%s\"}",
				   tag, rid, f, duration_ms, bytes, r->channels, reason);
	pfree(rid);
	pfree(f);
	pfree(tag);
}
