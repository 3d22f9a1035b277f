/*
 * event_impl.h: what event.c shares with the event dialects, one file per
 * cloud: event_aws.c (S3, SQS, SNS, EventBridge, Batch, MinIO and Ceph's
 * S3 records), event_google.c (Cloud Storage, Pub/Sub, Google's
 * CloudEvent types), event_azure.c (Event Grid's Blob Storage events). A new cloud's events are one more file with one
 * struct imgp_dialect, and one line in event.c's table of dialects; no
 * front end changes.
 *
 * The rules every dialect keeps are event.c's (its opening comment).
 */
#ifndef IMGP_EVENT_IMPL_H
#define IMGP_EVENT_IMPL_H

#include <jansson.h>

#include "event.h"

/* Parsing state: the event being filled and whether an error must end the
 * whole invocation (limits, memory) rather than just one item. */
struct parser {
	struct imgp_event *ev;
	size_t cap_refs, cap_items;
	bool fatal;
};

/* One object, as read from any shape. Strings are the event's own
 * (jansson's), copied into the ref by imgp_ev_add_ref. */
struct ref_in {
	json_t *bucket;             /* string */
	json_t *key;                /* string */
	bool encoded;               /* key is form-encoded */
	json_t *version;            /* string, null or absent */
	json_t *etag;               /* string or ignored */
	json_t *size;               /* integer, string of digits, or ignored */
	enum imgp_action action;
	const char *event_name;
};

/*
 * One cloud's event shapes. Each reader returns IMGP_E_NOT_FOUND when the
 * document (or the CloudEvent) is not one of its own, and otherwise what
 * reading it came to.
 */
struct imgp_dialect {
	const char *name;
	/* a top-level document: an object or an array (a list of
	 * {"bucket", "key"} and CloudEvents, structured or batched, are
	 * event.c's own) */
	enum imgp_status (*document)(struct parser *p, json_t *root, char *err);
	/* the data of a CloudEvent whose specversion, type and id event.c has
	 * checked (data NULL when there was none) */
	enum imgp_status (*cloudevent)(struct parser *p, const struct imgp_cloudevent *ce,
	                               json_t *data, char *err);
	const char *accepts;        /* the shapes it reads anywhere, for errors */
	const char *http_accepts;   /* those it reads over HTTP only */
	const char *cloudevent_reads;  /* the CloudEvent types it reads */
};

extern const struct imgp_dialect imgp_dialect_aws, imgp_dialect_google, imgp_dialect_azure;

/* Read a document as the top level would (a dialect that unwraps an
 * envelope hands its content back). */
enum imgp_status imgp_ev_dispatch(struct parser *p, json_t *root, char *err);

/* "accepted: ..." of every dialect, into buf (errors about the shape). */
void imgp_ev_accepted(char *buf, size_t size);

/* The event-building helpers every dialect uses (event.c). */
enum imgp_status imgp_ev_nomem(struct parser *p, char *err);
enum imgp_status imgp_ev_too_many(struct parser *p, char *err);
/* A new item (id may be NULL); its index in *index. */
enum imgp_status imgp_ev_add_item(struct parser *p, const char *id, size_t *index, char *err);
/* Drop the refs from index n on: an item that turned out unreadable must
 * not keep the refs read before the error. */
void imgp_ev_drop_refs(struct imgp_event *ev, size_t n);
/* One object into a ref of item, checked (bucket, key, UTF-8, limits);
 * where names it in errors ("record 2"). */
enum imgp_status imgp_ev_add_ref(struct parser *p, size_t item, const struct ref_in *in,
                                 const char *where, char *err);
/* Copy an event id (CloudEvents id, Pub/Sub messageId) into the event. */
enum imgp_status imgp_ev_set_id(struct parser *p, const char *id, char *err);
/* "an object with keys "a", "b" and 3 more", "a number", ...: what was
 * received, never its values. */
void imgp_ev_describe(json_t *v, char *buf, size_t size);
/* A name from the event, made safe to quote (out: at least 36 bytes). */
void imgp_ev_safe_name(const char *s, char *out);
bool imgp_ev_str_is(json_t *v, const char *s);
/* Is s 1-19 decimal digits (a uint64 without overflow worries)? */
bool imgp_ev_digits(const char *s);
/* JSON carried as base64 text (standard or URL-safe) into *out, a new
 * reference, NULL when the bytes are not JSON. IMGP_E_USAGE when the text
 * is not base64, IMGP_E_NOMEM. */
enum imgp_status imgp_ev_b64_json(const json_t *text, json_t **out);
/* Base64 (standard or URL-safe, padding optional) into a new NUL-ended
 * buffer of *len bytes; IMGP_E_USAGE when it is not base64, IMGP_E_NOMEM. */
enum imgp_status imgp_ev_b64_decode(const char *in, size_t n, unsigned char **out, size_t *len);

#endif
