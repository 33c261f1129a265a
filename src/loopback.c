/*
 * loopback.c
 *		The loopback LISTEN connection of a background worker (see
 *		loopback.h).  cc http uses it for cc_http; cc sip's sip_bus.c does
 *		the same by itself for cc_commands and could use it too.
 *
 * The connection string is cc.loopback_conninfo, or one built for this
 * server: its first unix socket directory (127.0.0.1 when there is none),
 * its port, cc.database, the bootstrap superuser.  A failed connection is
 * logged once and retried every two seconds; the worker must not depend on
 * it for correctness, only for promptness (it rescans on a timer).
 */
#include "postgres.h"

#include "libpq-fe.h"

#include "catalog/pg_authid.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "loopback.h"
#include "worker_common.h"

#define LOOPBACK_RECONNECT_MS 2000

struct CcLoopback
{
	char	   *name;			/* the worker, for log lines */
	char	   *default_conninfo;
	char	  **channels;
	int			nchannels;
	PGconn	   *conn;
	bool		broken;			/* set by cc_loopback_read, acted on by maintain */
	bool		failure_logged;
	TimestampTz next_connect;
};

static void append_conninfo_value(StringInfo buf, const char *key, const char *value);
static void build_default_conninfo(void *arg);
static bool loopback_connect(CcLoopback *lb);
static void loopback_disconnect(CcLoopback *lb);

