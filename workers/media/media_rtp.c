/*
 * media_rtp.c
 *		RTP for a media session: the socket, symmetric RTP (latch to the
 *		first packet's source, count and drop strangers and wrong SSRCs),
 *		parsing that survives any bytes, the adaptive bounded jitter buffer,
 *		playout with loss concealment, sending, and the RTP timeout.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "media.h"

#define RTP_HEADER 12
#define READS_PER_TICK 200		/* a flood cannot hold the loop longer than this */
#define SSRC_SWITCH_PACKETS 25	/* a new SSRC from the peer is believed after this many */
#define RELATCH_MS 2000			/* silence of the latched source after which another may take over */

static struct in_addr bind_addr;
static bool bind_addr_known = false;

static void resolve_bind_addr(void);
static void set_peer(MediaSession *s);
static void handle_packet(MediaSession *s, const uint8 *buf, int len, const struct sockaddr_in *from);
static void jb_insert(MediaSession *s, uint16 seq, bool audio, const uint8 *payload, int len);
static void jb_reset(MediaSession *s, uint16 seq);
static int	jb_buffered(MediaSession *s);
static int64 now_us(void);
static int	build_packet(MediaSession *s, uint8 *buf, int pt, const uint8 *payload, int len, uint32 ts, bool marker);
static void send_now(MediaSession *s, const uint8 *buf, int len);

/* now_us is CLOCK_MONOTONIC in microseconds. */
static int64
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * resolve_bind_addr picks the address RTP sockets bind: cc.rtp_ip, else the
 * host of cc.sip_listen when it is an IPv4 literal, else every address.
 */
static void
resolve_bind_addr(void)
{
	char		host[64] = "";

	bind_addr.s_addr = htonl(INADDR_ANY);
	if (cc_rtp_ip && cc_rtp_ip[0])
		strlcpy(host, cc_rtp_ip, sizeof(host));
	else if (cc_sip_listen && strncmp(cc_sip_listen, "sip:", 4) == 0)
	{
		const char *h = cc_sip_listen + 4;
		const char *colon = strchr(h, ':');
		int			n = colon ? (int) (colon - h) : (int) strlen(h);

		if (n > 0 && n < (int) sizeof(host))
		{
			memcpy(host, h, n);
			host[n] = '\0';
		}
	}
	if (host[0] && inet_pton(AF_INET, host, &bind_addr) != 1)
		bind_addr.s_addr = htonl(INADDR_ANY);
	bind_addr_known = true;
}

/*
 * media_session_open binds the session's port and makes its state; false
 * (logged) when the port cannot be bound.
 */
