/*
 * media_tts.c
 *		Text to speech for the media worker: flite renders in a thread of
 *		its own, so a long sentence never stalls the 20 ms clock.  Each
 *		rendering is cached as a WAV under cc.media_dir/tts/, named by a 128-bit hash
 *		of the voice and the text (two seeds of hash_bytes_extended), and played from there like any prompt; a
 *		text already rendered is never rendered again.
 *
 * The thread touches no PostgreSQL API (no palloc, no elog, no signals: it
 * blocks them all); it shares with the loop only the job table below,
 * under a pthread mutex.  The loop hands it jobs (media_tts_request) and
 * polls them each tick (media_tts_poll).
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <flite/flite.h>

#include "common/hashfn.h"

#include "media.h"

extern cst_voice *register_cmu_us_slt(const char *voxdir);

#define TTS_JOBS 64

typedef enum TtsState
{
	TTS_FREE = 0,
	TTS_QUEUED,
	TTS_RUNNING,
	TTS_DONE,
	TTS_FAILED
} TtsState;

typedef struct TtsJob
{
	TtsState	state;
	uint32		generation;		/* bumped at each reuse of the slot */
	uint64		order;			/* when it was queued (oldest finished slot is reused first) */
	char		path[MAXPGPATH];
	char	   *text;			/* malloc'd; freed by the thread */
	char		error[256];
} TtsJob;

static TtsJob jobs[TTS_JOBS];
static pthread_mutex_t jobs_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static uint64 jobs_order = 0;
static bool thread_started = false;

static void *tts_thread(void *arg);
static void tts_render(TtsJob *job, const char *text, cst_voice *voice);

/*
 * media_make_dirs creates cc.media_dir/tts and cc.recordings_dir (like
 * mkdir -p), at the worker's start, before it waits for the database.
 */
void
media_make_dirs(void)
{
	const char *dirs[2];
	int			i;

	dirs[0] = psprintf("%s/tts", cc_media_dir);
	dirs[1] = cc_recordings_dir;
	for (i = 0; i < 2; i++)
	{
		char	   *dir = pstrdup(dirs[i]);
		char	   *p;

		for (p = dir + 1; *p; p++)
			if (*p == '/')
			{
				*p = '\0';
				(void) mkdir(dir, 0750);
				*p = '/';
			}
		(void) mkdir(dir, 0750);
		pfree(dir);
	}
}

/* media_tts_start starts the rendering thread (signals blocked in it). */
void
media_tts_start(void)
{
	pthread_t	thread;
	sigset_t	all,
				old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&thread, NULL, tts_thread, NULL) == 0)
	{
		pthread_detach(thread);
		thread_started = true;
	}
	else
		elog(LOG, "cc media %d: cannot start the TTS thread: %m", media_worker_id);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * media_tts_request asks for text spoken by voice.  When the rendering is
 * cached, returns -1 with *path set; else queues it and returns a job id
 * to poll (*path is where it will be).  -1 with *error when it cannot.
 */
int
media_tts_request(const char *text, const char *voice, char **path, char **error)
{
	char		hex[33];
	char	   *key;
	int			i,
				slot = -1;
	int			id = -1;

	if (text == NULL || text[0] == '\0')
	{
		*error = pstrdup("empty text");
		return -1;
	}
	/* one voice is linked in (slt): every other name falls back to it */
	if (voice && voice[0] && strcmp(voice, "slt") != 0 && strcmp(voice, "cmu_us_slt") != 0)
		elog(DEBUG1, "cc media %d: TTS voice \"%s\" is not installed; using slt", media_worker_id, voice);
	key = psprintf("slt\n%s", text);
	snprintf(hex, sizeof(hex), "%016llx%016llx",
			 (unsigned long long) hash_bytes_extended((const unsigned char *) key, strlen(key), 0),
			 (unsigned long long) hash_bytes_extended((const unsigned char *) key, strlen(key), 0x6363));
	pfree(key);
	*path = psprintf("%s/tts/%s.wav", cc_media_dir, hex);
	if (access(*path, R_OK) == 0)
		return -1;
	if (!thread_started)
	{
		*error = pstrdup("the TTS thread is not running");
		return -1;
	}

	pthread_mutex_lock(&jobs_mutex);
	for (i = 0; i < TTS_JOBS; i++)
	{
		if ((jobs[i].state == TTS_QUEUED || jobs[i].state == TTS_RUNNING) &&
			strcmp(jobs[i].path, *path) == 0)
		{
			id = (int) ((jobs[i].generation & 0x7fffff) << 8) | i;	/* already on its way */
			break;
		}
		if (jobs[i].state == TTS_FREE && slot < 0)
			slot = i;
	}
	if (id < 0 && slot < 0)
	{
		uint64		oldest = UINT64_MAX;

		for (i = 0; i < TTS_JOBS; i++)
			if ((jobs[i].state == TTS_DONE || jobs[i].state == TTS_FAILED) && jobs[i].order < oldest)
			{
				oldest = jobs[i].order;
				slot = i;
			}
	}
	if (id < 0 && slot >= 0)
	{
		TtsJob	   *job = &jobs[slot];

		job->text = strdup(text);
		if (job->text != NULL)
		{
			job->generation++;
			job->state = TTS_QUEUED;
			job->order = ++jobs_order;
			job->error[0] = '\0';
			strlcpy(job->path, *path, sizeof(job->path));
			id = (int) ((job->generation & 0x7fffff) << 8) | slot;
			pthread_cond_signal(&jobs_cond);
			pg_atomic_fetch_add_u32(&cc_shared->media[media_worker_id].tts_pending, 1);
		}
	}
	pthread_mutex_unlock(&jobs_mutex);
	if (id < 0)
		*error = pstrdup("too many TTS renderings at once");
	return id;
}

