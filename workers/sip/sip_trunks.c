/*
 * sip_trunks.c
 *		Trunks in cc sip: a copy of the enabled register_out and peering
 *		trunks (cc.sip_trunks_config()), reloaded at start and whenever a
 *		trigger on cc.trunks notifies cc_commands with 'trunks'; and the
 *		registration of each register_out trunk to its carrier.
 *
 * A register_out trunk registers with nua_register (digest answered with
 * its password, once per attempt), which refreshes before expiry by
 * itself.  A failure, or a registration that lapses without a refresh,
 * marks the trunk abnormal and schedules a fresh attempt after a back-off
 * (5 s doubling to 5 minutes).  Status changes are written with
 * cc.trunk_set_status() by the loop; the callback only records them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "sip_stack.h"
#include "sip_trunks.h"
#include "worker_common.h"

#define BACKOFF_MIN_S 5
#define BACKOFF_MAX_S 300
#define LAPSE_GRACE_S 2

bool		sip_trunks_dirty = true;	/* load at start */

static MemoryContext trunks_context = NULL;	/* the current copies */
static MemoryContext loading_context = NULL;	/* the copies being loaded */
static List *trunks = NIL;

static void load_trunks(void *arg);
static void write_statuses(void *arg);
static void start_registration(SipTrunk *t);
static void drop_registration(SipTrunk *t);
static void set_status(SipTrunk *t, const char *status, const char *reason);
static int	backoff_s(int failures);

/* set_status records a status for the loop to write (callback-safe). */
static void
set_status(SipTrunk *t, const char *status, const char *reason)
{
	strlcpy(t->status, status, sizeof(t->status));
	strlcpy(t->status_reason, reason ? reason : "", sizeof(t->status_reason));
	t->status_dirty = true;
}

/* backoff_s is the wait before the next registration attempt. */
static int
backoff_s(int failures)
{
	int			s = BACKOFF_MIN_S;

	while (failures-- > 1 && s < BACKOFF_MAX_S)
		s *= 2;
	return Min(s, BACKOFF_MAX_S);
}

/* sip_trunk_find returns the loaded trunk with this id, or NULL. */
const SipTrunk *
sip_trunk_find(const char *id)
{
	ListCell   *lc;

	foreach(lc, trunks)
	{
		SipTrunk   *t = lfirst(lc);

		if (strcmp(t->id, id) == 0)
			return t;
	}
	return NULL;
}

/* start_registration sends the first REGISTER of a register_out trunk. */
static void
start_registration(SipTrunk *t)
{
	char	   *aor = psprintf("sip:%s@%s", t->username, t->host);
	char	   *registrar = psprintf("sip:%s:%d;transport=%s", t->host, t->port, t->transport);
	char	   *route = t->outbound_proxy ? psprintf("<sip:%s;lr>", t->outbound_proxy) : NULL;
	char		expires[16];

	snprintf(expires, sizeof(expires), "%d", t->expiry_s);
	t->auth_tried = false;
	t->failed = false;
	t->retry_at = 0;
	t->nh = nua_handle(sip_nua, &t->magic, SIPTAG_TO_STR(aor), SIPTAG_FROM_STR(aor),
					   TAG_IF(route != NULL, NUTAG_INITIAL_ROUTE_STR(route)), TAG_END());
	if (t->nh == NULL)
	{
		set_status(t, "abnormal", "sofia-sip refused a handle");
		t->failures++;
		t->retry_at = time(NULL) + backoff_s(t->failures);
		return;
	}
	nua_register(t->nh, NUTAG_REGISTRAR(URL_STRING_MAKE(registrar)),
				 NUTAG_M_USERNAME(t->username),
				 NUTAG_OUTBOUND("no-options-keepalive, no-validate, no-natify"),
				 SIPTAG_EXPIRES_STR(expires), TAG_END());
}