/* append_conninfo_value appends key='value' with libpq's quoting rules. */
static void
append_conninfo_value(StringInfo buf, const char *key, const char *value)
{
	const char *p;

	appendStringInfo(buf, "%s%s='", buf->len > 0 ? " " : "", key);
	for (p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * build_default_conninfo (in a transaction: it reads the catalog for the
 * bootstrap superuser's name) makes the connection string for our own
 * server.
 */
static void
build_default_conninfo(void *arg)
{
	CcLoopback *lb = (CcLoopback *) arg;
	const char *dirs = GetConfigOption("unix_socket_directories", false, false);
	char	   *user = GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false);
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	StringInfoData buf;
	char	   *host;
	char		port[16];

	if (dirs != NULL && dirs[0] != '\0')
	{
		char	   *comma;

		host = pstrdup(dirs);
		comma = strchr(host, ',');
		if (comma)
			*comma = '\0';
		while (*host == ' ')
			host++;
	}
	else
		host = pstrdup("127.0.0.1");
	snprintf(port, sizeof(port), "%d", PostPortNumber);

	initStringInfo(&buf);
	append_conninfo_value(&buf, "host", host);
	append_conninfo_value(&buf, "port", port);
	append_conninfo_value(&buf, "dbname", cc_database);
	append_conninfo_value(&buf, "user", user);
	appendStringInfo(&buf, " application_name='%s listener' connect_timeout=2", lb->name);
	lb->default_conninfo = buf.data;
	MemoryContextSwitchTo(old);
}

/*
 * cc_loopback_create prepares a loopback connection that will LISTEN on
 * the given channels (lowercase identifiers); it connects at the first
 * cc_loopback_maintain().
 */
CcLoopback *
cc_loopback_create(const char *worker_name, const char *const *channels, int nchannels)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	CcLoopback *lb = palloc0(sizeof(CcLoopback));
	int			i;

	lb->name = pstrdup(worker_name);
	lb->nchannels = nchannels;
	lb->channels = palloc(sizeof(char *) * Max(nchannels, 1));
	for (i = 0; i < nchannels; i++)
		lb->channels[i] = pstrdup(channels[i]);
	lb->next_connect = 0;
	MemoryContextSwitchTo(old);
	cc_worker_transaction("loopback conninfo", build_default_conninfo, lb);
	return lb;
}

/* loopback_connect opens the connection and LISTENs; false (logged once) on failure. */
static bool
loopback_connect(CcLoopback *lb)
{
	const char *conninfo = (cc_loopback_conninfo && cc_loopback_conninfo[0])
		? cc_loopback_conninfo : lb->default_conninfo;
	int			i;

	if (conninfo == NULL)
		return false;
	lb->conn = PQconnectdb(conninfo);
	if (PQstatus(lb->conn) != CONNECTION_OK)
	{
		if (!lb->failure_logged)
			ereport(LOG,
					(errmsg("%s: cannot open the loopback connection for LISTEN: %s",
							lb->name, PQerrorMessage(lb->conn)),
					 errhint("Set cc.loopback_conninfo if pg_hba.conf needs a password for local connections; "
							 "the worker still looks for work every few seconds meanwhile.")));
		lb->failure_logged = true;
		loopback_disconnect(lb);
		return false;
	}
	for (i = 0; i < lb->nchannels; i++)
	{
		char	   *sql = psprintf("LISTEN %s", lb->channels[i]);
		PGresult   *res = PQexec(lb->conn, sql);
		bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		PQclear(res);
		pfree(sql);
		if (!ok)
		{
			ereport(LOG, (errmsg("%s: LISTEN %s failed: %s", lb->name, lb->channels[i],
								 PQerrorMessage(lb->conn))));
			loopback_disconnect(lb);
			return false;
		}
	}
	PQsetnonblocking(lb->conn, 1);
	if (lb->failure_logged)
		ereport(LOG, (errmsg("%s: loopback LISTEN connection is back", lb->name)));
	lb->failure_logged = false;
	lb->broken = false;
	return true;
}

/* loopback_disconnect closes the connection, if any. */
static void
loopback_disconnect(CcLoopback *lb)
{
	if (lb->conn)
		PQfinish(lb->conn);
	lb->conn = NULL;
}

/*
 * cc_loopback_maintain, once per loop turn: drops a broken connection and
 * reconnects when due.  Returns true when the socket changed (connected,
 * reconnected or lost): the caller re-registers it and looks for work.
 */
bool
cc_loopback_maintain(CcLoopback *lb)
{
	bool		changed = false;

	if (lb->conn != NULL && (lb->broken || PQstatus(lb->conn) != CONNECTION_OK))
	{
		ereport(LOG, (errmsg("%s: loopback LISTEN connection lost; reconnecting", lb->name)));
		loopback_disconnect(lb);
		lb->next_connect = 0;
		changed = true;
	}
	if (lb->conn == NULL && GetCurrentTimestamp() >= lb->next_connect)
	{
		if (loopback_connect(lb))
			changed = true;
		else
			lb->next_connect = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LOOPBACK_RECONNECT_MS);
	}
	return changed;
}

/* cc_loopback_socket is the connection's socket, PGINVALID_SOCKET while there is none. */
pgsocket
cc_loopback_socket(const CcLoopback *lb)
{
	return lb->conn ? PQsocket(lb->conn) : PGINVALID_SOCKET;
}

/*
 * cc_loopback_read reads what arrived and returns how many notifications
 * it held; on_payload, when given, is called with each one's payload (a
 * notification mostly says "look"; some say what to look at).  A read
 * error marks the connection broken for the next maintain.  It neither
 * pallocs nor ereports, and on_payload must not either.
 */
int
cc_loopback_read(CcLoopback *lb, void (*on_payload) (const char *payload, void *arg), void *arg)
{
	PGnotify   *notify;
	int			n = 0;

	if (lb == NULL || lb->conn == NULL)
		return 0;
	if (!PQconsumeInput(lb->conn))
	{
		lb->broken = true;
		return 0;
	}
	while ((notify = PQnotifies(lb->conn)) != NULL)
	{
		n++;
		if (on_payload)
			on_payload(notify->extra, arg);
		PQfreemem(notify);
	}
	return n;
}

/* cc_loopback_close closes the connection (at exit; a later cc_loopback_maintain would open it again). */
void
cc_loopback_close(CcLoopback *lb)
{
	if (lb)
		loopback_disconnect(lb);
}
