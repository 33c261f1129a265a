/*
 * shmem.h
 *		Shared memory between cc sip and the cc media workers: a status slot
 *		per worker, the media session table (with each session's counters and
 *		its published audio), the conference table, and one pair of
 *		single-producer single-consumer rings per media worker (sip -> media,
 *		media -> sip).
 *
 * Session life: cc sip allocates a FREE slot (ALLOCATED, generation + 1)
 * and sends OPEN; the owning media worker binds the socket (OPEN); cc sip
 * sends CLOSE; the media worker closes the socket and only then frees the
 * slot, so a port is never reused while its socket is still bound.  Every
 * message names the generation it was meant for; a stale one is dropped.
 */
#ifndef CC_SHMEM_H
#define CC_SHMEM_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "guc.h"

/* Message types carried by the rings. */
typedef enum CcRingMsgType
{
	CC_MSG_PING = 1,			/* sip -> media: are you alive? */
	CC_MSG_PONG = 2,			/* media -> sip: answer to a ping */
	CC_MSG_OPEN = 3,			/* sip -> media: bind the session's socket (CcMediaPeer) */
	CC_MSG_UPDATE = 4,			/* sip -> media: new remote address / codec (CcMediaPeer) */
	CC_MSG_CLOSE = 5,			/* sip -> media: close the socket, free the slot */
	CC_MSG_COMMAND = 6,			/* sip -> media: a media action (CcMediaCmd, fragmented) */
	CC_MSG_EVENT = 7			/* media -> sip: a leg event as JSON text (fragmented) */
} CcRingMsgType;

#define CC_RING_PAYLOAD 232
#define CC_RING_SLOTS 1024		/* per direction per media worker; power of 2 */
#define CC_MSG_MORE 0x0001		/* flags: the payload continues in the next message */

/* One fixed-size message: 256 bytes, four cache lines. */
typedef struct CcRingMsg
{
	uint16		type;			/* CcRingMsgType */
	uint16		len;			/* bytes used in payload */
	int32		session;		/* index in the session table, or -1 */
	uint32		generation;		/* the session's generation it is meant for */
	uint16		flags;			/* CC_MSG_MORE */
	uint16		pad;
	uint64		seq;			/* sender's sequence number */
	char		payload[CC_RING_PAYLOAD];
} CcRingMsg;

/*
 * CcRing is a single-producer single-consumer queue: only the producer
 * advances head, only the consumer advances tail; the barriers in the
 * push/pop functions order the slot contents against the indexes.
 */
typedef struct CcRing
{
	pg_atomic_uint32 head;
	pg_atomic_uint32 tail;
	pg_atomic_uint64 dropped;	/* pushes refused because the ring was full */
	CcRingMsg	slots[CC_RING_SLOTS];
} CcRing;

/* Buckets of the media workers' tick-lag histogram: 0.5 ms each, the last one open. */
#define CC_TICK_LAG_BUCKETS 64
#define CC_TICK_LAG_BUCKET_US 500

/* What every worker publishes about itself. */
typedef struct CcWorkerSlot
{
	pid_t		pid;			/* 0 when not running */
	TimestampTz started_at;
	Latch	   *latch;			/* the worker's MyLatch */
	pg_atomic_uint64 loops;		/* turns of the worker's loop */
	pg_atomic_uint64 msgs_in;	/* ring messages received */
	pg_atomic_uint64 msgs_out;	/* ring messages sent */
	/* media workers only */
	pg_atomic_uint64 ticks;		/* 20 ms ticks run */
	pg_atomic_uint64 ticks_late;	/* ticks that started more than 5 ms late */
	pg_atomic_uint64 busy_us;	/* time spent working (not waiting) */
	pg_atomic_uint32 sessions;	/* sessions open */
	pg_atomic_uint32 tts_pending;	/* TTS renderings queued or running */
	pg_atomic_uint64 tick_lag[CC_TICK_LAG_BUCKETS];	/* ticks by how late they started, 0.5 ms buckets */
} CcWorkerSlot;

/* Media session states. */
typedef enum CcSessionState
{
	CC_SESSION_FREE = 0,
	CC_SESSION_ALLOCATED,		/* cc sip took it; OPEN is on its way */
	CC_SESSION_OPEN				/* the media worker holds the socket */
} CcSessionState;

/* Samples of one 20 ms frame at the internal rate (16 kHz). */
#define CC_FRAME_SAMPLES 320
/* Frames a published audio ring keeps (160 ms). */
#define CC_FRAME_RING 8

/*
 * CcFrameRing is 20 ms frames of 16 kHz audio published by one media worker
 * for any other: seq counts frames written; frame seq lives in
 * frames[seq % CC_FRAME_RING].  A reader copies a frame and checks that seq
 * has not run CC_FRAME_RING - 1 past it meanwhile (else the copy is torn).
 */
typedef struct CcFrameRing
{
	pg_atomic_uint64 seq;
	int16		frames[CC_FRAME_RING][CC_FRAME_SAMPLES];
} CcFrameRing;

