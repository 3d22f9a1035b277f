/*
 * status.c: names and classes of imgpipe's outcomes, the error-buffer
 * helper and the monotonic clock. Nothing here allocates.
 */
#include "imgpipe.h"

#include <stdio.h>
#include <time.h>

static const struct {
	const char *name;
	bool temporary;
} status_table[IMGP_STATUS_COUNT] = {
	[IMGP_OK]            = { "OK", false },
	[IMGP_E_USAGE]       = { "UsageError", false },
	[IMGP_E_CONFIG]      = { "ConfigError", false },
	[IMGP_E_NOT_IMAGE]   = { "NotAnImage", false },
	[IMGP_E_UNSUPPORTED] = { "UnsupportedImage", false },
	[IMGP_E_CORRUPT]     = { "CorruptImage", false },
	[IMGP_E_TOO_LARGE]   = { "OverLimit", false },
	[IMGP_E_LOOP]        = { "LoopGuard", false },
	[IMGP_E_NOT_FOUND]   = { "NotFound", false },
	[IMGP_E_ACCESS]      = { "AccessDenied", false },
	[IMGP_E_REQUEST]     = { "RequestRefused", false },
	[IMGP_E_ENCODE]      = { "EncodeError", false },
	[IMGP_E_IO]          = { "IOError", false },
	[IMGP_E_NOMEM]       = { "OutOfMemory", true },
	[IMGP_E_NETWORK]     = { "NetworkError", true },
	[IMGP_E_THROTTLED]   = { "Throttled", true },
	[IMGP_E_SERVER]      = { "ServerError", true },
	[IMGP_E_TIMEOUT]     = { "Timeout", true },
	[IMGP_E_DEADLINE]    = { "DeadlineExceeded", true },
	[IMGP_E_INTERNAL]    = { "InternalError", true },
};

const char *imgp_status_str(enum imgp_status status)
{
	if((unsigned)status >= IMGP_STATUS_COUNT)
		return "Unknown";
	return status_table[status].name;
}

bool imgp_status_temporary(enum imgp_status status)
{
	if((unsigned)status >= IMGP_STATUS_COUNT)
		return true;
	return status_table[status].temporary;
}

enum imgp_status imgp_fail(char *err, enum imgp_status status,
                           const char *fmt, ...)
{
	va_list ap;

	if(err) {
		va_start(ap, fmt);
		vsnprintf(err, IMGP_ERRSIZE, fmt, ap);
		va_end(ap);
	}
	return status;
}

double imgp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
