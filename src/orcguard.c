/*
 * orcguard.c: liborc's code memory, one thread at a time.
 *
 * libvips with liborc (8.14, as Debian 12 builds it; 8.15 and 8.16 too
 * when built without Highway) builds its vector programs when an operation
 * is built (reducev, in every vips_resize and vips_thumbnail of 8-bit
 * pixels) and frees them when the operation is finalized. liborc keeps one
 * process-wide list of code memory chunks and no lock of its own; libvips
 * takes its global lock around orc_program_compile but not around
 * orc_program_free. Two renders at once (imgpipe serve, resize -j, a
 * handler with two workers) then free on one thread while the other
 * compiles: heap corruption, a SEGV in orc_code_allocate_codemem
 * (tests/test_render.c reproduces it in about one run in two).
 *
 * The fix: imgpipe's executable defines both functions, so libvips' calls
 * land here first (the dynamic linker looks in the executable before
 * liborc), takes one lock, and calls liborc's own. Where no liborc is
 * loaded (the image's and the bundle's libvips: Highway, -Dorc=disabled)
 * nothing calls them.
 */
#include "render_impl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <vips/vector.h>

/* liborc's, without its headers: a program is opaque here and the result
 * an enum (an int in the ABI). */
typedef struct _OrcProgram OrcProgram;
int orc_program_compile(OrcProgram *program);
void orc_program_free(OrcProgram *program);

static pthread_mutex_t orc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t orc_once = PTHREAD_ONCE_INIT;
static int (*real_compile)(OrcProgram *);
static void (*real_free)(OrcProgram *);

static void find_orc(void)
{
	real_compile = (int (*)(OrcProgram *))dlsym(RTLD_NEXT, "orc_program_compile");
	real_free = (void (*)(OrcProgram *))dlsym(RTLD_NEXT, "orc_program_free");
}

int orc_program_compile(OrcProgram *program)
{
	int result = 0x100; /* ORC_COMPILE_RESULT_UNKNOWN_COMPILE: not compiled */

	pthread_once(&orc_once, find_orc);
	pthread_mutex_lock(&orc_lock);
	if(real_compile)
		result = real_compile(program);
	pthread_mutex_unlock(&orc_lock);
	return result;
}

void orc_program_free(OrcProgram *program)
{
	pthread_once(&orc_once, find_orc);
	pthread_mutex_lock(&orc_lock);
	if(real_free)
		real_free(program);
	pthread_mutex_unlock(&orc_lock);
}

void imgp_orc_guard(void)
{
	pthread_once(&orc_once, find_orc);
	/* libvips' calls come here only if the executable exports these (a
	 * program linked against libvips does); where they would not, liborc
	 * is not used at all: slower, never corrupt */
	if(real_compile && dlsym(RTLD_DEFAULT, "orc_program_compile") != (void *)orc_program_compile)
		vips_vector_set_enabled(FALSE);
}

