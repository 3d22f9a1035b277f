/*
 * store_dir_list.c: the listing of a bucket's folder, sorted as S3 lists:
 * every file under the prefix, hidden names and imgpipe's temporaries
 * left out; in the folders store a link is taken as what it links to (a
 * folder but one the walk is already inside, which would loop).
 */
#include "store_dir_impl.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "dbuf.h"

struct key_list {
	struct imgp_list_entry *items;
	size_t count, cap;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct imgp_list_entry *x = a, *y = b;

	return strcmp(x->key, y->key);   /* byte order, as S3 sorts UTF-8 */
}

static char *iso8601(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return imgp_strdup(buf);
}

/* The etag imgpipe stored with a file it wrote, or NULL (not computed here). */
static char *stored_etag(const char *path)
{
	char buf[ATTR_MAX];
	ssize_t n = getxattr(path, XATTR_NAME, buf, sizeof(buf) - 1);
	json_t *root;
	char *etag = NULL;

	if(n <= 0)
		return NULL;
	root = json_loadb(buf, (size_t)n, 0, NULL);
	if(json_is_string(json_object_get(root, "etag")))
		etag = imgp_strdup(json_string_value(json_object_get(root, "etag")));
	json_decref(root);
	return etag;
}

static void entry_release(struct imgp_list_entry *it)
{
	imgp_free((char *)it->key);
	imgp_free((char *)it->etag);
	imgp_free((char *)it->version_id);
	imgp_free((char *)it->last_modified);
}

static enum imgp_status add_entry(const struct dir_store *d, struct key_list *kl,
                                  const char *path, const char *key, const struct stat *sb,
                                  struct imgp_store_error *e)
{
	struct imgp_list_entry *it;

	if(!imgp_grow((void **)&kl->items, &kl->cap, kl->count, sizeof(*kl->items)))
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	it = &kl->items[kl->count++];
	memset(it, 0, sizeof(*it));
	it->key = imgp_strdup(key);
	it->size = (uint64_t)sb->st_size;
	it->etag = stored_etag(path);
	it->last_modified = iso8601(sb->st_mtime);
	if(imgp_dir_folders(d))
		it->version_id = imgp_dir_file_version(sb);
	if(!it->key || !it->last_modified || (imgp_dir_folders(d) && !it->version_id))
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/* Skipped by every listing: ., .., our temporaries; all hidden names in folders. */
static bool unlisted(const struct dir_store *d, const char *name)
{
	if(name[0] != '.')
		return false;
	return imgp_dir_folders(d) || !name[1] || !strcmp(name, "..") ||
	       !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));
}

/* The folders a walk is inside, innermost first: a link back to one of
 * them would loop. */
struct ancestry {
	dev_t dev;
	ino_t ino;
	const struct ancestry *up;
};

static bool loops(const struct ancestry *a, const struct stat *sb)
{
	for(; a; a = a->up)
		if(a->dev == sb->st_dev && a->ino == sb->st_ino)
			return true;
	return false;
}

static enum imgp_status walk(const struct dir_store *d, struct imgp_dbuf *path, size_t base,
                             const char *prefix, const struct ancestry *up, int depth,
                             struct key_list *kl, struct imgp_store_error *e)
{
	DIR *dir = opendir(imgp_dbuf_str(path));
	struct dirent *de;
	size_t keep = path->len;
	enum imgp_status result = IMGP_OK;

	if(!dir)
		return errno == ENOENT ? IMGP_OK
		       : imgp_store_fail(e, imgp_dir_errno_status(errno), "list: cannot read %s: %s",
		                         imgp_dbuf_str(path), strerror(errno));
	while(!result && (de = readdir(dir))) {
		struct stat sb;
		const char *key;
		size_t plen = strlen(prefix), klen;

		if(unlisted(d, de->d_name))
			continue;
		path->len = keep;
		if(imgp_dbuf_addf(path, "/%s", de->d_name)) {
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
			break;
		}
		if(lstat(imgp_dbuf_str(path), &sb))
			continue;
		/* the folders store takes a link as what it links to: a file, or
		 * a folder but one the walk is already inside (that would loop) */
		if(imgp_dir_folders(d) && S_ISLNK(sb.st_mode) &&
		   (stat(imgp_dbuf_str(path), &sb) || (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) ||
		    (S_ISDIR(sb.st_mode) && loops(up, &sb))))
			continue;
		key = imgp_dbuf_str(path) + base;
		klen = strlen(key);
		/* a folder is worth entering only if the prefix can be under it;
		 * bind mounts can loop even without links */
		if(S_ISDIR(sb.st_mode)) {
			struct ancestry here = { sb.st_dev, sb.st_ino, up };

			if(depth < 64 && strncmp(key, prefix, klen < plen ? klen : plen) == 0)
				result = walk(d, path, base, prefix, &here, depth + 1, kl, e);
			continue;
		}
		if(!S_ISREG(sb.st_mode) || strncmp(key, prefix, plen))
			continue;
		result = add_entry(d, kl, imgp_dbuf_str(path), key, &sb, e);
	}
	path->len = keep;
	closedir(dir);
	return result;
}

enum imgp_status imgp_dir_list(struct imgp_store *st, const char *bucket,
                                 const char *prefix, imgp_store_list_cb cb,
                                 void *ud, struct imgp_store_error *e)
{
	struct dir_store *d = (struct dir_store *)st;
	struct key_list kl = { NULL, 0, 0 };
	struct imgp_dbuf path;
	struct stat sb;
	char *bpath = NULL;
	enum imgp_status result = imgp_dir_check_bucket(d, bucket, e);

	imgp_dbuf_init(&path, 64 * 1024);
	if(result)
		return result;
	bpath = imgp_dir_object_path(d, bucket, NULL);
	/* the path without its last "/" ("" for "/"): the walk adds one before
	 * each name, and keys start after it */
	if(!bpath || imgp_dbuf_add(&path, bpath, strlen(bpath) - 1)) {
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(stat(bpath, &sb) || !S_ISDIR(sb.st_mode)) {
		snprintf(e->code, sizeof(e->code), "NoSuchBucket");
		result = imgp_store_fail(e, IMGP_E_NOT_FOUND, "list %s: no such %s (folder %s)",
		                         bucket, imgp_dir_folders(d) ? "folder" : "bucket",
		                         imgp_dbuf_str(&path));
		goto out;
	}
	{
		struct ancestry top = { sb.st_dev, sb.st_ino, NULL };

		result = walk(d, &path, path.len + 1, prefix, &top, 0, &kl, e);
	}
	if(result)
		goto out;
	/* an empty folder has no list at all (qsort must not see NULL) */
	if(kl.count)
		qsort(kl.items, kl.count, sizeof(*kl.items), entry_cmp);
	for(size_t i = 0; i < kl.count; i++)
		if(!cb(ud, &kl.items[i]))
			break;
out:
	for(size_t i = 0; i < kl.count; i++)
		entry_release(&kl.items[i]);
	imgp_free(kl.items);
	imgp_free(bpath);
	imgp_dbuf_release(&path);
	return result;
}

