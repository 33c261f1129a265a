/*
 * shmem.c
 *		Sizes, creates and attaches the pg_callcenter shared memory segment,
 *		and implements the single-producer single-consumer rings.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "shmem.h"

CcShared   *cc_shared = NULL;

static Size cc_shmem_size(void);
static void cc_session_counters_reset(CcMediaSession *s);

/*
 * cc_shmem_size is the whole segment: header, two rings per media worker,
 * and two sessions per call (a call has a customer and an agent leg).
 */
static Size
cc_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(CcShared));

	size = add_size(size, mul_size(2 * cc_media_workers, MAXALIGN(sizeof(CcRing))));
	size = add_size(size, mul_size(2 * cc_max_calls, MAXALIGN(sizeof(CcMediaSession))));
	return size;
}

/* cc_session_counters_reset zeroes a session's counters (at start and at each open). */
static void
cc_session_counters_reset(CcMediaSession *s)
{
	pg_atomic_uint64 *c = (pg_atomic_uint64 *) &s->counters;
	int			i;

	for (i = 0; i < (int) (sizeof(CcSessionCounters) / sizeof(pg_atomic_uint64)); i++)
		pg_atomic_init_u64(&c[i], 0);
}

/* cc_shmem_request asks the postmaster for our segment (shmem_request_hook). */
void
cc_shmem_request(void)
{
	RequestAddinShmemSpace(cc_shmem_size());
}

/*
 * cc_shmem_startup creates the segment in the postmaster (and after a crash
 * restart, anew), or finds it in a child.
 */
