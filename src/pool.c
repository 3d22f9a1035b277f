/*
 * pool.c: the worker pool every front end shares (pool.h). It must never
 * know what the work is: an index and a context, nothing else.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "imgpipe.h"
#include "render.h"

struct pool {
	size_t n;
	atomic_size_t next, done;
	imgp_pool_fn work;
	void *ctx;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		p->work(p->ctx, i);
		atomic_fetch_add(&p->done, 1);
	}
	/* libvips keeps per-thread buffers; give them back with the thread */
	imgp_render_thread_done();
	return NULL;
}

void imgp_pool_run(size_t n, int workers, imgp_pool_fn work, imgp_pool_tick tick, void *ctx)
{
	struct pool p = { .n = n, .work = work, .ctx = ctx };
	pthread_t threads[256];
	int started = 0, want;

	atomic_init(&p.next, 0);
	atomic_init(&p.done, 0);
	want = workers < 1 ? 1 : workers > 256 ? 256 : workers;
	if((size_t)want > n)
		want = n ? (int)n : 1;
	/* without a tick this thread works too: one thread fewer to start */
	for(int i = tick ? 0 : 1; i < want; i++)
		if(!pthread_create(&threads[started], NULL, pool_worker, &p))
			started++;
	if(!tick || !started)
		pool_worker(&p);
	while(tick && started && atomic_load(&p.done) < n) {
		tick(ctx);
		imgp_sleep_ms(100);
	}
	for(int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}
