/*
 * media.h
 *		The private state of a cc media worker: one MediaSession per RTP
 *		session it owns, and the functions its files share (RTP, codecs,
 *		DTMF, playback, TTS, mixing, recording).  Nothing here is seen by
 *		another process: what others need is published in shared memory
 *		(src/shmem.h).
 */
#ifndef CC_MEDIA_H
#define CC_MEDIA_H

#include <netinet/in.h>
#include <stdio.h>

#include "lib/ilist.h"

#include "shmem.h"
#include "media/media_cmd.h"

/* spandsp state types, declared opaque here (media_codec.c and media_dtmf.c include spandsp) */
struct g722_encode_state_s;
struct g722_decode_state_s;
struct plc_state_s;
struct dtmf_rx_state_s;
struct dtmf_tx_state_s;
struct tone_gen_state_s;

#define MEDIA_TICK_MS 20
#define MEDIA_JB_SLOTS 16		/* jitter buffer: packets held by sequence number (320 ms) */
#define MEDIA_JB_MAX_FRAMES 10	/* at most 200 ms of playout delay */
#define MEDIA_FIFO_SAMPLES (16000 / 5)	/* decoded samples waiting (0.2 s at 16 kHz) */
#define MEDIA_MAX_PAYLOAD 480	/* largest audio payload accepted (60 ms of G.711 or G.722) */
#define MEDIA_HEAR_MAX 6		/* sources a session hears besides playback */
#define MEDIA_DIGITS_MAX 100

/* One packet in the jitter buffer. */
typedef struct MediaJbSlot
{
	bool		used;
	bool		audio;			/* false: a telephone-event packet (holds its sequence number) */
	uint16		seq;
	uint16		len;
	uint8		data[MEDIA_MAX_PAYLOAD];
} MediaJbSlot;

/* Kinds of MediaSource. */
typedef enum MediaSourceKind
{
	MEDIA_SRC_NONE = 0,
	MEDIA_SRC_BRIDGE,			/* the bridged leg */
	MEDIA_SRC_MONITOR,			/* a monitored leg: we hear it and its bridge peer */
	MEDIA_SRC_INJECT			/* a whisperer or a barging supervisor */
} MediaSourceKind;

/* A session whose published audio we hear. */
typedef struct MediaSource
{
	MediaSourceKind kind;
	int			session;
	uint32		generation;
	uint64		cursor;			/* cc_frame_read position */
	uint64		cursor2;		/* monitor: position in the target's peer */
	int			peer2;			/* monitor: the target's bridge peer we follow */
} MediaSource;

/* One queued or playing prompt. */
typedef struct MediaPlay
{
	dlist_node	node;
	int			kind;			/* CC_PLAY_FILE, CC_PLAY_TTS, CC_PLAY_TONE */
	char	   *path;			/* file (absolute or under cc.media_dir); TTS: cache file */
	char	   *tone;			/* tone name */
	int			count;			/* plays left (loop: forever) */
	bool		loop;
	int			barge_in;		/* -1 session default, 0, 1 */
	int			ms;				/* tone/silence length */
	char		tag[CC_CMD_TAG];
	bool		hold_music;		/* not reported with play_done */
	/* while playing */
	bool		started;
	int			tts_job;		/* >= 0 while a TTS rendering is pending */
	int			fd;				/* open WAV, -1 */
	int			rate;			/* 8000 or 16000 */
	int64		data_start;		/* offset of the samples */
	int64		data_bytes;
	int64		pos;			/* bytes played of this round */
	int16	   *buf;			/* read-ahead at the file's rate */
	int			buf_len;
	int			buf_pos;
	int			elapsed_ms;		/* tone/silence */
	int16		up_prev;		/* last 8 kHz sample (interpolation across frames) */
	struct tone_gen_state_s *tone_gen;
} MediaPlay;

/* The IBM dtmf collect in progress. */
typedef struct MediaCollect
{
	bool		active;
	char		tag[CC_CMD_TAG];
	char		term;
	int			count;
	int			min;
	int			max;
	int			inter_ms;		/* -1: restart the first-digit timer after each digit */
	int			first_ms;
	bool		stop_after;
	char		digits[MEDIA_DIGITS_MAX + 1];
	int			n;
	int64		deadline_ms;	/* 0 = not armed (prompts still playing) */
	bool		first_timer;	/* the armed timer is the first-digit one */
} MediaCollect;

