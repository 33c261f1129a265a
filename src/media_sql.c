/*
 * media_sql.c
 *		SQL-callable C of the media engine: the per-session and per-worker
 *		counters read from shared memory (behind the views cc.media_sessions
 *		and cc.media_workers), and cc.wav_info(), which tells what a WAV file
 *		under cc.media_dir is (used to refuse unplayable prompts).
 */
#include "postgres.h"

#include <ctype.h>
#include <sys/stat.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "media_wav.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(cc_media_session_stats);
PG_FUNCTION_INFO_V1(cc_media_worker_stats);
PG_FUNCTION_INFO_V1(cc_wav_info);
PG_FUNCTION_INFO_V1(cc_media_tick_lags);

static void require_shmem(void);
static const char *codec_name(int pt);
static const char *state_name(int state);
static bool is_uuid(const char *s);

/* require_shmem errors out when the library was not preloaded. */
static void
require_shmem(void)
{
	if (cc_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_callcenter shared memory is not initialised"),
				 errhint("Add pg_callcenter to shared_preload_libraries and restart the server.")));
}

/* codec_name names an RTP payload type we carry. */
static const char *
codec_name(int pt)
{
	switch (pt)
	{
		case 0:
			return "PCMU";
		case 8:
			return "PCMA";
		case 9:
			return "G722";
		default:
			return "unknown";
	}
}

/* is_uuid tells whether s is spelled like a uuid (so uuid_in cannot fail). */
static bool
is_uuid(const char *s)
{
	int			i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

/* state_name names a CcSessionState. */
static const char *
state_name(int state)
{
	switch (state)
	{
		case CC_SESSION_ALLOCATED:
			return "opening";
		case CC_SESSION_OPEN:
			return "open";
		default:
			return "free";
	}
}

/*
 * cc_media_session_stats returns a row per media session in use: who owns
 * it, its leg, port, peer and codec, and its counters.
 */
Datum
cc_media_session_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	require_shmem();
	for (i = 0; i < cc_shared->max_sessions; i++)
	{
		CcMediaSession *s = cc_session(i);
		CcSessionCounters *c = &s->counters;
		Datum		values[25];
		bool		nulls[25] = {false};
		int			state = s->state;
		CcMediaPeer peer;
		int			k = 0;

		if (state == CC_SESSION_FREE)
			continue;
		peer = s->peer;
		peer.leg_id[sizeof(peer.leg_id) - 1] = '\0';
		peer.remote_ip[sizeof(peer.remote_ip) - 1] = '\0';
		values[k++] = Int32GetDatum(i);
		values[k++] = Int32GetDatum(s->media_worker);
		values[k++] = CStringGetTextDatum(state_name(state));
		if (is_uuid(peer.leg_id))
			values[k++] = DirectFunctionCall1(uuid_in, CStringGetDatum(peer.leg_id));
		else
			nulls[k++] = true;
		values[k++] = Int32GetDatum(s->local_port);
		values[k++] = CStringGetTextDatum(psprintf("%s:%d", peer.remote_ip, peer.remote_port));
		values[k++] = CStringGetTextDatum(codec_name(peer.codec_pt));
		if (peer.dtmf_pt >= 0)
			values[k++] = Int32GetDatum(peer.dtmf_pt);
		else
			nulls[k++] = true;
		if (state == CC_SESSION_OPEN)
			values[k++] = TimestampTzGetDatum(s->opened_at);
		else
			nulls[k++] = true;
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->packets_in));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->packets_out));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->bytes_in));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->bytes_out));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->lost));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->late));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->out_of_order));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->duplicates));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->strangers));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->wrong_ssrc));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->malformed));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&c->dtmf_in));
		values[k++] = Float8GetDatum((double) pg_atomic_read_u64(&c->jitter_us) / 1000.0);
		values[k++] = Int32GetDatum((int32) pg_atomic_read_u64(&c->jitter_buffer_ms));
		if (state == CC_SESSION_OPEN && s->bridge_peer >= 0)
			values[k++] = Int32GetDatum(s->bridge_peer);
		else
			nulls[k++] = true;
		if (state == CC_SESSION_OPEN && s->conference >= 0 && s->conference < CC_MAX_CONFERENCES)
			values[k++] = CStringGetTextDatum(cc_shared->conferences[s->conference].id);
		else
			nulls[k++] = true;
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * cc_media_worker_stats returns a row per media worker: sessions, ticks
 * (and late ones), time busy, TTS queue, and its sessions' packet counters
 * summed.
 */
