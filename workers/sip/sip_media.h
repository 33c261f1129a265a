/*
 * sip_media.h
 *		cc sip's side of the media interface: the only code of cc sip that
 *		touches the media session table and the rings (src/shmem.h).
 *
 * sip_calls.c calls these to give a leg a media session, to hand over the
 * media actions of docs/call-model.md (play, dtmf, bridge, record, ...),
 * and to pass on DTMF received by SIP INFO.  Once per loop turn
 * sip_media_process() reads what the media workers sent and turns each
 * message into an event of the leg that owns the session
 * (sip_calls_media_event), which cc.call_event then receives.
 *
 * Owned by the media engine (issue 4); cc sip's signalling code never reads
 * shared memory itself.  Events come back with the generation of the
 * session they were meant for; sip_media_process drops those of a session
 * since closed and reused.
 */
#ifndef CC_SIP_MEDIA_H
#define CC_SIP_MEDIA_H

#include "sip_action.h"
#include "sip_sdp.h"

/*
 * A leg's media: opened when we answer or make an offer (choice NULL until
 * the peer's SDP is known), updated on each new offer or answer (remote
 * address, codec, telephone-event, direction), closed when the leg ends.
 * sip_media_open returns the session index, or -1 with *error set (no free
 * session: cc.max_calls reached).
 */
extern int	sip_media_open(const char *leg_id, const SipMediaChoice *choice, char **error);
extern void sip_media_update(int session, const SipMediaChoice *choice);
extern void sip_media_close(int session);
extern int	sip_media_local_port(int session);

/*
 * sip_media_action hands one media action of a leg to its media worker.
 * False, with *error, when it cannot (unknown action, bad parameter, no
 * session); a play (play, text, audio) or dtmf collect refused this way is
 * already reported to the leg as play_done / collect_done with reason
 * error (through sip_calls_media_event): the caller only logs *error.
 */
extern bool sip_media_action(const char *leg_id, int session, const SipAction *action, char **error);

/* sip_media_dtmf_in passes on a key received by SIP INFO (via "info"). */
extern void sip_media_dtmf_in(int session, char digit, int duration_ms);

/* sip_media_process, once per loop turn: reads the rings, pings the workers. */
extern void sip_media_process(void);

/* Provided by sip_calls.c for the media side. */
extern int	sip_calls_session_of(const char *leg_id);
extern void sip_calls_media_event(int session, uint32 generation, const char *json);

#endif