bool
media_session_open(int index, uint32 generation)
{
	CcMediaSession *shm = cc_session(index);
	MediaSession *s;
	struct sockaddr_in addr;
	int			fd;
	int			flags;

	if (!bind_addr_known)
		resolve_bind_addr();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
	{
		elog(LOG, "cc media %d: socket(): %m", media_worker_id);
		return false;
	}
	{
		/* room for bursts (a flood from a stranger must not push the peer's packets out) */
		int			rcvbuf = 256 * 1024;

		(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	flags = fcntl(fd, F_GETFL, 0);
	(void) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	(void) fcntl(fd, F_SETFD, FD_CLOEXEC);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr = bind_addr;
	addr.sin_port = htons(shm->local_port);
	if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
	{
		elog(LOG, "cc media %d: cannot bind RTP port %d: %m", media_worker_id, shm->local_port);
		close(fd);
		return false;
	}

	{
		struct epoll_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32) index;
		if (epoll_ctl(media_rtp_epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
		{
			elog(LOG, "cc media %d: epoll_ctl on RTP port %d: %m", media_worker_id, shm->local_port);
			close(fd);
			return false;
		}
	}
	s = MemoryContextAllocZero(TopMemoryContext, sizeof(MediaSession));
	s->index = index;
	s->generation = generation;
	s->shm = shm;
	s->fd = fd;
	s->jb = MemoryContextAllocZero(TopMemoryContext, sizeof(MediaJbSlot) * MEDIA_JB_SLOTS);
	s->fifo = MemoryContextAllocZero(TopMemoryContext, sizeof(int16) * MEDIA_FIFO_SAMPLES);
	s->jb_depth = 2;
	s->tx_seq = (uint16) random();
	s->tx_ts = (uint32) random();
	s->tx_ssrc = (uint32) random() ^ ((uint32) index << 16) ^ (uint32) MyProcPid;
	s->tx_marker = true;
	s->barge_in = true;
	s->opened_ms = media_now_ms;
	s->record.with = -1;
	dlist_init(&s->plays);
	set_peer(s);
	media_codec_init(s);
	media_dtmf_init(s);
	media_sessions[index] = s;

	shm->bridge_peer = -1;
	shm->conference = -1;
	shm->whisper_to = -1;
	{
		pg_atomic_uint64 *c = (pg_atomic_uint64 *) &shm->counters;
		int			i;

		for (i = 0; i < (int) (sizeof(CcSessionCounters) / sizeof(pg_atomic_uint64)); i++)
			pg_atomic_write_u64(&c[i], 0);
	}
	pg_atomic_write_u64(&shm->counters.jitter_buffer_ms, s->jb_depth * MEDIA_TICK_MS);
	shm->opened_at = GetCurrentTimestamp();
	pg_write_barrier();
	shm->state = CC_SESSION_OPEN;
	return true;
}

/* set_peer takes the remote address and codec cc sip gave (shm->peer). */
static void
set_peer(MediaSession *s)
{
	CcMediaPeer *p = &s->shm->peer;
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16) p->remote_port);
	if (inet_pton(AF_INET, p->remote_ip, &a.sin_addr) != 1)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (a.sin_addr.s_addr != s->sdp_addr.sin_addr.s_addr || a.sin_port != s->sdp_addr.sin_port)
	{
		s->sdp_addr = a;
		s->peer_addr = a;
		s->latched = false;
	}
	/* SipMediaMode: 1 sendonly, 0 inactive: the peer does not listen/send */
	s->peer_held = (a.sin_addr.s_addr == htonl(INADDR_ANY) || p->remote_port <= 0 ||
					p->sendrecv == 0 || p->sendrecv == 1);
	if (s->codec_pt != p->codec_pt || s->rate == 0)
	{
		s->codec_pt = (p->codec_pt == 8 || p->codec_pt == 9) ? p->codec_pt : 0;
		if (s->plc || s->g722_dec)
			media_codec_init(s);
		jb_reset(s, 0);
		s->jb_started = false;
	}
	s->dtmf_pt = p->dtmf_pt;
}

/* media_session_update applies a new offer or answer. */
void
media_session_update(MediaSession *s)
{
	set_peer(s);
	s->timeout_sent = false;
	s->last_rx_ms = media_now_ms;
}

/*
 * media_session_close ends the session: recording finished (reported on
 * the leg it was made with, when that one lives on), prompts stopped
 * silently, bridges and conference left, socket closed; then the slot is
 * freed, unless it was already given to another session.
 */
void
media_session_close(MediaSession *s)
{
	int			index = s->index;

	media_record_finish(s, NULL);
	media_play_stop_all(s, NULL);
	media_dtmf_free(s);
	media_mix_detach(s);
	media_codec_free(s);
	close(s->fd);
	media_sessions[index] = NULL;
	if (s->hold_music)
		media_play_free(s->hold_music);
	pfree(s->jb);
	pfree(s->fifo);
	if (s->shm->generation == s->generation)
	{
		s->shm->bridge_peer = -1;
		s->shm->conference = -1;
		cc_session_free(index);
	}
	pfree(s);
}

/* jb_reset empties the jitter buffer; playout restarts at seq. */
static void
jb_reset(MediaSession *s, uint16 seq)
{
	int			i;

	for (i = 0; i < MEDIA_JB_SLOTS; i++)
		s->jb[i].used = false;
	s->play_seq = seq;
	s->max_seq = seq;
	s->playing = false;
	s->fifo_len = 0;
}

/* jb_buffered is how many sequence numbers lie between playout and the newest packet. */
static int
jb_buffered(MediaSession *s)
{
	int			d = (int16) (s->max_seq - s->play_seq);

	return d < 0 ? 0 : d + 1;
}

/* jb_insert files a packet by its sequence number, counting late, duplicate and reordered ones. */
static void
jb_insert(MediaSession *s, uint16 seq, bool audio, const uint8 *payload, int len)
{
	CcSessionCounters *c = &s->shm->counters;
	MediaJbSlot *slot;
	int			d;

	if (!s->jb_started)
	{
		jb_reset(s, seq);
		s->jb_started = true;
	}
	d = (int16) (seq - s->play_seq);
	if (d < 0)
	{
		if (!s->playing && jb_buffered(s) == 0)
			jb_reset(s, seq);	/* nothing buffered yet: start here */
		else
		{
			pg_atomic_fetch_add_u64(&c->late, 1);
			return;
		}
		d = 0;
	}
	if (d >= MEDIA_JB_SLOTS)
	{
		/* a jump (peer restarted its sequence): start over from here */
		jb_reset(s, seq);
		d = 0;
	}
	slot = &s->jb[seq % MEDIA_JB_SLOTS];
	if (slot->used && slot->seq == seq)
	{
		pg_atomic_fetch_add_u64(&c->duplicates, 1);
		return;
	}
	if ((int16) (seq - s->max_seq) > 0)
		s->max_seq = seq;
	else if (seq != s->max_seq && jb_buffered(s) > 1)
		pg_atomic_fetch_add_u64(&c->out_of_order, 1);
	slot->used = true;
	slot->seq = seq;
	slot->audio = audio;
	slot->len = audio ? Min(len, MEDIA_MAX_PAYLOAD) : 0;
	if (audio)
		memcpy(slot->data, payload, slot->len);
}

/* handle_packet checks one datagram and files it (or counts why not). */
static void
handle_packet(MediaSession *s, const uint8 *buf, int len, const struct sockaddr_in *from)
{
	CcSessionCounters *c = &s->shm->counters;
	int			cc,
				off,
				pt;
	uint16		seq;
	uint32		ts,
				ssrc;
	bool		same_source;

	same_source = s->latched && from->sin_addr.s_addr == s->peer_addr.sin_addr.s_addr &&
		from->sin_port == s->peer_addr.sin_port;
	if (s->latched && !same_source)
	{
		/* symmetric RTP: a stranger, unless the peer went quiet long ago (it moved) */
		if (s->last_rx_ms == 0 || media_now_ms - s->last_rx_ms < RELATCH_MS)
		{
			pg_atomic_fetch_add_u64(&c->strangers, 1);
			return;
		}
	}
	if (len < RTP_HEADER || (buf[0] >> 6) != 2)
	{
		pg_atomic_fetch_add_u64(&c->malformed, 1);
		return;
	}
	cc = buf[0] & 0x0f;
	off = RTP_HEADER + 4 * cc;
	if (buf[0] & 0x10)
	{
		if (len < off + 4)
		{
			pg_atomic_fetch_add_u64(&c->malformed, 1);
			return;
		}
		off += 4 + 4 * ((buf[off + 2] << 8) | buf[off + 3]);
	}
	if (buf[0] & 0x20)
	{
		int			pad = buf[len - 1];

		if (pad == 0 || pad > len)
		{
			pg_atomic_fetch_add_u64(&c->malformed, 1);
			return;
		}
		len -= pad;
	}
	if (off > len)
	{
		pg_atomic_fetch_add_u64(&c->malformed, 1);
		return;
	}
	pt = buf[1] & 0x7f;
	seq = (uint16) ((buf[2] << 8) | buf[3]);
	ts = ((uint32) buf[4] << 24) | ((uint32) buf[5] << 16) | ((uint32) buf[6] << 8) | buf[7];
	ssrc = ((uint32) buf[8] << 24) | ((uint32) buf[9] << 16) | ((uint32) buf[10] << 8) | buf[11];
	if (pt != s->codec_pt && (s->dtmf_pt < 0 || pt != s->dtmf_pt))
	{
		if (pt != 13)			/* comfort noise is simply not played */
			pg_atomic_fetch_add_u64(&c->malformed, 1);
		return;
	}

	if (!same_source)
	{
		/* latch (first packet, or the old source has been quiet for RELATCH_MS) */
		s->peer_addr = *from;
		s->latched = true;
		s->ssrc_known = false;
	}
	if (!s->ssrc_known)
	{
		s->peer_ssrc = ssrc;
		s->ssrc_known = true;
		s->transit_known = false;
		s->overfull_ticks = 0;
	}
	else if (ssrc != s->peer_ssrc)
	{
		/* another stream from the same address: dropped, unless it persists */
		pg_atomic_fetch_add_u64(&c->wrong_ssrc, 1);
		if (++s->ssrc_strikes < SSRC_SWITCH_PACKETS)
			return;
		s->peer_ssrc = ssrc;
		s->jb_started = false;
		s->transit_known = false;
	}
	s->ssrc_strikes = 0;
	s->last_rx_ms = media_now_ms;
	s->timeout_sent = false;
	pg_atomic_fetch_add_u64(&c->packets_in, 1);
	pg_atomic_fetch_add_u64(&c->bytes_in, len);

	if (pt == s->dtmf_pt && s->dtmf_pt >= 0)
	{
		media_dtmf_rfc4733(s, buf + off, len - off, ts);
		jb_insert(s, seq, false, NULL, 0);
		return;
	}
	/* RFC 3550 interarrival jitter, in 8 kHz timestamp units (G.722 too) */
	{
		int64		arrival = now_us() * 8 / 1000;
		int64		transit = arrival - (int64) ts;

		if (s->transit_known)
		{
			int64		d = transit - s->transit_prev;

			/* the timestamp wraps at 2^32 */
			d = (int64) (int32) (uint32) d;
			if (d < 0)
				d = -d;
			s->jitter += ((double) d - s->jitter) / 16.0;
			pg_atomic_write_u64(&c->jitter_us, (uint64) (s->jitter * 125.0));
		}
		s->transit_prev = transit;
		s->transit_known = true;
	}
	jb_insert(s, seq, true, buf + off, len - off);
}

/*
 * media_rtp_receive reads what the session's socket holds, a batch at a time
 * (recvmmsg), bounded per tick.
 */
void
media_rtp_receive(MediaSession *s)
{
#define RX_BATCH 8
	static uint8 bufs[RX_BATCH][1500];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_in from[RX_BATCH];
	int			total = 0;

	while (total < READS_PER_TICK)
	{
		int			i,
					n;

		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < RX_BATCH; i++)
		{
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(s->fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
		{
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				elog(DEBUG1, "cc media %d: recvmmsg on port %d: %m", media_worker_id, s->shm->local_port);
			break;
		}
		for (i = 0; i < n; i++)
		{
			if (msgs[i].msg_hdr.msg_namelen < sizeof(struct sockaddr_in) || from[i].sin_family != AF_INET)
				continue;
			handle_packet(s, bufs[i], (int) msgs[i].msg_len, &from[i]);
		}
		total += n;
		if (n < RX_BATCH)
			break;
	}
}

/*
 * media_rtp_playout fills in_frame with the next 20 ms of the peer's audio:
 * packets in sequence order, concealment for the lost ones, silence when
 * the peer sends nothing.  The playout delay grows by a frame at each
 * underrun while audio flows (up to MEDIA_JB_MAX_FRAMES) and shrinks when
 * the buffer stays fuller than needed for a second.
 */
void
media_rtp_playout(MediaSession *s)
{
	CcSessionCounters *c = &s->shm->counters;
	int			guard = 0;

	if (!s->playing && s->jb_started && jb_buffered(s) >= s->jb_depth)
		s->playing = true;

	while (s->playing && s->fifo_len < CC_FRAME_SAMPLES && guard++ < MEDIA_JB_SLOTS)
	{
		MediaJbSlot *slot = &s->jb[s->play_seq % MEDIA_JB_SLOTS];

		if (slot->used && slot->seq == s->play_seq)
		{
			if (slot->audio)
				s->fifo_len += media_codec_decode(s, slot->data, slot->len, s->fifo + s->fifo_len,
												  MEDIA_FIFO_SAMPLES - s->fifo_len);
			slot->used = false;
			s->play_seq++;
		}
		else if ((int16) (s->max_seq - s->play_seq) > 0)
		{
			/* missing while later ones are here: lost */
			pg_atomic_fetch_add_u64(&c->lost, 1);
			media_codec_plc(s, s->fifo + s->fifo_len, CC_FRAME_SAMPLES);
			s->fifo_len += CC_FRAME_SAMPLES;
			s->play_seq++;
		}
		else
			break;
	}

	if (s->fifo_len >= CC_FRAME_SAMPLES)
	{
		memcpy(s->in_frame, s->fifo, sizeof(s->in_frame));
		s->fifo_len -= CC_FRAME_SAMPLES;
		memmove(s->fifo, s->fifo + CC_FRAME_SAMPLES, sizeof(int16) * s->fifo_len);
	}
	else
	{
		bool		flowing = s->last_rx_ms > 0 && media_now_ms - s->last_rx_ms < 3 * MEDIA_TICK_MS;

		if (flowing && s->playing)
		{
			/* underrun while audio flows: conceal, and buffer one frame more */
			media_codec_plc(s, s->in_frame, CC_FRAME_SAMPLES);
			if (s->jb_depth < MEDIA_JB_MAX_FRAMES)
				s->jb_depth++;
			s->playing = false;
		}
		else
			memset(s->in_frame, 0, sizeof(s->in_frame));
		s->fifo_len = 0;
	}

	/* shrink the delay when the buffer has stayed fuller than needed for a second */
	if (s->playing && jb_buffered(s) > s->jb_depth + 1)
	{
		if (++s->overfull_ticks >= 50)
		{
			MediaJbSlot *slot = &s->jb[s->play_seq % MEDIA_JB_SLOTS];

			slot->used = false;	/* drop one frame */
			s->play_seq++;
			if (s->jb_depth > 1)
				s->jb_depth--;
			s->overfull_ticks = 0;
		}
	}
	else
		s->overfull_ticks = 0;
	pg_atomic_write_u64(&c->jitter_buffer_ms, s->jb_depth * MEDIA_TICK_MS);

	if (s->dtmf_pt < 0)
		media_dtmf_inband(s, s->in_frame);
}

/*
 * build_packet writes an RTP packet (our SSRC, the next sequence number)
 * into buf; returns its length.
 */
static int
build_packet(MediaSession *s, uint8 *buf, int pt, const uint8 *payload, int len, uint32 ts, bool marker)
{
	buf[0] = 0x80;
	buf[1] = (uint8) ((marker ? 0x80 : 0) | (pt & 0x7f));
	buf[2] = (uint8) (s->tx_seq >> 8);
	buf[3] = (uint8) s->tx_seq;
	buf[4] = (uint8) (ts >> 24);
	buf[5] = (uint8) (ts >> 16);
	buf[6] = (uint8) (ts >> 8);
	buf[7] = (uint8) ts;
	buf[8] = (uint8) (s->tx_ssrc >> 24);
	buf[9] = (uint8) (s->tx_ssrc >> 16);
	buf[10] = (uint8) (s->tx_ssrc >> 8);
	buf[11] = (uint8) s->tx_ssrc;
	memcpy(buf + RTP_HEADER, payload, len);
	s->tx_seq++;
	return RTP_HEADER + len;
}

/* send_now sends a built packet to the peer and counts it. */
static void
send_now(MediaSession *s, const uint8 *buf, int len)
{
	ssize_t		n = sendto(s->fd, buf, len, 0, (struct sockaddr *) &s->peer_addr, sizeof(s->peer_addr));

	if (n > 0)
	{
		pg_atomic_fetch_add_u64(&s->shm->counters.packets_out, 1);
		pg_atomic_fetch_add_u64(&s->shm->counters.bytes_out, n);
	}
}

/* media_rtp_send_packet sends one RTP packet to the peer at once (RFC 4733 events). */
void
media_rtp_send_packet(MediaSession *s, int pt, const uint8 *payload, int len, uint32 ts, bool marker)
{
	uint8		buf[RTP_HEADER + MEDIA_MAX_PAYLOAD];

	if (s->peer_held || len > MEDIA_MAX_PAYLOAD)
		return;
	send_now(s, buf, build_packet(s, buf, pt, payload, len, ts, marker));
}

/*
 * media_rtp_send prepares this tick's packet from out_frame (or sends the
 * RFC 4733 packets of a digit being sent instead); the timestamp moves on
 * by 20 ms either way.  The audio packet leaves in media_rtp_flush, once
 * every session of the worker has one ready, so that the packets of a tick
 * go out together, at the same point of every tick.
 */
void
media_rtp_send(MediaSession *s)
{
	uint8		payload[MEDIA_MAX_PAYLOAD];
	bool		rfc4733 = false;

	s->tx_len = 0;
	if (s->send.active)
		(void) media_dtmf_send_frame(s, s->out_frame, &rfc4733);
	if (!rfc4733 && !s->peer_held)
	{
		int			len = media_codec_encode(s, s->out_frame, payload);

		s->tx_len = build_packet(s, s->tx_packet, s->codec_pt, payload, len, s->tx_ts, s->tx_marker);
		s->tx_marker = false;
	}
	s->tx_ts += 160;			/* 8 kHz clock, G.722 too (RFC 3551) */
}

/* media_rtp_flush sends the packet media_rtp_send prepared. */
void
media_rtp_flush(MediaSession *s)
{
	if (s->tx_len > 0)
		send_now(s, s->tx_packet, s->tx_len);
	s->tx_len = 0;
}

/* media_rtp_check_timeout reports rtp_timeout once when an active peer has sent nothing for cc.rtp_timeout_s. */
void
media_rtp_check_timeout(MediaSession *s)
{
	int64		since;

	if (cc_rtp_timeout_s <= 0 || s->peer_held || s->timeout_sent)
		return;
	since = s->last_rx_ms > 0 ? s->last_rx_ms : s->opened_ms;
	if (media_now_ms - since >= (int64) cc_rtp_timeout_s * 1000)
	{
		media_emit(s, "{\"type\":\"rtp_timeout\",\"seconds\":%d}", (int) ((media_now_ms - since) / 1000));
		s->timeout_sent = true;
	}
}