Datum
cc_media_worker_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			w,
				i;

	InitMaterializedSRF(fcinfo, 0);
	require_shmem();
	for (w = 0; w < cc_shared->media_workers; w++)
	{
		CcWorkerSlot *slot = &cc_shared->media[w];
		Datum		values[16];
		bool		nulls[16] = {false};
		int64		sums[8] = {0};
		int			k = 0;

		for (i = w; i < cc_shared->max_sessions; i += cc_shared->media_workers)
		{
			CcMediaSession *s = cc_session(i);
			CcSessionCounters *c = &s->counters;

			if (s->state != CC_SESSION_OPEN)
				continue;
			sums[0] += pg_atomic_read_u64(&c->packets_in);
			sums[1] += pg_atomic_read_u64(&c->packets_out);
			sums[2] += pg_atomic_read_u64(&c->lost);
			sums[3] += pg_atomic_read_u64(&c->late);
			sums[4] += pg_atomic_read_u64(&c->out_of_order);
			sums[5] += pg_atomic_read_u64(&c->strangers);
			sums[6] += pg_atomic_read_u64(&c->wrong_ssrc);
			sums[7] += pg_atomic_read_u64(&c->malformed);
		}
		values[k++] = Int32GetDatum(w);
		if (slot->pid != 0)
			values[k++] = Int32GetDatum(slot->pid);
		else
			nulls[k++] = true;
		values[k++] = Int32GetDatum((int32) pg_atomic_read_u32(&slot->sessions));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->ticks));
		values[k++] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->ticks_late));
		values[k++] = Float8GetDatum((double) pg_atomic_read_u64(&slot->busy_us) / 1000.0);
		values[k++] = Int32GetDatum((int32) pg_atomic_read_u32(&slot->tts_pending));
		values[k++] = Int64GetDatum(sums[0]);
		values[k++] = Int64GetDatum(sums[1]);
		values[k++] = Int64GetDatum(sums[2]);
		values[k++] = Int64GetDatum(sums[3]);
		values[k++] = Int64GetDatum(sums[4]);
		values[k++] = Int64GetDatum(sums[5]);
		values[k++] = Int64GetDatum(sums[6]);
		values[k++] = Int64GetDatum(sums[7]);
		values[k++] = Int64GetDatum((int64) (pg_atomic_read_u64(&cc_ring_to_media(w)->dropped) +
											 pg_atomic_read_u64(&cc_ring_from_media(w)->dropped)));
		Assert(k == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * cc_wav_info tells what the WAV file at file (relative to cc.media_dir, or
 * an absolute path inside it) is: format, channels, rate, bits, length,
 * whether we can play it and, if not, why.  Errors when the file is
 * outside cc.media_dir, missing, or not a WAV at all.
 */
Datum
cc_wav_info(PG_FUNCTION_ARGS)
{
	char	   *file = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *path;
	CcWavInfo	info;
	char		error[256];
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};
	bool		playable;
	const char *fmt;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "cc.wav_info must return a record");
	if (file[0] == '\0' || strstr(file, "..") != NULL ||
		(file[0] == '/' && (strncmp(file, cc_media_dir, strlen(cc_media_dir)) != 0 ||
							file[strlen(cc_media_dir)] != '/')))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: WAV file \"%s\" is not a file name under cc.media_dir", file),
				 errhint("Give a path relative to cc.media_dir (\"%s\"), without \"..\".", cc_media_dir)));
	path = file[0] == '/' ? file : psprintf("%s/%s", cc_media_dir, file);
	if (!cc_wav_read_file(path, &info, error, sizeof(error)))
	{
		struct stat st;

		if (stat(path, &st) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("cc: WAV file \"%s\" does not exist under cc.media_dir", file),
					 errdetail("Looked for \"%s\".", path),
					 errhint("Copy the file there first: 16-bit PCM, mono, 8000 or 16000 Hz.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: \"%s\" is not a WAV file we can read: %s", file, error),
				 errhint("Prompts are WAV files: 16-bit PCM, mono, 8000 or 16000 Hz (e.g. sox in.wav -b 16 -c 1 -r 8000 out.wav).")));
	}
	playable = cc_wav_playable(&info, error, sizeof(error));
	fmt = info.format == 1 ? "pcm" : info.format == 3 ? "float" : info.format == 6 ? "alaw" :
		info.format == 7 ? "mulaw" : "other";
	values[0] = CStringGetTextDatum(fmt);
	values[1] = Int32GetDatum(info.channels);
	values[2] = Int32GetDatum(info.sample_rate);
	values[3] = Int32GetDatum(info.bits);
	if (info.sample_rate > 0 && info.channels > 0 && info.bits >= 8)
		values[4] = Int64GetDatum(info.data_bytes * 1000 /
								  ((int64) info.sample_rate * info.channels * (info.bits / 8)));
	else
		nulls[4] = true;
	values[5] = BoolGetDatum(playable);
	if (playable)
		nulls[6] = true;
	else
		values[6] = CStringGetTextDatum(error);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cc_media_tick_lags returns each media worker's histogram of how late its
 * 20 ms ticks started (0.5 ms buckets; empty buckets left out): the
 * send-interval jitter the worker itself adds.
 */
Datum
cc_media_tick_lags(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			w,
				b;

	InitMaterializedSRF(fcinfo, 0);
	require_shmem();
	for (w = 0; w < cc_shared->media_workers; w++)
		for (b = 0; b < CC_TICK_LAG_BUCKETS; b++)
		{
			uint64		n = pg_atomic_read_u64(&cc_shared->media[w].tick_lag[b]);
			Datum		values[3];
			bool		nulls[3] = {false};

			if (n == 0)
				continue;
			values[0] = Int32GetDatum(w);
			values[1] = Float8GetDatum(b * CC_TICK_LAG_BUCKET_US / 1000.0);
			values[2] = Int64GetDatum((int64) n);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}
