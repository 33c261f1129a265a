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
			pg_atomic_init_u64(&s->packets_in, 0);
			pg_atomic_init_u64(&s->packets_out, 0);
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
 * spreads sessions over the workers.  Only cc sip allocates.
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
			cc_shared->next_session = (index + 1) % cc_shared->max_sessions;
			found = index;
			break;
		}
	}
	SpinLockRelease(&cc_shared->mutex);
	if (found >= 0)
	{
		pg_atomic_write_u64(&cc_session(found)->packets_in, 0);
		pg_atomic_write_u64(&cc_session(found)->packets_out, 0);
	}
	return found;
}

/* cc_session_release gives a session back. */
void
cc_session_release(int index)
{
	if (index < 0 || index >= cc_shared->max_sessions)
		return;
	SpinLockAcquire(&cc_shared->mutex);
	cc_session(index)->state = CC_SESSION_FREE;
	SpinLockRelease(&cc_shared->mutex);
}

/* cc_session_release_all frees every session: cc sip at start holds none. */
void
cc_session_release_all(void)
{
	int			i;

	SpinLockAcquire(&cc_shared->mutex);
	for (i = 0; i < cc_shared->max_sessions; i++)
		cc_session(i)->state = CC_SESSION_FREE;
	SpinLockRelease(&cc_shared->mutex);
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
