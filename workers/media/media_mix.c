/*
 * media_mix.c
 *		Who hears whom: bridges, hold (music or silence), mute, conferences,
 *		monitoring (listen, whisper, barge).  Sessions of different media
 *		workers meet through shared memory only: each session publishes the
 *		audio it receives (heard_in) every tick, and whoever hears it reads
 *		that ring with a cursor of its own.
 *
 * A conference is mixed once per tick by its host worker (the worker of
 * the member that created it): the sum of its talkers, less each member's
 * own voice, plus what is whispered to that member, published in the
 * member's conference_out ring for its own worker to send.  A member thus
 * never hears itself, in O(members) per tick.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "media.h"

static uint64 *host_cursors = NULL;	/* per session: our conference read position */
static int32 *mix_acc = NULL;
static int16 *member_frames = NULL;
static int *members = NULL;

static void source_add(MediaSession *s, MediaSourceKind kind, int session, uint32 generation);
static void source_remove(MediaSession *s, MediaSourceKind kind, int session);
static bool source_alive(int session, uint32 generation);
static void conference_leave(MediaSession *s);
static void add_frame(int32 *acc, const int16 *frame);
static void clip(const int32 *acc, int16 *out);

/* source_alive tells whether a session is still the open one we were told of. */
static bool
source_alive(int session, uint32 generation)
{
	CcMediaSession *shm;

	if (session < 0 || session >= cc_shared->max_sessions)
		return false;
	shm = cc_session(session);
	return shm->state == CC_SESSION_OPEN && shm->generation == generation;
}

