/*
 * status.c: names and classes of imgpipe's outcomes, the error-buffer
 * helper, and the few small helpers every module shares (clocks, sleeping,
 * the CPU count, hex digits), so no module keeps a copy of its own.
 * Nothing here allocates.
 */
#include "imgpipe.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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

int64_t imgp_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void imgp_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while(nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int imgp_cpu_count(void)
{
	cpu_set_t set;
	long n;

	if(!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int imgp_hexval(int c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
