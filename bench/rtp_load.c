/*
 * rtp_load.c
 *		RTP load for bench/media_bridged_calls.py: N phones' RTP sides on
 *		127.0.0.1, ports base, base + 2, ...  Each sends a 20 ms PCMU packet
 *		(a tone) every 20 ms to where pg_callcenter's RTP comes from (symmetric
 *		RTP), and keeps, over the measurement window, what it receives: packets,
 *		gaps in our sequence numbers (lost on the way or never sent), and the
 *		interval between arrivals (send-interval jitter as seen by the phone),
 *		timed by the kernel as each packet arrives (SO_TIMESTAMPNS), so this
 *		program's own scheduling does not blur the figure.
 *
 *	rtp_load BASE_PORT N WARMUP_S MEASURE_S
 *
 * Runs WARMUP_S + MEASURE_S seconds, then prints one line of JSON totals.
 * Built by the benchmark with cc -O2; standard C and Linux only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 100				/* histogram bucket: 0.1 ms */
#define HIST_N 20000			/* up to 2 s */

typedef struct Leg
{
	int			fd;
	struct sockaddr_in target;
	int			has_target;
	uint16_t	tx_seq;
	uint32_t	tx_ts;
	uint32_t	ssrc;
	/* receive */
	int			rx_started;
	uint16_t	rx_next;
	int64_t		last_us;
	long		rx;
	long		gaps;
	long		reordered;
} Leg;

static long hist[HIST_N];
static long hist_count;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ulaw encodes one sample (G.711 mu-law). */
static uint8_t
ulaw(int pcm)
{
	int			mask,
				seg,
				v;
	static const int seg_end[8] = {0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF};

	pcm >>= 2;
	if (pcm < 0)
	{
		pcm = -pcm;
		mask = 0x7F;
	}
	else
		mask = 0xFF;
	if (pcm > 8159)
		pcm = 8159;
	pcm += 0x21;
	for (seg = 0; seg < 8; seg++)
		if (pcm <= seg_end[seg] >> 2)
			break;
	if (seg >= 8)
		return (uint8_t) (0x7F ^ mask);
	v = (seg << 4) | ((pcm >> (seg + 1)) & 0xF);
	return (uint8_t) (v ^ mask);
}