/* source_add makes s hear a session (one source per kind and session). */
static void
source_add(MediaSession *s, MediaSourceKind kind, int session, uint32 generation)
{
	int			i,
				free_slot = -1;

	for (i = 0; i < MEDIA_HEAR_MAX; i++)
	{
		MediaSource *src = &s->sources[i];

		if (src->kind == kind && src->session == session)
		{
			src->generation = generation;
			return;
		}
		if (src->kind == MEDIA_SRC_NONE && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
	{
		elog(LOG, "cc media %d: session %d hears %d sources already", media_worker_id, s->index, MEDIA_HEAR_MAX);
		return;
	}
	memset(&s->sources[free_slot], 0, sizeof(MediaSource));
	s->sources[free_slot].kind = kind;
	s->sources[free_slot].session = session;
	s->sources[free_slot].generation = generation;
	s->sources[free_slot].peer2 = -1;
}

/* source_remove stops hearing sources of a kind (session -1: all of that kind). */
static void
source_remove(MediaSession *s, MediaSourceKind kind, int session)
{
	int			i;

	for (i = 0; i < MEDIA_HEAR_MAX; i++)
		if (s->sources[i].kind == kind && (session < 0 || s->sources[i].session == session))
			s->sources[i].kind = MEDIA_SRC_NONE;
}

/* conference_leave takes s out of its conference. */
static void
conference_leave(MediaSession *s)
{
	int			conf = s->shm->conference;

	if (conf < 0)
		return;
	s->shm->conference = -1;
	pg_write_barrier();
	cc_conference_leave(conf);
}

/* media_mix_command carries out bridge, hold, mute, conference, monitor and hear commands. */
void
media_mix_command(MediaSession *s, const CcMediaCmd *cmd, const char *s0, const char *s1)
{
	CcMediaSession *shm = s->shm;

	switch (cmd->op)
	{
		case CC_OP_BRIDGE:
			source_remove(s, MEDIA_SRC_BRIDGE, -1);
			if (cmd->peer >= 0 && cmd->peer != s->index)
			{
				source_add(s, MEDIA_SRC_BRIDGE, cmd->peer, cmd->peer_generation);
				shm->bridge_peer_generation = cmd->peer_generation;
				pg_write_barrier();
				shm->bridge_peer = cmd->peer;
			}
			break;
		case CC_OP_UNBRIDGE:
			source_remove(s, MEDIA_SRC_BRIDGE, -1);
			shm->bridge_peer = -1;
			break;
		case CC_OP_HOLD:
			s->held = true;
			if (s->hold_music)
				media_play_free(s->hold_music);
			s->hold_music = NULL;
			if (!cmd->args[CC_PLAY_NONE])
				media_play_add(s, cmd, s0, s1, true);
			break;
		case CC_OP_UNHOLD:
			s->held = false;
			if (s->hold_music)
				media_play_free(s->hold_music);
			s->hold_music = NULL;
			break;
		case CC_OP_MUTE:
			s->muted = true;
			break;
		case CC_OP_UNMUTE:
			s->muted = false;
			break;
		case CC_OP_CONFERENCE:
			if (cmd->args[CC_SUB] == CC_CONF_LEAVE)
				conference_leave(s);
			else
			{
				shm->conference_mode = cmd->args[CC_SUB_ARG];
				shm->whisper_to_generation = cmd->peer_generation;
				shm->whisper_to = cmd->peer;
				if (cmd->args[CC_SUB] == CC_CONF_JOIN)
				{
					int			conf;

					conference_leave(s);
					conf = cc_conference_join(s0, media_worker_id);
					if (conf < 0)
						elog(LOG, "cc media %d: no free conference slot for %s", media_worker_id, s0);
					s->conf_cursor = 0;
					pg_write_barrier();
					shm->conference = conf;
				}
			}
			break;
		case CC_OP_MONITOR:
			source_remove(s, MEDIA_SRC_MONITOR, -1);
			if (cmd->args[CC_SUB] != CC_MONITOR_STOP && cmd->peer >= 0)
				source_add(s, MEDIA_SRC_MONITOR, cmd->peer, cmd->peer_generation);
			break;
		case CC_OP_HEAR_ADD:
			if (cmd->peer >= 0 && cmd->peer != s->index)
				source_add(s, MEDIA_SRC_INJECT, cmd->peer, cmd->peer_generation);
			break;
		case CC_OP_HEAR_REMOVE:
			source_remove(s, MEDIA_SRC_INJECT, cmd->peer);
			break;
		default:
			elog(LOG, "cc media %d: unknown media command %d", media_worker_id, cmd->op);
			break;
	}
}

/* media_mix_detach, at close: out of the conference, hearing nobody. */
void
media_mix_detach(MediaSession *s)
{
	conference_leave(s);
	memset(s->sources, 0, sizeof(s->sources));
}

/*
 * media_mix_publish publishes what the session's peer said this tick for
 * every listener: silence while muted or held.
 */
void
media_mix_publish(MediaSession *s)
{
	static const int16 silence[CC_FRAME_SAMPLES];

	cc_frame_publish(&s->shm->heard_in, (s->muted || s->held) ? silence : s->in_frame);
}

/* add_frame adds a frame into a 32-bit accumulator. */
static void
add_frame(int32 *acc, const int16 *frame)
{
	int			i;

	for (i = 0; i < CC_FRAME_SAMPLES; i++)
		acc[i] += frame[i];
}

/* clip brings an accumulator back to 16 bits. */
static void
clip(const int32 *acc, int16 *out)
{
	int			i;

	for (i = 0; i < CC_FRAME_SAMPLES; i++)
		out[i] = (int16) Max(-32768, Min(32767, acc[i]));
}

/*
 * media_mix_conferences mixes every conference this worker hosts (see the
 * file header).  Members are found by one pass over the session table.
 */
void
media_mix_conferences(void)
{
	int			c,
				i;
	bool		any = false;

	for (c = 0; c < CC_MAX_CONFERENCES; c++)
		if (cc_shared->conferences[c].id[0] && cc_shared->conferences[c].host_worker == media_worker_id)
			any = true;
	if (!any)
		return;
	if (host_cursors == NULL)
	{
		host_cursors = MemoryContextAllocZero(TopMemoryContext, sizeof(uint64) * cc_shared->max_sessions);
		mix_acc = MemoryContextAlloc(TopMemoryContext, sizeof(int32) * CC_FRAME_SAMPLES);
		member_frames = MemoryContextAlloc(TopMemoryContext,
										   sizeof(int16) * CC_FRAME_SAMPLES * CC_CONFERENCE_MAX_MEMBERS);
		members = MemoryContextAlloc(TopMemoryContext, sizeof(int) * CC_CONFERENCE_MAX_MEMBERS);
	}

	for (c = 0; c < CC_MAX_CONFERENCES; c++)
	{
		CcConference *conf = &cc_shared->conferences[c];
		int			n = 0;
		int			m;

		if (!conf->id[0] || conf->host_worker != media_worker_id)
			continue;
		for (i = 0; i < cc_shared->max_sessions && n < CC_CONFERENCE_MAX_MEMBERS; i++)
		{
			CcMediaSession *shm = cc_session(i);

			if (shm->state == CC_SESSION_OPEN && shm->conference == c)
				members[n++] = i;
		}
		memset(mix_acc, 0, sizeof(int32) * CC_FRAME_SAMPLES);
		for (m = 0; m < n; m++)
		{
			CcMediaSession *shm = cc_session(members[m]);
			int16	   *f = member_frames + m * CC_FRAME_SAMPLES;

			if (!cc_frame_read(&shm->heard_in, &host_cursors[members[m]], f))
				memset(f, 0, sizeof(int16) * CC_FRAME_SAMPLES);
			if (shm->conference_mode == CC_CONF_TALK)
				add_frame(mix_acc, f);
		}
		for (m = 0; m < n; m++)
		{
			CcMediaSession *shm = cc_session(members[m]);
			int32		acc[CC_FRAME_SAMPLES];
			int16		out[CC_FRAME_SAMPLES];
			int			w;

			memcpy(acc, mix_acc, sizeof(acc));
			if (shm->conference_mode == CC_CONF_TALK)
			{
				const int16 *own = member_frames + m * CC_FRAME_SAMPLES;

				for (i = 0; i < CC_FRAME_SAMPLES; i++)
					acc[i] -= own[i];
			}
			for (w = 0; w < n; w++)
			{
				CcMediaSession *ws = cc_session(members[w]);

				if (w != m && ws->conference_mode == CC_CONF_WHISPER && ws->whisper_to == members[m])
					add_frame(acc, member_frames + w * CC_FRAME_SAMPLES);
			}
			clip(acc, out);
			cc_frame_publish(&shm->conference_out, out);
		}
	}
}

/*
 * media_mix_output composes what the session sends this tick: the hold
 * music while held; else its prompts, the legs it hears (bridge, monitored
 * bridge, whisperers) and its conference, mixed.  Then it records.
 */
void
media_mix_output(MediaSession *s)
{
	int32		acc[CC_FRAME_SAMPLES];
	int16		frame[CC_FRAME_SAMPLES];
	int			i;

	if (s->held)
	{
		if (!media_play_hold_frame(s, s->out_frame))
			memset(s->out_frame, 0, sizeof(s->out_frame));
		media_record_frame(s, s->out_frame);
		return;
	}
	memset(acc, 0, sizeof(acc));
	if (media_play_frame(s, frame))
		add_frame(acc, frame);
	for (i = 0; i < MEDIA_HEAR_MAX; i++)
	{
		MediaSource *src = &s->sources[i];

		if (src->kind == MEDIA_SRC_NONE)
			continue;
		if (!source_alive(src->session, src->generation))
		{
			if (src->kind == MEDIA_SRC_BRIDGE)
				s->shm->bridge_peer = -1;
			src->kind = MEDIA_SRC_NONE;
			continue;
		}
		if (cc_frame_read(&cc_session(src->session)->heard_in, &src->cursor, frame))
			add_frame(acc, frame);
		if (src->kind == MEDIA_SRC_MONITOR)
		{
			/* a monitored leg: we hear its bridge peer too */
			CcMediaSession *target = cc_session(src->session);
			int			peer = target->bridge_peer;

			if (peer != src->peer2)
			{
				src->peer2 = peer;
				src->cursor2 = 0;
			}
			if (peer >= 0 && source_alive(peer, target->bridge_peer_generation) &&
				cc_frame_read(&cc_session(peer)->heard_in, &src->cursor2, frame))
				add_frame(acc, frame);
		}
	}
	if (s->shm->conference >= 0 &&
		cc_frame_read(&s->shm->conference_out, &s->conf_cursor, frame))
		add_frame(acc, frame);
	clip(acc, s->out_frame);
	media_record_frame(s, s->out_frame);
}
