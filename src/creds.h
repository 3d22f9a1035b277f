/*
 * creds.h: the AWS credential chain, in the order the AWS SDKs use:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   2. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then
 *      AWS_CONFIG_FILE (~/.aws/config), profile AWS_PROFILE or "default"
 *   3. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2)
 *      or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
 *   4. EC2 instance metadata, IMDSv2 (token first), at
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254; skipped when
 *      AWS_EC2_METADATA_DISABLED=true
 * and, for Google Cloud Storage's XML API without HMAC keys (Cloud Run,
 * GKE, GCE), before 3: an OAuth 2.0 access token from the metadata server
 * (GCE_METADATA_HOST, else metadata.google.internal), the service
 * account's, sent as "Authorization: Bearer" instead of a signature. It is
 * asked only when the S3 endpoint is storage.googleapis.com or
 * GCE_METADATA_HOST is set, so nothing outside Google Cloud ever tries it.
 * Temporary credentials are fetched again five minutes before they expire.
 *
 * It owns the secrets: it must never log them or put them into an error,
 * and wipes them when done. A provider is thread-safe (one mutex).
 */
#ifndef IMGP_CREDS_H
#define IMGP_CREDS_H

#include <time.h>

#include "imgpipe.h"

struct imgp_creds {
	char *access_key;
	char *secret_key;
	char *session_token;     /* NULL for long-term keys */
	char *bearer_token;      /* an OAuth 2.0 access token ("gce-metadata"),
	                            sent instead of a signature; the keys are
	                            NULL then */
	time_t expires;          /* 0: does not expire */
	const char *source;      /* "env", "profile", "gce-metadata",
	                            "container", "imds" */
};

/* Wipe and free; safe on a zeroed struct. */
void imgp_creds_release(struct imgp_creds *c);

struct imgp_creds_provider;

enum imgp_status imgp_creds_provider_new(struct imgp_creds_provider **out /* OUT */,
                                         char *err);
void imgp_creds_provider_free(struct imgp_creds_provider *p);

/*
 * A copy of current credentials (resolved on first use, refreshed when
 * near expiry) into *out, which the caller releases. IMGP_E_ACCESS when
 * no source has any; a temporary status when a metadata service failed.
 */
enum imgp_status imgp_creds_get(struct imgp_creds_provider *p,
                                struct imgp_creds *out /* OUT */, char *err);

/* The region of the profile's config file section, or NULL (caller frees). */
char *imgp_creds_profile_region(void);

/* Exposed for tests: the URL the metadata server's token comes from, or
 * NULL when the chain would not ask it (caller frees). */
char *imgp_creds_gce_token_url(void);

/* Exposed for tests: the URL container credentials come from, or NULL. */
char *imgp_creds_container_url(void);

#endif