/* Digits to send (RFC 4733 or in-band). */
typedef struct MediaSendDigit
{
	char		digit;
	int			duration_ms;
	int			volume;			/* dBm0, 0 to -63 */
} MediaSendDigit;

typedef struct MediaSend
{
	bool		active;
	char		tag[CC_CMD_TAG];
	MediaSendDigit digits[MEDIA_DIGITS_MAX];
	int			n;
	int			i;				/* digit being sent */
	int			interval_ms;
	int			elapsed_ms;		/* in the current digit, tone then gap */
	uint32		event_ts;		/* RFC 4733: timestamp of the event */
	int			end_sent;		/* RFC 4733: end packets sent (3) */
	struct tone_gen_state_s *tone;	/* in-band */
} MediaSend;

/* A WAV recording. */
typedef struct MediaRecord
{
	bool		active;
	bool		paused;
	FILE	   *file;
	char		id[40];
	char		path[1024];		/* as given (relative to cc.recordings_dir) */
	char		tag[CC_CMD_TAG];
	int			channels;
	int			with;			/* the other leg's session, or -1: what we hear */
	uint32		with_generation;
	uint64		with_cursor;
	int64		frames;			/* sample frames written */
} MediaRecord;

/* One session of this worker. */
typedef struct MediaSession
{
	int			index;
	uint32		generation;
	CcMediaSession *shm;
	int			fd;
	bool		readable;		/* this tick's epoll said the socket has data */
	/* peer */
	struct sockaddr_in sdp_addr;	/* where the SDP said */
	struct sockaddr_in peer_addr;	/* where we send: latched to the first packet's source */
	bool		latched;
	bool		peer_held;		/* 0.0.0.0 or sendonly/inactive: do not send, no timeout */
	uint32		peer_ssrc;
	bool		ssrc_known;
	int			codec_pt;
	int			dtmf_pt;
	int			rate;			/* codec's rate: 8000 or 16000 */
	/* receive side */
	MediaJbSlot *jb;
	bool		jb_started;
	uint16		play_seq;		/* next sequence number to play out */
	uint16		max_seq;		/* highest sequence number seen */
	int			jb_depth;		/* target playout delay, frames */
	int			ssrc_strikes;
	int			overfull_ticks;
	int16	   *fifo;
	int			fifo_len;
	int64		last_rx_ms;		/* when the last packet arrived (0 never) */
	bool		timeout_sent;
	int64		transit_prev;	/* jitter: previous relative transit, in 1/16 ms */
	bool		transit_known;
	double		jitter;			/* in timestamp units */
	struct g722_encode_state_s *g722_enc;
	struct g722_decode_state_s *g722_dec;
	struct plc_state_s *plc;
	int16		up_prev;		/* last 8 kHz sample decoded (interpolation) */
	int16		plc_last[CC_FRAME_SAMPLES];	/* G.722 concealment: last good frame */
	int			plc_run;		/* frames concealed in a row */
	bool		playing;		/* playout running (else buffering to jb_depth) */
	int64		opened_ms;
	/* send side */
	uint16		tx_seq;
	uint32		tx_ts;
	uint32		tx_ssrc;
	bool		tx_marker;
	uint8		tx_packet[12 + MEDIA_MAX_PAYLOAD];	/* this tick's packet, sent by media_rtp_flush */
	int			tx_len;
	/* DTMF in */
	struct dtmf_rx_state_s *dtmf_rx;
	uint32		ev_ts;			/* RFC 4733: timestamp of the last event seen */
	bool		ev_seen;
	bool		ev_ended;		/* its digit was reported */
	char		inband_digit;	/* in-band digit being heard, 0 none */
	int64		inband_start_ms;
	char		last_event_digit;	/* RFC 4733: digit of the event not yet ended */
	int64		last_event_ms;
	int			last_event_duration;
	bool		dtmf_disabled;	/* stop_after_collection ended a collection */
	bool		barge_in;		/* keys stop prompts (dtmf enable_barge_in) */
	MediaCollect collect;
	MediaSend	send;
	/* playback */
	dlist_head	plays;
	MediaPlay  *hold_music;
	bool		held;
	bool		muted;
	/* what we hear */
	MediaSource sources[MEDIA_HEAR_MAX];
	uint64		conf_cursor;
	MediaRecord record;
	/* this tick */
	int16		in_frame[CC_FRAME_SAMPLES];	/* decoded from the peer */
	int16		out_frame[CC_FRAME_SAMPLES];	/* what we send */
} MediaSession;