int
main(int argc, char **argv)
{
	int			base,
				n,
				warmup,
				measure,
				ep,
				i;
	Leg		   *legs;
	uint8_t		frames[50][172];
	int64_t		start,
				next_send,
				measure_from,
				end;
	long		sent = 0,
				sent_measured = 0;
	int			tick = 0;

	if (argc != 5)
	{
		fprintf(stderr, "usage: rtp_load BASE_PORT N WARMUP_S MEASURE_S\n");
		return 2;
	}
	base = atoi(argv[1]);
	n = atoi(argv[2]);
	warmup = atoi(argv[3]);
	measure = atoi(argv[4]);
	legs = calloc(n, sizeof(Leg));
	ep = epoll_create1(0);

	/* one second of a 440 Hz tone at -12 dBm0, in 50 payloads */
	for (i = 0; i < 50; i++)
	{
		int			k;

		for (k = 0; k < 160; k++)
			frames[i][12 + k] = ulaw((int) (4000.0 * sin(2 * M_PI * 440.0 * (i * 160 + k) / 8000.0)));
	}

	for (i = 0; i < n; i++)
	{
		struct sockaddr_in a;
		struct epoll_event ev;
		int			buf = 1 << 20;

		int			one = 1;

		legs[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		setsockopt(legs[i].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(legs[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
		fcntl(legs[i].fd, F_SETFL, O_NONBLOCK);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(base + 2 * i);
		if (bind(legs[i].fd, (struct sockaddr *) &a, sizeof(a)) < 0)
		{
			fprintf(stderr, "rtp_load: bind %d: %s\n", base + 2 * i, strerror(errno));
			return 1;
		}
		legs[i].ssrc = 0x10000 + i;
		legs[i].tx_seq = (uint16_t) (i * 7919);
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, legs[i].fd, &ev);
	}
	printf("ready\n");
	fflush(stdout);

	start = now_us();
	next_send = start + 20000;
	measure_from = start + (int64_t) warmup * 1000000;
	end = measure_from + (int64_t) measure * 1000000;
	while (now_us() < end)
	{
		struct epoll_event evs[256];
		int64_t		now = now_us();
		int			wait_ms = (int) ((next_send - now) / 1000);
		int			got,
					e;

		if (wait_ms < 0)
			wait_ms = 0;
		got = epoll_wait(ep, evs, 256, wait_ms);
		now = now_us();
		for (e = 0; e < got; e++)
		{
			Leg		   *l = &legs[evs[e].data.u32];
			uint8_t		buf[2048];
			struct sockaddr_in from;
			ssize_t		r;

			for (;;)
			{
				uint16_t	seq;
				struct iovec iov = {buf, sizeof(buf)};
				char		ctrl[128];
				struct msghdr mh;
				struct cmsghdr *cm;
				int64_t		arrival = now;

				memset(&mh, 0, sizeof(mh));
				mh.msg_name = &from;
				mh.msg_namelen = sizeof(from);
				mh.msg_iov = &iov;
				mh.msg_iovlen = 1;
				mh.msg_control = ctrl;
				mh.msg_controllen = sizeof(ctrl);
				r = recvmsg(l->fd, &mh, MSG_DONTWAIT);
				if (r <= 0)
					break;
				if (r < 12)
					continue;
				for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
					if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
					{
						struct timespec ts;

						memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
						arrival = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
					}
				if (!l->has_target)
				{
					l->target = from;
					l->has_target = 1;
				}
				seq = (uint16_t) ((buf[2] << 8) | buf[3]);
				if (now >= measure_from)
				{
					if (l->rx_started)
					{
						int16_t		d = (int16_t) (seq - l->rx_next);

						if (d > 0)
							l->gaps += d;
						else if (d < 0)
							l->reordered++;
						if (d >= 0)
						{
							int64_t		iv = arrival - l->last_us;
							long		dev = labs((long) (iv - 20000 * (d + 1)));
							long		b = dev / HIST_US;

							hist[b < HIST_N ? b : HIST_N - 1]++;
							hist_count++;
						}
					}
					l->rx_started = 1;
					l->rx++;
				}
				if ((int16_t) (seq - l->rx_next) >= 0 || !l->rx_started)
				{
					l->rx_next = seq + 1;
					l->last_us = arrival;
				}
			}
		}
		if (now >= next_send)
		{
			uint8_t    *p = frames[tick % 50];

			for (i = 0; i < n; i++)
			{
				Leg		   *l = &legs[i];

				if (!l->has_target)
					continue;
				p[0] = 0x80;
				p[1] = 0;
				p[2] = l->tx_seq >> 8;
				p[3] = l->tx_seq & 0xFF;
				p[4] = l->tx_ts >> 24;
				p[5] = l->tx_ts >> 16;
				p[6] = l->tx_ts >> 8;
				p[7] = l->tx_ts;
				p[8] = l->ssrc >> 24;
				p[9] = l->ssrc >> 16;
				p[10] = l->ssrc >> 8;
				p[11] = l->ssrc;
				if (sendto(l->fd, p, 172, 0, (struct sockaddr *) &l->target, sizeof(l->target)) > 0)
				{
					sent++;
					if (now >= measure_from)
						sent_measured++;
				}
				l->tx_seq++;
				l->tx_ts += 160;
			}
			tick++;
			next_send += 20000;
			if (now - next_send > 100000)
				next_send = now + 20000;
		}
	}

	{
		long		rx = 0,
					gaps = 0,
					reordered = 0,
					acc = 0,
					legs_rx = 0;
		double		p50 = 0,
					p99 = 0,
					max = 0;
		int			b;

		for (i = 0; i < n; i++)
		{
			rx += legs[i].rx;
			gaps += legs[i].gaps;
			reordered += legs[i].reordered;
			if (legs[i].rx > 0)
				legs_rx++;
		}
		for (b = 0; b < HIST_N; b++)
		{
			if (hist[b] == 0)
				continue;
			acc += hist[b];
			if (p50 == 0 && acc >= hist_count * 0.50)
				p50 = (b + 1) * HIST_US / 1000.0;
			if (p99 == 0 && acc >= hist_count * 0.99)
				p99 = (b + 1) * HIST_US / 1000.0;
			max = (b + 1) * HIST_US / 1000.0;
		}
		printf("{\"legs\": %d, \"legs_receiving\": %ld, \"sent\": %ld, \"sent_measured\": %ld, "
			   "\"received\": %ld, \"gaps\": %ld, \"reordered\": %ld, \"intervals\": %ld, "
			   "\"jitter_p50_ms\": %.1f, \"jitter_p99_ms\": %.1f, \"jitter_max_ms\": %.1f}\n",
			   n, legs_rx, sent, sent_measured, rx, gaps, reordered, hist_count, p50, p99, max);
	}
	return 0;
}
