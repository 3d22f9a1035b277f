/*
 * vips.c: libvips' process-wide state, in one place: starting it for
 * one-shot untrusted work (the loader allow-list, no cache, the
 * concurrency), its one error buffer read into a message, the lock that
 * keeps each failure's message its own, and the heif module loaded when
 * first needed. It must never decode or encode: render.c and encode.c do.
 */
#include "render.h"
#include "render_impl.h"
#include "settings.h"

#include <gmodule.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

static char version_text[160];

/* Copy libvips' (process-wide) error buffer into err and clear it. */
enum imgp_status imgp_vips_fail(char *err, enum imgp_status status, const char *what)
{
	char msg[IMGP_ERRSIZE];
	const char *buf = vips_error_buffer();
	size_t len;

	/* libvips may fail having said nothing but a warning on stderr */
	snprintf(msg, sizeof(msg), "%s", buf && *buf ? buf : "damaged or incomplete data");
	vips_error_clear();
	/* keep the first line: later ones repeat it from callers up the stack */
	msg[strcspn(msg, "\n")] = '\0';
	len = strlen(msg);
	while(len && (msg[len - 1] == '.' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	return imgp_fail(err, status, "%s: %s", what, msg);
}

/* libvips warns on stderr about every damaged tile; the failure itself is
 * reported once, with its reason, by whoever called us. */
static void drop_warning(const char *domain, GLogLevelFlags level, const char *msg, void *data)
{
}

enum imgp_status imgp_render_init(const char *argv0, int concurrency, char *err)
{
	if(imgp_encode_started()) {
		/* started already (tests, or a second command in one process) */
		if(concurrency > 0)
			vips_concurrency_set(concurrency);
		return IMGP_OK;
	}
	if(VIPS_INIT(argv0 ? argv0 : "imgpipe"))
		return imgp_vips_fail(err, IMGP_E_INTERNAL, "libvips failed to start");
	if(!imgp_env("IMGPIPE_DEBUG"))
		g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_warning, NULL);
	imgp_orc_guard();
	/* one-shot work: a cache only holds memory */
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	/* block every loader, then allow ours back: an allow-list, not a deny-list */
	vips_block_untrusted_set(TRUE);
	imgp_probe_allow_loaders();
	if(concurrency > 0)
		vips_concurrency_set(concurrency);
	snprintf(version_text, sizeof(version_text), "libvips %s, metadata %s",
	         vips_version_string(), VIPS_AT_LEAST(8, 15) ? "keep" : "strip");
	return imgp_encode_start(err);
}

void imgp_render_shutdown(void)
{
	imgp_encode_stop();
	vips_shutdown();
}

const char *imgp_render_version(void)
{
	return version_text[0] ? version_text : "libvips (not started)";
}

void imgp_render_thread_done(void)
{
	vips_thread_shutdown();
}

/*
 * libvips' heif module (HEIC and AVIF, and with it libheif and its codec
 * plugins, a few milliseconds of libraries to load) is loaded when first
 * needed, not at start: a function whose variants and uploads are JPEG and
 * WebP never pays for it in its cold start. It is looked for beside the
 * binary, at <dir of the executable>/../lib/imgpipe/vips-heif.so: the
 * image's /usr/local/lib/imgpipe, the bundle's lib/imgpipe (there the
 * executable is the bundled loader, in lib/). Where libvips loaded it
 * itself at init (a distribution's libvips), nothing is done.
 */
static pthread_once_t heif_once = PTHREAD_ONCE_INIT;

static void load_heif(void)
{
	char exe[4096], *slash, *path;
	ssize_t n;
	GModule *module;

	if(vips_type_find("VipsOperation", "heifload_buffer"))
		return;
	if((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	if(!(slash = strrchr(exe, '/')))
		return;
	*slash = '\0';
	path = g_strdup_printf("%s/../lib/imgpipe/vips-heif.so", exe);
	if((module = g_module_open(path, G_MODULE_BIND_LAZY))) {
		g_module_make_resident(module);
		/* the module's loader is new: the allow-list again, for it too */
		imgp_probe_allow_loaders();
	}
	g_free(path);
}

void imgp_render_heif(const void *buf, size_t len)
{
	if(!buf || (len >= 12 && !memcmp((const char *)buf + 4, "ftyp", 4)))
		pthread_once(&heif_once, load_heif);
}

/*
 * libvips keeps one error buffer for the whole process, and a pipeline's
 * errors are raised on its worker threads: two images failing at once can
 * each read the other's message, or none. So every call into libvips that
 * can fail holds this lock shared, and a call that failed is made again
 * holding it alone, with the buffer cleared first: the message read then
 * can only be its own image's. Failures are rare (bad uploads), so the
 * second attempt costs little; successes never wait for one another.
 */
static pthread_rwlock_t vips_lock;
static pthread_once_t vips_lock_once = PTHREAD_ONCE_INIT;

static void vips_lock_init(void)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	/* a failure waiting to run alone is not starved by a stream of renders */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&vips_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

void imgp_vips_lock(bool alone)
{
	pthread_once(&vips_lock_once, vips_lock_init);
	if(alone) {
		pthread_rwlock_wrlock(&vips_lock);
		vips_error_clear();
	}
	else
		pthread_rwlock_rdlock(&vips_lock);
}

void imgp_vips_unlock(void)
{
	pthread_rwlock_unlock(&vips_lock);
}

