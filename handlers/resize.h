/*
 * resize.h: what resize.c (argv, the run, progress and summary) shares
 * with resize_plan.c (inputs into refs: files, folders, s3:// prefixes,
 * one name in two folders, groups).
 */
#ifndef IMGP_RESIZE_H
#define IMGP_RESIZE_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "job.h"

/* One source, and the sources sharing its folder and stem (a.jpg, a.png):
 * those run in order on one worker, so who owns a name is repeatable. */
struct input {
	struct imgp_ref ref;
	struct imgp_store *store;
	char *shown;                /* as the user can find it */
	bool explicit;              /* named, not found in a folder */
};

enum tally { T_DONE, T_PROCESSED, T_CURRENT, T_NOTIMAGE, T_OURS, T_FAILED, T_COUNT };

struct run {
	struct imgp_job_config jc;
	struct imgp_store *files, *remote, *dst;  /* remote: the URLs' store */
	const struct imgp_store_scheme *scheme;   /* the URLs' scheme; NULL: none */
	struct input *in;
	size_t n, cap, *groups, ngroups;
	atomic_size_t tally[T_COUNT];
	atomic_ullong bytes_in, bytes_out;
	bool quiet, verbose, tty;
	pthread_mutex_t print_lock;
	double started_ms;
};

/* resize.c: one line under the lock, the progress line cleared first. */
void imgp_resize_print(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* resize.c: a file passed over (said with --verbose), and how many so far. */
void imgp_resize_skip(struct run *r, enum tally t, const char *shown, const char *why);
size_t imgp_resize_skips(struct run *r);

/* resize_plan.c: a local file or folder, a store's URL (s3://), into r's inputs. */
enum imgp_status imgp_resize_plan_local(struct run *r, const char *input, char *err);
enum imgp_status imgp_resize_plan_url(struct run *r, const char *input, char *err);
/* resize_plan.c: one key in two folders keyed from their shared folder. */
enum imgp_status imgp_resize_separate_same_keys(struct run *r, char *err);
/* resize_plan.c: inputs sorted into groups that share names (a.jpg, a.png). */
enum imgp_status imgp_resize_plan_groups(struct run *r, char *err);

#endif