/*
 * media_tts_poll tells how a job stands: 0 rendering, 1 done (the WAV is
 * in place), -1 failed (*error says why).
 */
int
media_tts_poll(int id, char **error)
{
	int			slot = id & 0xff;
	uint32		generation = (uint32) id >> 8;
	int			r;

	if (slot < 0 || slot >= TTS_JOBS)
		return -1;
	pthread_mutex_lock(&jobs_mutex);
	if ((jobs[slot].generation & 0x7fffff) != generation)
		r = 1;					/* long finished, slot reused: the file is there or play reports why not */
	else if (jobs[slot].state == TTS_DONE)
		r = 1;
	else if (jobs[slot].state == TTS_FAILED)
	{
		*error = pstrdup(jobs[slot].error);
		r = -1;
	}
	else
		r = 0;
	pthread_mutex_unlock(&jobs_mutex);
	return r;
}

/* tts_render makes one WAV (written aside, then renamed into place). */
static void
tts_render(TtsJob *job, const char *text, cst_voice *voice)
{
	char		tmp[MAXPGPATH + 16];
	cst_wave   *w;

	if (voice == NULL)
	{
		snprintf(job->error, sizeof(job->error), "the flite voice could not be loaded");
		return;
	}
	w = flite_text_to_wave(text, voice);
	if (w == NULL || cst_wave_num_samples(w) <= 0)
	{
		snprintf(job->error, sizeof(job->error), "flite produced no audio");
		if (w)
			delete_wave(w);
		return;
	}
	if (cst_wave_sample_rate(w) != 8000 && cst_wave_sample_rate(w) != 16000)
		cst_wave_resample(w, 16000);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", job->path, (int) getpid());
	if (cst_wave_save_riff(w, tmp) != CST_OK_FORMAT || rename(tmp, job->path) != 0)
	{
		snprintf(job->error, sizeof(job->error), "cannot write %s", job->path);
		unlink(tmp);
	}
	delete_wave(w);
}

/* tts_thread renders queued jobs one at a time, for the life of the worker. */
static void *
tts_thread(void *arg)
{
	cst_voice  *voice;

	flite_init();
	voice = register_cmu_us_slt(NULL);
	for (;;)
	{
		TtsJob	   *job = NULL;
		char	   *text;
		int			i;

		pthread_mutex_lock(&jobs_mutex);
		while (job == NULL)
		{
			uint64		first = UINT64_MAX;

			for (i = 0; i < TTS_JOBS; i++)
				if (jobs[i].state == TTS_QUEUED && jobs[i].order < first)
				{
					first = jobs[i].order;
					job = &jobs[i];
				}
			if (job == NULL)
				pthread_cond_wait(&jobs_cond, &jobs_mutex);
		}
		job->state = TTS_RUNNING;
		text = job->text;
		job->text = NULL;
		pthread_mutex_unlock(&jobs_mutex);

		{
			TtsJob		result;

			memset(&result, 0, sizeof(result));
			strlcpy(result.path, job->path, sizeof(result.path));
			tts_render(&result, text, voice);
			free(text);
			pthread_mutex_lock(&jobs_mutex);
			strlcpy(job->error, result.error, sizeof(job->error));
			job->state = result.error[0] ? TTS_FAILED : TTS_DONE;
			pg_atomic_fetch_sub_u32(&cc_shared->media[media_worker_id].tts_pending, 1);
			pthread_mutex_unlock(&jobs_mutex);
		}
	}
	return NULL;
}
