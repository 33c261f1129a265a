/*
 * guc.c
 *		Defines the cc.* configuration parameters.
 *
 * Parameters that size shared memory or bind sockets are PGC_POSTMASTER;
 * the rest are PGC_SIGHUP and each worker re-reads them on SIGHUP.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "guc.h"

char	   *cc_database = NULL;
char	   *cc_site = NULL;
char	   *cc_sip_listen = NULL;
char	   *cc_sip_realm = NULL;
char	   *cc_rtp_ip = NULL;
int			cc_rtp_port_min = 16384;
int			cc_rtp_port_max = 32767;
int			cc_media_workers = 1;
int			cc_max_calls = 1000;
int			cc_max_calls_per_second = 0;
int			cc_rtp_timeout_s = 60;
char	   *cc_media_dir = NULL;
char	   *cc_recordings_dir = NULL;
char	   *cc_loopback_conninfo = NULL;
int			cc_command_rescan_ms = 2000;
int			cc_worker_statement_timeout_ms = 2000;

static bool check_rtp_port(int *newval, void **extra, GucSource source);
static bool check_sip_listen(char **newval, void **extra, GucSource source);

/*
 * check_rtp_port insists on an even port: RTP takes the even port of a pair
 * and RTCP the odd one above it.
 */
static bool
check_rtp_port(int *newval, void **extra, GucSource source)
{
	if (*newval % 2 != 0)
	{
		GUC_check_errmsg("RTP port %d is odd", *newval);
		GUC_check_errhint("cc.rtp_port_min and cc.rtp_port_max must be even numbers between 1024 and 65534.");
		return false;
	}
	return true;
}

/*
 * check_sip_listen accepts a sip: URI with a host and an optional port, the
 * form sofia-sip binds (UDP and TCP on the same port).
 */
static bool
check_sip_listen(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || strncmp(*newval, "sip:", 4) != 0 || strlen(*newval) < 5)
	{
		GUC_check_errmsg("cc.sip_listen \"%s\" is not a sip: URI", *newval ? *newval : "");
		GUC_check_errhint("Use the form sip:ADDRESS[:PORT], for example sip:127.0.0.1:5060 or sip:*:5060.");
		return false;
	}
	return true;
}

/*
 * cc_define_gucs registers every cc.* parameter and reserves the prefix.
 */
void
cc_define_gucs(void)
{
	DefineCustomStringVariable("cc.database",
							   "Database the pg_callcenter workers connect to.",
							   "CREATE EXTENSION pg_callcenter there; set cron.database_name to the same database.",
							   &cc_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.site",
							   "Name of this site; every call row records it.",
							   NULL,
							   &cc_site, "local",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.sip_listen",
							   "SIP URI the cc sip worker binds, on UDP and TCP.",
							   NULL,
							   &cc_sip_listen, "sip:127.0.0.1:5060",
							   PGC_POSTMASTER, 0, check_sip_listen, NULL, NULL);

	DefineCustomStringVariable("cc.sip_realm",
							   "Digest authentication realm for agents' phones and trunks.",
							   NULL,
							   &cc_sip_realm, "pg_callcenter",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.rtp_ip",
							   "IPv4 address put in our SDP for RTP; empty takes the host of cc.sip_listen.",
							   "Set it when cc.sip_listen binds every address (sip:*:5060 or sip:0.0.0.0:5060).",
							   &cc_rtp_ip, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.rtp_port_min",
							"Lowest local RTP port (even).",
							NULL,
							&cc_rtp_port_min, 16384, 1024, 65534,
							PGC_POSTMASTER, 0, check_rtp_port, NULL, NULL);

	DefineCustomIntVariable("cc.rtp_port_max",
							"Highest local RTP port (even).",
							NULL,
							&cc_rtp_port_max, 32766, 1024, 65534,
							PGC_POSTMASTER, 0, check_rtp_port, NULL, NULL);

	DefineCustomIntVariable("cc.media_workers",
							"Number of cc media worker processes.",
							NULL,
							&cc_media_workers, 1, 1, CC_MAX_MEDIA_WORKERS,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.max_calls",
							"Most calls in progress at once; sizes the media session table (two sessions per call).",
							NULL,
							&cc_max_calls, 1000, 1, 100000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.max_calls_per_second",
							"Most new calls (INVITEs) cc sip admits per second, over all numbers; 0 for no limit.",
							"Above it an INVITE gets 503 with Retry-After from cc sip at once, before any SQL; set it a little below what cc sip carries on this machine.",
							&cc_max_calls_per_second, 0, 0, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.rtp_timeout_s",
							"Seconds without RTP from an active peer before a media session reports rtp_timeout; 0 never.",
							"Sessions whose peer is on hold (sendonly, inactive, 0.0.0.0) do not time out.",
							&cc_rtp_timeout_s, 60, 0, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.media_dir",
							   "Directory of prompt WAV files and the TTS cache.",
							   NULL,
							   &cc_media_dir, "pg_callcenter/media",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.recordings_dir",
							   "Directory where call recordings are written.",
							   NULL,
							   &cc_recordings_dir, "pg_callcenter/recordings",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cc.loopback_conninfo",
							   "libpq connection string the workers use to LISTEN; empty builds one for the local unix socket.",
							   "Set it when pg_hba.conf wants a password for local connections.",
							   &cc_loopback_conninfo, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.command_rescan_ms",
							"How often cc sip re-claims pending commands as a safety net for missed notifications.",
							NULL,
							&cc_command_rescan_ms, 2000, 100, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("cc.worker_statement_timeout_ms",
							"statement_timeout and lock_timeout of the workers' own transactions.",
							"A lock held by an application can then delay, but never freeze, signalling.",
							&cc_worker_statement_timeout_ms, 2000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	MarkGUCPrefixReserved("cc");
}
