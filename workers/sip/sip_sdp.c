/*
 * sip_sdp.c
 *		SDP offer/answer.  Parses an offer with sofia-sip's SDP parser, picks
 *		the first audio codec we carry (PCMU, PCMA, G722) and the
 *		telephone-event payload type, and writes our answer.  Runs in the
 *		loop (never in a callback), so it pallocs; any bytes in, an error
 *		message out, never a crash.
 */
#include "postgres.h"

#include "sip_sofia.h"
#include <sofia-sip/sdp.h>

#include "sip_sdp.h"

/* The codecs we carry, by static payload type and name. */
static const struct
{
	int			pt;
	const char *name;
	unsigned long rate;			/* RTP clock rate in the rtpmap (G722 says 8000) */
}			known_codecs[] = {
	{0, "PCMU", 8000},
	{8, "PCMA", 8000},
	{9, "G722", 8000},
};

/*
 * sip_sdp_negotiate reads an offer: the first audio stream on RTP/AVP, its
 * address and port, the first codec of the offer's order that we carry,
 * and telephone-event.  False with *error (palloc'd) if there is nothing
 * we can answer (the caller answers 488).
 */
bool
sip_sdp_negotiate(const char *offer, SipMediaChoice *choice, char **error)
{
	su_home_t  *home = su_home_new(sizeof(su_home_t));
	sdp_parser_t *parser;
	sdp_session_t *session;
	sdp_media_t *m;
	sdp_connection_t *c;
	sdp_rtpmap_t *rm;
	bool		ok = false;

	memset(choice, 0, sizeof(*choice));
	choice->dtmf_pt = -1;
	*error = NULL;

	if (offer == NULL || offer[0] == '\0')
	{
		*error = pstrdup("no SDP offer");
		su_home_unref(home);
		return false;
	}
	parser = sdp_parse(home, offer, strlen(offer), sdp_f_all_rtpmaps);
	session = sdp_session(parser);
	if (session == NULL)
	{
		*error = psprintf("malformed SDP: %s", sdp_parsing_error(parser));
		sdp_parser_free(parser);
		su_home_unref(home);
		return false;
	}

	for (m = session->sdp_media; m; m = m->m_next)
		if (m->m_type == sdp_media_audio && m->m_proto == sdp_proto_rtp && m->m_port != 0 && !m->m_rejected)
			break;
	if (m == NULL)
	{
		*error = pstrdup("no audio stream on RTP/AVP in the offer");
		goto done;
	}
	c = m->m_connections ? m->m_connections : session->sdp_connection;
	if (c == NULL || c->c_address == NULL || c->c_addrtype != sdp_addr_ip4)
	{
		*error = pstrdup("the offer has no IPv4 connection address");
		goto done;
	}
	strlcpy(choice->remote_ip, c->c_address, sizeof(choice->remote_ip));
	choice->remote_port = (int) m->m_port;
	choice->offer_mode = (SipMediaMode) m->m_mode;

	for (rm = m->m_rtpmaps; rm; rm = rm->rm_next)
	{
		int			i;

		if (rm->rm_encoding && pg_strcasecmp(rm->rm_encoding, "telephone-event") == 0 && rm->rm_rate == 8000)
		{
			if (choice->dtmf_pt < 0)
				choice->dtmf_pt = rm->rm_pt;
			continue;
		}
		if (choice->codec_name != NULL || rm->rm_encoding == NULL)
			continue;
		for (i = 0; i < lengthof(known_codecs); i++)
		{
			if (pg_strcasecmp(rm->rm_encoding, known_codecs[i].name) == 0 &&
				rm->rm_rate == known_codecs[i].rate)
			{
				choice->codec_pt = rm->rm_pt;
				choice->codec_name = known_codecs[i].name;
				break;
			}
		}
	}
	if (choice->codec_name == NULL)
		*error = pstrdup("no common codec: we carry PCMU, PCMA and G722");
	else
		ok = true;

done:
	sdp_parser_free(parser);
	su_home_unref(home);
	return ok;
}