/* media_worker.c */
extern int	media_worker_id;
extern int64 media_now_ms;		/* monotonic clock at the start of this tick */
extern MediaSession **media_sessions;	/* by session index; NULL when not ours */
extern int	media_rtp_epoll;	/* epoll set of our RTP sockets, polled once per tick */
extern void media_emit(MediaSession *s, const char *fmt,...) pg_attribute_printf(2, 3);
extern void media_emit_for(int index, uint32 generation, const char *fmt,...) pg_attribute_printf(3, 4);
extern void media_emit_va(int index, uint32 generation, const char *fmt, va_list ap) pg_attribute_printf(3, 0);
extern char *media_json_string(const char *s);

/* media_rtp.c */
extern bool media_session_open(int index, uint32 generation);
extern void media_session_update(MediaSession *s);
extern void media_session_close(MediaSession *s);
extern void media_rtp_receive(MediaSession *s);
extern void media_rtp_playout(MediaSession *s);
extern void media_rtp_send(MediaSession *s);
extern void media_rtp_flush(MediaSession *s);
extern void media_rtp_check_timeout(MediaSession *s);

extern void media_rtp_send_packet(MediaSession *s, int pt, const uint8 *payload, int len,
								  uint32 ts, bool marker);

/* media_codec.c */
extern void media_codec_init(MediaSession *s);
extern void media_codec_free(MediaSession *s);
extern int	media_codec_decode(MediaSession *s, const uint8 *data, int len, int16 *out16k, int max);
extern int	media_codec_encode(MediaSession *s, const int16 *in16k, uint8 *out);
extern void media_codec_plc(MediaSession *s, int16 *out16k, int samples);

/* media_dtmf.c */
extern void media_dtmf_init(MediaSession *s);
extern void media_dtmf_free(MediaSession *s);
extern void media_dtmf_rfc4733(MediaSession *s, const uint8 *data, int len, uint32 ts);
extern void media_dtmf_inband(MediaSession *s, const int16 *frame16k);
extern void media_dtmf_digit(MediaSession *s, char digit, int duration_ms, const char *via);
extern void media_dtmf_collect_start(MediaSession *s, const CcMediaCmd *cmd);
extern void media_dtmf_send_start(MediaSession *s, const CcMediaCmd *cmd, const char *digits);
extern void media_dtmf_tick(MediaSession *s);
extern bool media_dtmf_send_frame(MediaSession *s, int16 *frame16k, bool *rfc4733);
extern void media_dtmf_stop(MediaSession *s);

/* media_play.c */
extern void media_play_add(MediaSession *s, const CcMediaCmd *cmd, const char *s0, const char *s1, bool hold);
extern bool media_play_frame(MediaSession *s, int16 *frame16k);
extern bool media_play_hold_frame(MediaSession *s, int16 *frame16k);
extern void media_play_stop_all(MediaSession *s, const char *reason);
extern void media_play_barge(MediaSession *s);
extern bool media_play_busy(MediaSession *s);
extern void media_play_free(MediaPlay *p);

/* media_tts.c */
extern void media_make_dirs(void);
extern void media_tts_start(void);
extern int	media_tts_request(const char *text, const char *voice, char **path, char **error);
extern int	media_tts_poll(int job, char **error);

/* media_mix.c */
extern void media_mix_command(MediaSession *s, const CcMediaCmd *cmd, const char *s0, const char *s1);
extern void media_mix_publish(MediaSession *s);
extern void media_mix_conferences(void);
extern void media_mix_output(MediaSession *s);
extern void media_mix_detach(MediaSession *s);

/* media_record.c */
extern void media_record_command(MediaSession *s, const CcMediaCmd *cmd, const char *id, const char *file);
extern void media_record_frame(MediaSession *s, const int16 *heard);
extern void media_record_finish(MediaSession *s, const char *reason);

/* resampling between 16 kHz (internal) and 8 kHz */
extern void media_up8to16(const int16 *in, int n, int16 *out, int16 *last);
extern void media_down16to8(const int16 *in, int n16, int16 *out);

#endif
