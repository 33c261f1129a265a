/*
 * sip_sdp.h
 *		SDP offer/answer for cc sip: PCMU, PCMA, G722 and telephone-event.
 */
#ifndef CC_SIP_SDP_H
#define CC_SIP_SDP_H

/* Direction of media, as a=sendrecv and friends say it (from the offerer's side). */
typedef enum SipMediaMode
{
	SIP_MODE_INACTIVE = 0,
	SIP_MODE_SENDONLY = 1,
	SIP_MODE_RECVONLY = 2,
	SIP_MODE_SENDRECV = 3
} SipMediaMode;

/* What an offer and our answer agreed on. */
typedef struct SipMediaChoice
{
	char		remote_ip[64];	/* where the peer wants RTP (0.0.0.0 = on hold) */
	int			remote_port;
	int			codec_pt;		/* 0 PCMU, 8 PCMA, 9 G722 */
	const char *codec_name;		/* "PCMU", "PCMA", "G722" */
	int			dtmf_pt;		/* telephone-event payload type, -1 if none */
	SipMediaMode offer_mode;	/* the offerer's direction */
} SipMediaChoice;

extern bool sip_sdp_negotiate(const char *offer, SipMediaChoice *choice, char **error);
extern char *sip_sdp_answer(const char *local_ip, int local_port, const SipMediaChoice *choice,
							unsigned long session_id, unsigned long version);
extern char *sip_sdp_offer(const char *local_ip, int local_port, unsigned long session_id,
						   unsigned long version);
extern bool sip_media_on_hold(const SipMediaChoice *choice);
extern const char *sip_media_mode_name(SipMediaMode mode);

#endif
