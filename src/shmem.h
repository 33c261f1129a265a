/*
 * shmem.h
 *		Shared memory between cc sip and the cc media workers: a status slot
 *		per worker, the media session table, and one pair of single-producer
 *		single-consumer rings per media worker (sip -> media, media -> sip).
 *
 * The foundation lays the frame; the media issue fills in the messages.
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
	CC_MSG_PONG = 2				/* media -> sip: answer to a ping */
} CcRingMsgType;

#define CC_RING_PAYLOAD 112
#define CC_RING_SLOTS 1024		/* per direction per media worker; power of 2 */

/* One fixed-size message: 128 bytes, so a slot is two cache lines. */
typedef struct CcRingMsg
{
	uint16		type;			/* CcRingMsgType */
	uint16		len;			/* bytes used in payload */
	int32		session;		/* index in the session table, or -1 */
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

/* What every worker publishes about itself. */
typedef struct CcWorkerSlot
{
	pid_t		pid;			/* 0 when not running */
	TimestampTz started_at;
	Latch	   *latch;			/* the worker's MyLatch */
	pg_atomic_uint64 loops;		/* turns of the worker's loop */
	pg_atomic_uint64 msgs_in;	/* ring messages received */
	pg_atomic_uint64 msgs_out;	/* ring messages sent */
} CcWorkerSlot;

/* Media session states (the media issue adds the rest). */
typedef enum CcSessionState
{
	CC_SESSION_FREE = 0,
	CC_SESSION_ALLOCATED
} CcSessionState;

/* One RTP session: a leg's media. */
typedef struct CcMediaSession
{
	uint32		generation;		/* bumped at each reuse; stale messages are ignored */
	int32		state;			/* CcSessionState */
	int32		media_worker;	/* owner */
	uint16		local_port;		/* even RTP port */
	pg_atomic_uint64 packets_in;
	pg_atomic_uint64 packets_out;
} CcMediaSession;

typedef struct CcShared
{
	slock_t		mutex;			/* protects session allocation */
	int			media_workers;
	int			max_sessions;
	CcWorkerSlot sip;
	CcWorkerSlot http;
	CcWorkerSlot media[CC_MAX_MEDIA_WORKERS];
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
extern void cc_session_release(int index);
extern void cc_session_release_all(void);

extern bool cc_ring_push(CcRing *ring, const CcRingMsg *msg);
extern bool cc_ring_pop(CcRing *ring, CcRingMsg *msg);

extern void cc_worker_slot_publish(CcWorkerSlot *slot);
extern void cc_worker_slot_clear(int code, Datum arg);

#endif