/* Where a session sends RTP and what it carries (set by cc sip). */
typedef struct CcMediaPeer
{
	char		remote_ip[64];	/* IPv4 literal; 0.0.0.0 = on hold */
	int32		remote_port;
	int32		codec_pt;		/* 0 PCMU, 8 PCMA, 9 G722 */
	int32		dtmf_pt;		/* telephone-event payload type, -1 none */
	int32		sendrecv;		/* SipMediaMode of the peer's offer/answer, as we see it */
	char		leg_id[40];
} CcMediaPeer;

/* Counters of one session (written by its media worker only). */
typedef struct CcSessionCounters
{
	pg_atomic_uint64 packets_in;	/* RTP packets accepted from the peer */
	pg_atomic_uint64 packets_out;	/* RTP packets sent */
	pg_atomic_uint64 bytes_in;
	pg_atomic_uint64 bytes_out;
	pg_atomic_uint64 lost;		/* sequence numbers never received in time */
	pg_atomic_uint64 late;		/* arrived after their playout time */
	pg_atomic_uint64 out_of_order;	/* arrived after a later one */
	pg_atomic_uint64 duplicates;	/* same sequence number twice */
	pg_atomic_uint64 strangers;	/* packets from another address, dropped */
	pg_atomic_uint64 wrong_ssrc;	/* packets from the peer with another SSRC, dropped */
	pg_atomic_uint64 malformed;	/* not RTP, truncated, bad payload type, dropped */
	pg_atomic_uint64 dtmf_in;	/* digits received (any way) */
	pg_atomic_uint64 jitter_us;	/* RFC 3550 interarrival jitter, microseconds */
	pg_atomic_uint64 jitter_buffer_ms;	/* current playout delay */
} CcSessionCounters;

/* One RTP session: a leg's media. */
typedef struct CcMediaSession
{
	uint32		generation;		/* bumped at each reuse; stale messages are ignored */
	int32		state;			/* CcSessionState */
	int32		media_worker;	/* owner */
	uint16		local_port;		/* even RTP port */
	TimestampTz opened_at;
	pid_t		sip_pid;		/* the cc sip that allocated it */
	CcMediaPeer peer;			/* as cc sip last set it */
	/* published by the owner for cc sip and the other workers */
	int32		bridge_peer;	/* session bridged with, or -1 */
	uint32		bridge_peer_generation;
	int32		conference;		/* index in the conference table, or -1 */
	int32		conference_mode;	/* CcConferenceMode */
	int32		whisper_to;		/* session that alone hears us (whisper), or -1 */
	uint32		whisper_to_generation;
	CcSessionCounters counters;
	CcFrameRing heard_in;		/* what the peer says (decoded, silence when muted/held) */
	CcFrameRing conference_out;	/* what the conference host mixed for us */
} CcMediaSession;

typedef enum CcConferenceMode
{
	CC_CONF_TALK = 0,			/* hears everyone, heard by everyone */
	CC_CONF_LISTEN = 1,			/* hears everyone, heard by nobody */
	CC_CONF_WHISPER = 2,		/* hears everyone, heard by whisper_to only */
	CC_CONF_MUTED = 3			/* talk member whose voice is muted */
} CcConferenceMode;

#define CC_MAX_CONFERENCES 256
#define CC_CONFERENCE_MAX_MEMBERS 250

/* A conference: mixed once per tick by its host worker. */
typedef struct CcConference
{
	char		id[40];			/* conference uuid; "" = free */
	int32		host_worker;	/* the media worker that mixes it */
	int32		members;
} CcConference;

typedef struct CcShared
{
	slock_t		mutex;			/* protects session allocation and the conference table */
	int			media_workers;
	int			max_sessions;
	CcWorkerSlot sip;
	CcWorkerSlot http;
	CcWorkerSlot media[CC_MAX_MEDIA_WORKERS];
	CcConference conferences[CC_MAX_CONFERENCES];
	Size		rings_offset;	/* 2 * media_workers CcRings from the base */
	Size		sessions_offset;	/* max_sessions CcMediaSessions */
	int			next_session;	/* where the next allocation starts looking */
} CcShared;

extern CcShared *cc_shared;

extern void cc_shmem_request(void);
extern void cc_shmem_startup(void);
extern void cc_shmem_attach(void);

extern CcRing *cc_ring_to_media(int worker);
extern CcRing *cc_ring_from_media(int worker);
extern CcMediaSession *cc_session(int index);

extern int	cc_session_allocate(void);
extern void cc_session_free(int index);
extern void cc_session_release_all(void);

extern bool cc_ring_push(CcRing *ring, const CcRingMsg *msg);
extern bool cc_ring_pop(CcRing *ring, CcRingMsg *msg);
extern bool cc_ring_push_bytes(CcRing *ring, int type, int session, uint32 generation,
							   const void *data, int len);

extern void cc_frame_publish(CcFrameRing *ring, const int16 *frame);
extern bool cc_frame_read(CcFrameRing *ring, uint64 *cursor, int16 *frame);

extern int	cc_conference_join(const char *id, int worker);
extern void cc_conference_leave(int index);

extern void cc_worker_slot_publish(CcWorkerSlot *slot);
extern void cc_worker_slot_clear(int code, Datum arg);

#endif