/* drop_registration lets go of a trunk's registration handle. */
static void
drop_registration(SipTrunk *t)
{
	if (t->nh == NULL)
		return;
	nua_handle_bind(t->nh, NULL);
	nua_handle_destroy(t->nh);
	t->nh = NULL;
	t->registered = false;
}

/*
 * sip_trunks_callback handles the answers to a register_out trunk's
 * REGISTERs (no palloc: flags and fixed buffers only).
 */
void
sip_trunks_callback(nua_event_t event, int status, char const *phrase,
					nua_t *nua, nua_handle_t *nh, SipTrunk *t,
					sip_t const *sip, tagi_t tags[])
{
	char		reason[128];

	if (event != nua_r_register || status < 200)
		return;
	if ((status == 401 || status == 407) && !t->auth_tried && sip)
	{
		msg_auth_t const *au = status == 401 ? (msg_auth_t const *) sip->sip_www_authenticate
			: (msg_auth_t const *) sip->sip_proxy_authenticate;
		char const *realm = au ? msg_params_find(au->au_params, "realm=") : NULL;
		char		cred[512];

		if (au && realm)
		{
			t->auth_tried = true;
			snprintf(cred, sizeof(cred), "%s:%s:%s:%s", au->au_scheme, realm, t->username, t->password);
			nua_authenticate(nh, NUTAG_AUTH(cred), TAG_END());
			return;
		}
	}
	if (status < 300)
	{
		long		granted = t->expiry_s;

		if (sip && sip->sip_contact && sip->sip_contact->m_expires)
			granted = strtol(sip->sip_contact->m_expires, NULL, 10);
		else if (sip && sip->sip_expires)
			granted = (long) sip->sip_expires->ex_delta;
		if (granted <= 0)
			granted = t->expiry_s;
		t->registered = true;
		t->auth_tried = false;	/* the next refresh may be challenged again */
		t->failures = 0;
		t->registered_until = time(NULL) + granted;
		snprintf(reason, sizeof(reason), "registered to %s for %ld s", t->host, granted);
		set_status(t, "registered", reason);
		return;
	}
	t->registered = false;
	t->failed = true;
	t->failures++;
	snprintf(reason, sizeof(reason), "REGISTER answered %d %s", status, phrase ? phrase : "");
	set_status(t, "abnormal", reason);
}

/* load_trunks reads cc.sip_trunks_config() into fresh SipTrunks (in a transaction). */
static void
load_trunks(void *arg)
{
	List	  **loaded = (List **) arg;
	uint64		i;
	MemoryContext old;

	if (SPI_execute("SELECT id::text, mode, username, password, server, port, outbound_proxy, transport, "
					"expiry_s, peer_host, peer_port, "
					"concat_ws('|', mode, username, password, server, port, outbound_proxy, transport, expiry_s) "
					"FROM cc.sip_trunks_config()", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "cc.sip_trunks_config failed");
	old = MemoryContextSwitchTo(loading_context);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SipTrunk   *t = palloc0(sizeof(SipTrunk));
		char	   *mode = SPI_getvalue(tup, desc, 2);

		t->magic.kind = SIP_HANDLE_TRUNK;
		strlcpy(t->id, SPI_getvalue(tup, desc, 1), sizeof(t->id));
		t->register_out = strcmp(mode, "register_out") == 0;
		t->username = SPI_getvalue(tup, desc, 3);
		t->password = SPI_getvalue(tup, desc, 4);
		t->transport = SPI_getvalue(tup, desc, 8);
		t->outbound_proxy = SPI_getvalue(tup, desc, 7);
		t->expiry_s = atoi(SPI_getvalue(tup, desc, 9));
		if (t->register_out)
		{
			t->host = SPI_getvalue(tup, desc, 5);
			t->port = atoi(SPI_getvalue(tup, desc, 6));
		}
		else
		{
			t->host = SPI_getvalue(tup, desc, 10);
			t->port = atoi(SPI_getvalue(tup, desc, 11));
		}
		t->signature = SPI_getvalue(tup, desc, 12);
		*loaded = lappend(*loaded, t);
	}
	MemoryContextSwitchTo(old);
}

