/*
 * resize_plan.c: imgpipe resize's inputs into refs. A local file is an
 * object of the folders store (photos/2024/cat.jpg is bucket ".", key
 * "photos/2024/cat.jpg"); a folder or s3:// prefix is walked (never into
 * the destination); one name in two folders is keyed from their shared
 * folder; sources sharing a folder and stem are one group, run in order.
 */
#include "resize.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"

/* How much of a file is read to tell an image from anything else. */
#define SNIFF_BYTES 4096

/* "a/b" + "c" -> "a/b/c", without doubling a slash; "." + "c" -> "c". */
static char *join(const char *bucket, const char *key)
{
	size_t n = strlen(bucket);

	if(!strcmp(bucket, "."))
		return imgp_strdup(key);
	return imgp_asprintf("%s%s%s", bucket, n && bucket[n - 1] == '/' ? "" : "/", key);
}

static enum imgp_status add(struct run *r, struct imgp_store *store, const char *bucket,
                            const char *key, const char *etag, const char *version,
                            bool explicit, char *err)
{
	struct input *in;

	if(!imgp_grow((void **)&r->in, &r->cap, r->n, sizeof(*r->in)))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	in = &r->in[r->n];
	memset(in, 0, sizeof(*in));
	in->store = store;
	in->explicit = explicit;
	in->ref.action = IMGP_ACTION_CREATED;
	in->ref.bucket = imgp_strdup(bucket);
	in->ref.key = imgp_strdup(key);
	in->ref.etag = etag && *etag ? imgp_strdup(etag) : NULL;
	in->ref.version_id = version ? imgp_strdup(version) : NULL;
	in->shown = store == r->remote ? imgp_asprintf("%s://%s/%s", r->scheme->scheme, bucket, key)
	                               : join(bucket, key);
	r->n++;
	if(!in->ref.bucket || !in->ref.key || !in->shown || (etag && *etag && !in->ref.etag) ||
	   (version && !in->ref.version_id))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/* A folder or prefix being walked: what to leave out, and how to list. */
struct walk {
	struct run *r;
	struct imgp_store *store;
	const char *bucket, *exclude;   /* keys under exclude are the destination */
	enum imgp_status result;
	char *err;
};

static bool walk_entry(void *ud, const struct imgp_list_entry *e)
{
	struct walk *w = ud;
	struct run *r = w->r;
	unsigned char head[SNIFF_BYTES];
	char why[IMGP_ERRSIZE], *shown;
	size_t len = 0;

	if(!*e->key || e->key[strlen(e->key) - 1] == '/' ||
	   (w->exclude && !strncmp(e->key, w->exclude, strlen(w->exclude))))
		return true;        /* a folder marker, or the destination itself */
	/* a local file is sniffed now: a video in the folder is skipped by
	 * name, not read whole and refused (one that cannot be read at all is
	 * the job's to report) */
	if(w->store == r->files &&
	   !imgp_store_peek(w->store, w->bucket, e->key, head, sizeof(head), &len, NULL) &&
	   imgp_render_sniff(head, len, why)) {
		struct imgp_object obj;
		const char *owner;
		bool ours;

		/* a manifest of an earlier run is imgpipe's own, not just "not an image" */
		imgp_object_init(&obj);
		ours = !imgp_store_head(w->store, w->bucket, e->key, &obj, NULL) &&
		       (owner = imgp_object_meta(&obj, IMGP_META_SOURCE));
		if(ours)
			snprintf(why, sizeof(why), "an imgpipe manifest (of %s)", owner);
		imgp_object_release(&obj);
		if((shown = join(w->bucket, e->key)))
			imgp_resize_skip(r, ours ? T_OURS : T_NOTIMAGE, shown, why);
		imgp_free(shown);
		return true;
	}
	w->result = add(r, w->store, w->bucket, e->key, e->etag, e->version_id, false, w->err);
	return !w->result;
}

/* Whatever the run prints first about an input it cannot plan. */
static void plan_failure(struct run *r, const char *input, const char *why)
{
	fprintf(stderr, "imgpipe: %s: %s\n", input, why);
	atomic_fetch_add(&r->tally[T_FAILED], 1);
}

static enum imgp_status walk(struct run *r, struct imgp_store *store, const char *input,
                             const char *bucket, const char *prefix, const char *exclude,
                             char *err)
{
	struct walk w = { r, store, bucket, exclude, IMGP_OK, err };
	struct imgp_store_error e;
	char line[IMGP_ERRSIZE];

	if(imgp_store_list(store, bucket, prefix, walk_entry, &w, &e) && !w.result)
		plan_failure(r, input, imgp_store_error_str(&e, line));
	return w.result;
}

/* Where the destination sits inside folder (real paths): "web/", "" for the
 * folder itself, NULL when it is elsewhere. */
static char *inside(const char *folder, const char *dest)
{
	char real[PATH_MAX], real_dest[PATH_MAX];
	size_t n;

	if(!realpath(folder, real) || !realpath(dest, real_dest))
		return NULL;
	n = strcmp(real, "/") ? strlen(real) : 0;
	if(strncmp(real_dest, real, n) || (real_dest[n] != '/' && real_dest[n]))
		return NULL;
	return real_dest[n] && real_dest[n + 1] ? imgp_asprintf("%s/", real_dest + n + 1)
	                                        : imgp_strdup("");
}

/*
 * A local file or folder as a bucket and a key (or prefix): the folder
 * named keeps its name below the destination, as the trigger keeps a key's
 * folders: "photos/2024/" is bucket "photos", prefix "2024/"; "resize ."
 * keeps no folder name.
 */
enum imgp_status imgp_resize_plan_local(struct run *r, const char *input, char *err)
{
	char *copy = imgp_strdup(input), *slash, *prefix = NULL, *exclude = NULL;
	const char *bucket, *name;
	enum imgp_status result = IMGP_OK;
	bool itself;
	struct stat st;

	if(!copy)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	if(stat(copy, &st)) {
		plan_failure(r, input, strerror(errno));
		goto out;
	}
	slash = strrchr(copy, '/');
	name = slash ? slash + 1 : copy;
	itself = S_ISDIR(st.st_mode) && (!*name || !strcmp(name, ".") || !strcmp(name, ".."));
	if(itself)
		bucket = copy;      /* "/", ".", "..", "a/..": the folder itself */
	else {
		bucket = !slash ? "." : slash == copy ? "/" : copy;
		if(slash && slash != copy)
			*slash = '\0';
	}
	if(!S_ISDIR(st.st_mode)) {
		result = add(r, r->files, bucket, name, NULL, NULL, true, err);
		goto out;
	}
	if(!itself && !(prefix = imgp_asprintf("%s/", name))) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(r->dst == r->files && (exclude = inside(bucket, r->jc.dest_bucket)) &&
	   !strcmp(exclude, prefix ? prefix : "")) {
		result = imgp_fail(err, IMGP_E_USAGE, "-o %s is the folder %s itself: write the "
		                   "variants into a folder of their own", r->jc.dest_bucket, input);
		goto out;
	}
	result = walk(r, r->files, input, bucket, prefix ? prefix : "",
	              exclude && *exclude ? exclude : NULL, err);
out:
	imgp_free(exclude);
	imgp_free(prefix);
	imgp_free(copy);
	return result;
}

/* s3://bucket/prefix/ (or s3://bucket) is walked; s3://bucket/key is one
 * object; any scheme of store.c's table the same way. */
enum imgp_status imgp_resize_plan_url(struct run *r, const char *input, char *err)
{
	const char *exclude = NULL;
	char *bucket, *rest;
	enum imgp_status result = imgp_store_url_split(input, &bucket, &rest, err);

	if(result == IMGP_E_USAGE) {
		/* one bad input costs nothing else */
		plan_failure(r, input, err);
		return IMGP_OK;
	}
	if(result)
		return result;
	if(r->dst == r->remote && !strcmp(bucket, r->jc.dest_bucket)) {
		exclude = r->jc.dest_prefix;
		if(!*exclude || !strncmp(rest, exclude, strlen(exclude)))
			result = imgp_fail(err, IMGP_E_USAGE, "-o %s://%s/%s is inside %s: the variants "
			                   "would be read back as sources", r->scheme->scheme, bucket,
			                   exclude, input);
	}
	if(!result && (!*rest || rest[strlen(rest) - 1] == '/'))
		result = walk(r, r->remote, input, bucket, rest, exclude, err);
	else if(!result)
		result = add(r, r->remote, bucket, rest, NULL, NULL, true, err);
	imgp_free(bucket);
	imgp_free(rest);
	return result;
}

static int by_key(const void *a, const void *b)
{
	const struct input *x = *(const struct input *const *)a, *y = *(const struct input *const *)b;

	return strcmp(x->ref.key, y->ref.key);
}

/* The real path of a local input's folder, with a trailing "/"; NULL when
 * out of memory or it cannot be resolved. */
static char *real_folder(const char *bucket)
{
	char real[PATH_MAX];

	if(!realpath(bucket, real))
		return NULL;
	return imgp_asprintf("%s%s", real, strcmp(real, "/") ? "/" : "");
}

/*
 * Two inputs that are one key in two folders (a/x.jpg and b/x.jpg, or
 * DCIM/100/IMG_0001.JPG and DCIM/101/IMG_0001.JPG) would write the same
 * outputs. Local ones are all keyed from the folder their folders share
 * instead (a/x.jpg, b/x.jpg), so nothing is lost and a second run finds
 * the same names; where that cannot be (an S3 object among them), the run
 * stops before writing anything, naming both.
 */
enum imgp_status imgp_resize_separate_same_keys(struct run *r, char *err)
{
	struct input **list = imgp_calloc(r->n ? r->n : 1, sizeof(*list));
	char **real = imgp_calloc(r->n ? r->n : 1, sizeof(*real)), *root = NULL;
	enum imgp_status result = IMGP_OK;
	bool clash = false;
	size_t rootlen = 0;

	if(!list || !real) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	for(size_t i = 0; i < r->n; i++)
		list[i] = &r->in[i];
	qsort(list, r->n, sizeof(*list), by_key);
	for(size_t i = 1; i < r->n && !result; i++) {
		const struct input *x = list[i - 1], *y = list[i];

		if(strcmp(x->ref.key, y->ref.key) ||
		   (x->store == y->store && !strcmp(x->ref.bucket, y->ref.bucket)))
			continue;
		if(x->store != r->files || y->store != r->files)
			result = imgp_fail(err, IMGP_E_USAGE, "%s and %s would write the same outputs "
				"(both are the key %s): run them one at a time, each with its own -o",
				x->shown, y->shown, x->ref.key);
		clash = true;
	}
	if(result || !clash)
		goto out;
	/* the deepest folder every local input is under */
	for(size_t i = 0; i < r->n; i++) {
		if(r->in[i].store != r->files)
			continue;
		if(!(real[i] = real_folder(r->in[i].ref.bucket))) {
			result = imgp_fail(err, IMGP_E_USAGE, "%s: %s", r->in[i].shown, strerror(errno));
			goto out;
		}
		if(!root) {
			root = real[i];
			rootlen = strlen(root);
			continue;
		}
		while(rootlen && strncmp(root, real[i], rootlen))
			for(rootlen--; rootlen && root[rootlen - 1] != '/'; rootlen--)
				;
	}
	for(size_t i = 0; i < r->n; i++) {
		char *key, *bucket;

		if(!real[i])
			continue;
		key = imgp_asprintf("%s%s", real[i] + rootlen, r->in[i].ref.key);
		bucket = rootlen > 1 ? imgp_strndup(root, rootlen - 1) : imgp_strdup("/");
		if(!key || !bucket) {
			imgp_free(key);
			imgp_free(bucket);
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
		imgp_free(r->in[i].ref.key);
		imgp_free(r->in[i].ref.bucket);
		r->in[i].ref.key = key;
		r->in[i].ref.bucket = bucket;
	}
	/* and the same again, now: two names of one file (a link) stay one key */
	for(size_t i = 0; i < r->n; i++)
		list[i] = &r->in[i];
	qsort(list, r->n, sizeof(*list), by_key);
	for(size_t i = 1; i < r->n && !result; i++)
		if(!strcmp(list[i - 1]->ref.key, list[i]->ref.key) &&
		   strcmp(list[i - 1]->ref.bucket, list[i]->ref.bucket))
			result = imgp_fail(err, IMGP_E_USAGE, "%s and %s would write the same outputs",
			                   list[i - 1]->shown, list[i]->shown);
out:
	for(size_t i = 0; real && i < r->n; i++)
		imgp_free(real[i]);
	imgp_free(real);
	imgp_free(list);
	return result;
}

/* Sources of one group: the same store, bucket, and key but for the extension. */
static int group_cmp(const struct input *x, const struct input *y)
{
	const char *kx = x->ref.key, *ky = y->ref.key;
	const char *dx = strrchr(kx, '.'), *dy = strrchr(ky, '.');
	size_t nx = dx && !strchr(dx, '/') ? (size_t)(dx - kx) : strlen(kx);
	size_t ny = dy && !strchr(dy, '/') ? (size_t)(dy - ky) : strlen(ky);
	int c;

	if(x->store != y->store)
		return x->store < y->store ? -1 : 1;
	if((c = strcmp(x->ref.bucket, y->ref.bucket)))
		return c;
	if((c = strncmp(kx, ky, nx < ny ? nx : ny)))
		return c;
	return nx == ny ? 0 : nx < ny ? -1 : 1;
}

static int compare_inputs(const void *a, const void *b)
{
	int c = group_cmp(a, b);

	return c ? c : strcmp(((const struct input *)a)->ref.key, ((const struct input *)b)->ref.key);
}

enum imgp_status imgp_resize_plan_groups(struct run *r, char *err)
{
	qsort(r->in, r->n, sizeof(*r->in), compare_inputs);
	if(!(r->groups = imgp_calloc(r->n + 1, sizeof(*r->groups))))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	for(size_t i = 0; i < r->n; i++)
		if(!i || group_cmp(&r->in[i - 1], &r->in[i]))
			r->groups[r->ngroups++] = i;
	r->groups[r->ngroups] = r->n;
	return IMGP_OK;
}