/* sip_media_mode_name is the SDP attribute of a direction. */
const char *
sip_media_mode_name(SipMediaMode mode)
{
	switch (mode)
	{
		case SIP_MODE_INACTIVE:
			return "inactive";
		case SIP_MODE_SENDONLY:
			return "sendonly";
		case SIP_MODE_RECVONLY:
			return "recvonly";
		default:
			return "sendrecv";
	}
}

/* sip_media_on_hold: the offerer stops receiving (sendonly, inactive, or c=0.0.0.0). */
bool
sip_media_on_hold(const SipMediaChoice *choice)
{
	return choice->offer_mode == SIP_MODE_SENDONLY ||
		choice->offer_mode == SIP_MODE_INACTIVE ||
		strcmp(choice->remote_ip, "0.0.0.0") == 0;
}

/*
 * sip_sdp_answer writes our answer: one audio stream on local_port with the
 * chosen codec (and telephone-event when offered), 20 ms packets, and the
 * direction that mirrors the offer's.
 */
char *
sip_sdp_answer(const char *local_ip, int local_port, const SipMediaChoice *choice,
			   unsigned long session_id, unsigned long version)
{
	SipMediaMode answer_mode;
	char		dtmf[128] = "";
	char		formats[16];

	switch (choice->offer_mode)
	{
		case SIP_MODE_SENDONLY:
			answer_mode = SIP_MODE_RECVONLY;
			break;
		case SIP_MODE_RECVONLY:
			answer_mode = SIP_MODE_SENDONLY;
			break;
		case SIP_MODE_INACTIVE:
			answer_mode = SIP_MODE_INACTIVE;
			break;
		default:
			answer_mode = SIP_MODE_SENDRECV;
			break;
	}
	if (choice->dtmf_pt >= 0)
	{
		snprintf(formats, sizeof(formats), " %d", choice->dtmf_pt);
		snprintf(dtmf, sizeof(dtmf),
				 "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n",
				 choice->dtmf_pt, choice->dtmf_pt);
	}
	else
		formats[0] = '\0';

	return psprintf("v=0\r\n"
					"o=pg_callcenter %lu %lu IN IP4 %s\r\n"
					"s=pg_callcenter\r\n"
					"c=IN IP4 %s\r\n"
					"t=0 0\r\n"
					"m=audio %d RTP/AVP %d%s\r\n"
					"a=rtpmap:%d %s/8000\r\n"
					"%s"
					"a=ptime:20\r\n"
					"a=%s\r\n",
					session_id, version, local_ip,
					local_ip,
					local_port, choice->codec_pt, formats,
					choice->codec_pt, choice->codec_name,
					dtmf,
					sip_media_mode_name(answer_mode));
}

/*
 * sip_sdp_offer writes our offer for an outbound INVITE: one audio stream
 * on local_port with every codec we carry (PCMU, PCMA, G722) and
 * telephone-event 101, 20 ms packets, sendrecv.
 */
char *
sip_sdp_offer(const char *local_ip, int local_port, unsigned long session_id, unsigned long version)
{
	return psprintf("v=0\r\n"
					"o=pg_callcenter %lu %lu IN IP4 %s\r\n"
					"s=pg_callcenter\r\n"
					"c=IN IP4 %s\r\n"
					"t=0 0\r\n"
					"m=audio %d RTP/AVP 0 8 9 101\r\n"
					"a=rtpmap:0 PCMU/8000\r\n"
					"a=rtpmap:8 PCMA/8000\r\n"
					"a=rtpmap:9 G722/8000\r\n"
					"a=rtpmap:101 telephone-event/8000\r\n"
					"a=fmtp:101 0-16\r\n"
					"a=ptime:20\r\n"
					"a=sendrecv\r\n",
					session_id, version, local_ip, local_ip, local_port);
}