/* write_statuses writes the recorded status changes (in a transaction). */
static void
write_statuses(void *arg)
{
	ListCell   *lc;

	foreach(lc, trunks)
	{
		SipTrunk   *t = lfirst(lc);

		if (!t->status_dirty)
			continue;
		if (SPI_execute_with_args("SELECT cc.trunk_set_status($1::uuid, $2, $3)", 3,
								  (Oid[]) {TEXTOID, TEXTOID, TEXTOID},
								  (Datum[]) {CStringGetTextDatum(t->id), CStringGetTextDatum(t->status),
											 CStringGetTextDatum(t->status_reason)},
								  NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "cc.trunk_set_status failed");
	}
}

/*
 * reload replaces the trunks by what cc.trunks says now: an unchanged
 * register_out trunk keeps its registration, a changed one registers
 * anew, one that is gone (or disabled) lets go of it.
 */
static void
reload(void)
{
	List	   *loaded = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	loading_context = AllocSetContextCreate(TopMemoryContext, "cc sip trunks", ALLOCSET_SMALL_SIZES);
	if (!cc_worker_transaction("cc sip: load trunks", load_trunks, &loaded))
	{
		MemoryContextDelete(loading_context);
		return;					/* sip_trunks_dirty stays: tried again next turn */
	}
	sip_trunks_dirty = false;

	foreach(lc, loaded)
	{
		SipTrunk   *t = lfirst(lc);

		foreach(lc2, trunks)
		{
			SipTrunk   *old = lfirst(lc2);

			if (strcmp(old->id, t->id) == 0 && strcmp(old->signature, t->signature) == 0 && old->nh)
			{
				/* unchanged: keep the registration, bound to the new copy */
				t->nh = old->nh;
				old->nh = NULL;
				nua_handle_bind(t->nh, &t->magic);
				t->registered = old->registered;
				t->registered_until = old->registered_until;
				t->failures = old->failures;
				t->retry_at = old->retry_at;
				t->failed = old->failed;
			}
		}
		if (!t->register_out)
			set_status(t, "normal", "peering: calls accepted from its addresses");
		else if (t->nh == NULL)
		{
			set_status(t, "unregistered", "registering");
			start_registration(t);
		}
	}
	foreach(lc, trunks)
		drop_registration(lfirst(lc));
	trunks = loaded;
	if (trunks_context)
		MemoryContextDelete(trunks_context);
	trunks_context = loading_context;
}

/*
 * sip_trunks_process, once per loop turn: reloads when told, restarts
 * failed or lapsed registrations after their back-off, writes status
 * changes.
 */
void
sip_trunks_process(void)
{
	ListCell   *lc;
	bool		dirty = false;
	time_t		now = time(NULL);

	if (sip_trunks_dirty)
		reload();
	foreach(lc, trunks)
	{
		SipTrunk   *t = lfirst(lc);

		if (!t->register_out)
			continue;
		if (t->registered && now > t->registered_until + LAPSE_GRACE_S)
		{
			t->failed = true;
			t->failures++;
			set_status(t, "abnormal", "registration lapsed without a successful refresh");
		}
		if (t->failed)
		{
			drop_registration(t);
			t->failed = false;
			t->retry_at = now + backoff_s(t->failures);
		}
		if (t->nh == NULL && t->retry_at != 0 && now >= t->retry_at)
			start_registration(t);
		dirty |= t->status_dirty;
	}
	if (dirty && cc_worker_transaction("cc sip: trunk status", write_statuses, NULL))
		foreach(lc, trunks)
			((SipTrunk *) lfirst(lc))->status_dirty = false;
}

/* sip_trunks_shutdown lets go of every registration as the worker stops. */
void
sip_trunks_shutdown(void)
{
	ListCell   *lc;

	foreach(lc, trunks)
	{
		SipTrunk   *t = lfirst(lc);

		if (t->nh && t->registered)
			nua_unregister(t->nh, TAG_END());
	}
}
