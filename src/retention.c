/*
 * retention.c
 *		cc.recording_file_remove(): deletes a recording's WAV file under
 *		cc.recordings_dir, for the retention job (cc.retention_apply), which
 *		then deletes the row.  SQL cannot remove a file by itself.
 */
#include "postgres.h"

#include <errno.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "guc.h"

PG_FUNCTION_INFO_V1(cc_recording_file_remove);

/*
 * cc_recording_file_remove removes cc.recordings_dir/path and says whether
 * a file was removed (false: there was none).  Only a superuser may call
 * it (the retention job runs as one), and only for a relative path without
 * "..": it can remove recordings and nothing else.
 */
Datum
cc_recording_file_remove(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *full;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cc: only a superuser may remove recording files"),
				 errhint("The retention job cc.retention_apply() runs as the extension's owner.")));
	if (path[0] == '\0' || path[0] == '/' || strstr(path, "..") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: recording path \"%s\" is not a relative path inside cc.recordings_dir", path),
				 errhint("A recording's file_path is relative to cc.recordings_dir and has no \"..\".")));

	full = psprintf("%s/%s", (cc_recordings_dir && cc_recordings_dir[0]) ? cc_recordings_dir : ".", path);
	if (unlink(full) == 0)
		PG_RETURN_BOOL(true);
	if (errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("cc: could not remove recording file \"%s\": %m", full)));
	PG_RETURN_BOOL(false);
}