void
cc_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cc_shared = ShmemInitStruct("pg_callcenter", cc_shmem_size(), &found);
	if (!found)
	{
		int			i;

		memset(cc_shared, 0, cc_shmem_size());
		SpinLockInit(&cc_shared->mutex);
		cc_shared->media_workers = cc_media_workers;
		cc_shared->max_sessions = Min(2 * cc_max_calls, (cc_rtp_port_max - cc_rtp_port_min) / 2 + 1);
		cc_shared->rings_offset = MAXALIGN(sizeof(CcShared));
		cc_shared->sessions_offset = cc_shared->rings_offset +
			2 * cc_media_workers * MAXALIGN(sizeof(CcRing));

		for (i = 0; i < 2 * cc_media_workers; i++)
		{
			CcRing	   *ring = (CcRing *) ((char *) cc_shared + cc_shared->rings_offset +
										   i * MAXALIGN(sizeof(CcRing)));

			pg_atomic_init_u32(&ring->head, 0);
			pg_atomic_init_u32(&ring->tail, 0);
			pg_atomic_init_u64(&ring->dropped, 0);
		}
		for (i = 0; i < cc_shared->max_sessions; i++)
		{
			CcMediaSession *s = cc_session(i);

			s->state = CC_SESSION_FREE;
			s->bridge_peer = -1;
			s->conference = -1;
			s->whisper_to = -1;
			cc_session_counters_reset(s);
			pg_atomic_init_u64(&s->heard_in.seq, 0);
			pg_atomic_init_u64(&s->conference_out.seq, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* cc_shmem_attach makes sure this process can see the segment. */
void
cc_shmem_attach(void)
{
	if (cc_shared == NULL)
		cc_shmem_startup();
}

CcRing *
cc_ring_to_media(int worker)
{
	Assert(worker >= 0 && worker < cc_shared->media_workers);
	return (CcRing *) ((char *) cc_shared + cc_shared->rings_offset +
					   (2 * worker) * MAXALIGN(sizeof(CcRing)));
}

CcRing *
cc_ring_from_media(int worker)
{
	Assert(worker >= 0 && worker < cc_shared->media_workers);
	return (CcRing *) ((char *) cc_shared + cc_shared->rings_offset +
					   (2 * worker + 1) * MAXALIGN(sizeof(CcRing)));
}

CcMediaSession *
cc_session(int index)
{
	Assert(index >= 0 && index < cc_shared->max_sessions);
	return (CcMediaSession *) ((char *) cc_shared + cc_shared->sessions_offset +
							   index * MAXALIGN(sizeof(CcMediaSession)));
}

/*
 * cc_session_allocate takes a free media session for a new leg and returns
 * its index, or -1 when every one is in use.  Slot i always has the RTP
 * port cc.rtp_port_min + 2i, and belongs to media worker i mod N, which
 * spreads sessions over the workers.  Only cc sip allocates; only the
 * owning media worker frees (cc_session_free), after closing the socket.
 */
int
cc_session_allocate(void)
{
	int			i;
	int			found = -1;

	SpinLockAcquire(&cc_shared->mutex);
	for (i = 0; i < cc_shared->max_sessions; i++)
	{
		int			index = (cc_shared->next_session + i) % cc_shared->max_sessions;
		CcMediaSession *s = cc_session(index);

		if (s->state == CC_SESSION_FREE)
		{
			s->state = CC_SESSION_ALLOCATED;
			s->generation++;
			s->media_worker = index % cc_shared->media_workers;
			s->local_port = (uint16) (cc_rtp_port_min + 2 * index);
			s->sip_pid = MyProcPid;
			cc_shared->next_session = (index + 1) % cc_shared->max_sessions;
			found = index;
			break;
		}
	}
	SpinLockRelease(&cc_shared->mutex);
	return found;
}

/*
 * cc_session_free gives a session back; called by its media worker once the
 * socket is closed.
 */
void
cc_session_free(int index)
{
	if (index < 0 || index >= cc_shared->max_sessions)
		return;
	SpinLockAcquire(&cc_shared->mutex);
	cc_session(index)->state = CC_SESSION_FREE;
	SpinLockRelease(&cc_shared->mutex);
}

/*
 * cc_session_release_all is called by cc sip when it starts: it holds no
 * leg, so every session it had is an orphan.  The slots are not freed here
 * (a media worker may still hold their sockets): each media worker closes
 * and frees the sessions whose sip_pid is not the running cc sip.
 */
void
cc_session_release_all(void)
{
	int			i;

	for (i = 0; i < cc_shared->media_workers; i++)
	{
		Latch	   *latch = cc_shared->media[i].latch;

		if (cc_shared->media[i].pid != 0 && latch != NULL)
			SetLatch(latch);
	}
}

/*
 * cc_ring_push copies msg into the ring; false (and a count) when full, so a
 * stuck consumer never blocks the producer's loop.
 */
bool
cc_ring_push(CcRing *ring, const CcRingMsg *msg)
{
	uint32		head = pg_atomic_read_u32(&ring->head);
	uint32		tail = pg_atomic_read_u32(&ring->tail);

	if (head - tail >= CC_RING_SLOTS)
	{
		pg_atomic_fetch_add_u64(&ring->dropped, 1);
		return false;
	}
	ring->slots[head % CC_RING_SLOTS] = *msg;
	pg_write_barrier();			/* slot contents before the new head */
	pg_atomic_write_u32(&ring->head, head + 1);
	return true;
}

/* cc_ring_pop takes the oldest message; false when the ring is empty. */
bool
cc_ring_pop(CcRing *ring, CcRingMsg *msg)
{
	uint32		tail = pg_atomic_read_u32(&ring->tail);
	uint32		head = pg_atomic_read_u32(&ring->head);

	if (tail == head)
		return false;
	pg_read_barrier();			/* head before the slot contents */
	*msg = ring->slots[tail % CC_RING_SLOTS];
	pg_memory_barrier();		/* finish reading before freeing the slot */
	pg_atomic_write_u32(&ring->tail, tail + 1);
	return true;
}

/* cc_worker_slot_publish records this process as the slot's worker. */
void
cc_worker_slot_publish(CcWorkerSlot *slot)
{
	slot->started_at = GetCurrentTimestamp();
	slot->latch = MyLatch;
	pg_atomic_init_u64(&slot->loops, 0);
	pg_atomic_init_u64(&slot->msgs_in, 0);
	pg_atomic_init_u64(&slot->msgs_out, 0);
	pg_atomic_init_u64(&slot->ticks, 0);
	pg_atomic_init_u64(&slot->ticks_late, 0);
	pg_atomic_init_u64(&slot->busy_us, 0);
	pg_atomic_init_u32(&slot->sessions, 0);
	pg_atomic_init_u32(&slot->tts_pending, 0);
	{
		int			i;

		for (i = 0; i < CC_TICK_LAG_BUCKETS; i++)
			pg_atomic_init_u64(&slot->tick_lag[i], 0);
	}
	pg_write_barrier();
	slot->pid = MyProcPid;
	on_shmem_exit(cc_worker_slot_clear, PointerGetDatum(slot));
}

/* cc_worker_slot_clear runs at exit: the slot no longer names us. */
void
cc_worker_slot_clear(int code, Datum arg)
{
	CcWorkerSlot *slot = (CcWorkerSlot *) DatumGetPointer(arg);

	if (slot->pid == MyProcPid)
	{
		slot->latch = NULL;
		slot->pid = 0;
	}
}

/*
 * cc_ring_push_bytes sends data of any length as one or more messages of the
 * given type (CC_MSG_MORE on all but the last).  All or nothing: false when
 * the ring has no room for every fragment.
 */
bool
cc_ring_push_bytes(CcRing *ring, int type, int session, uint32 generation,
				   const void *data, int len)
{
	int			fragments = Max(1, (len + CC_RING_PAYLOAD - 1) / CC_RING_PAYLOAD);
	uint32		head = pg_atomic_read_u32(&ring->head);
	uint32		tail = pg_atomic_read_u32(&ring->tail);
	int			off = 0;
	int			i;
	CcRingMsg	msg;

	if (head - tail + fragments > CC_RING_SLOTS)
	{
		pg_atomic_fetch_add_u64(&ring->dropped, 1);
		return false;
	}
	memset(&msg, 0, offsetof(CcRingMsg, payload));
	msg.type = type;
	msg.session = session;
	msg.generation = generation;
	for (i = 0; i < fragments; i++)
	{
		int			n = Min(CC_RING_PAYLOAD, len - off);

		msg.len = n;
		msg.flags = (i < fragments - 1) ? CC_MSG_MORE : 0;
		msg.seq = i;
		if (n > 0)
			memcpy(msg.payload, (const char *) data + off, n);
		off += n;
		(void) cc_ring_push(ring, &msg);
	}
	return true;
}

/* cc_frame_publish appends one 20 ms frame to a published audio ring. */
void
cc_frame_publish(CcFrameRing *ring, const int16 *frame)
{
	uint64		seq = pg_atomic_read_u64(&ring->seq) + 1;

	memcpy(ring->frames[seq % CC_FRAME_RING], frame, sizeof(int16) * CC_FRAME_SAMPLES);
	pg_write_barrier();
	pg_atomic_write_u64(&ring->seq, seq);
}

/*
 * cc_frame_read copies into frame the next frame after *cursor (advancing
 * it), keeping one frame of slack against the writer's clock; when the
 * reader fell far behind or starts, it jumps close to the newest frame.
 * False (frame untouched) when no frame is ready: the caller plays silence.
 */
bool
cc_frame_read(CcFrameRing *ring, uint64 *cursor, int16 *frame)
{
	uint64		seq = pg_atomic_read_u64(&ring->seq);
	uint64		want;

	if (seq == 0)
		return false;
	if (*cursor == 0 || *cursor > seq || seq - *cursor > CC_FRAME_RING / 2)
		*cursor = seq >= 2 ? seq - 2 : 0;
	if (*cursor >= seq)
		return false;
	want = *cursor + 1;
	pg_read_barrier();
	memcpy(frame, ring->frames[want % CC_FRAME_RING], sizeof(int16) * CC_FRAME_SAMPLES);
	pg_read_barrier();
	*cursor = want;
	if (pg_atomic_read_u64(&ring->seq) - want >= CC_FRAME_RING - 1)
		return false;			/* overwritten while copying */
	return true;
}

/*
 * cc_conference_join finds the conference slot of id, or takes a free one
 * hosted by worker; counts one more member.  -1 when the table is full.
 */
int
cc_conference_join(const char *id, int worker)
{
	int			i;
	int			found = -1;
	int			free_slot = -1;

	SpinLockAcquire(&cc_shared->mutex);
	for (i = 0; i < CC_MAX_CONFERENCES; i++)
	{
		CcConference *c = &cc_shared->conferences[i];

		if (c->id[0] == '\0')
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (strcmp(c->id, id) == 0)
		{
			found = i;
			break;
		}
	}
	if (found < 0 && free_slot >= 0)
	{
		found = free_slot;
		strlcpy(cc_shared->conferences[found].id, id, sizeof(cc_shared->conferences[found].id));
		cc_shared->conferences[found].host_worker = worker;
		cc_shared->conferences[found].members = 0;
	}
	if (found >= 0)
		cc_shared->conferences[found].members++;
	SpinLockRelease(&cc_shared->mutex);
	return found;
}

/* cc_conference_leave counts one member less; the slot is free at zero. */
void
cc_conference_leave(int index)
{
	if (index < 0 || index >= CC_MAX_CONFERENCES)
		return;
	SpinLockAcquire(&cc_shared->mutex);
	if (--cc_shared->conferences[index].members <= 0)
	{
		cc_shared->conferences[index].members = 0;
		cc_shared->conferences[index].id[0] = '\0';
	}
	SpinLockRelease(&cc_shared->mutex);
}
