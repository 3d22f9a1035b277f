/*
 * azcreds.h: the Azure Blob store's account, endpoint and credential
 * (azcreds.c), what store_azure.c signs and sends with: a Shared Key, a
 * SAS token, or a managed identity's token, cached and renewed.
 */
#ifndef IMGP_AZCREDS_H
#define IMGP_AZCREDS_H

#include <pthread.h>
#include <time.h>

#include "store.h"

enum az_auth { AZ_AUTH_KEY, AZ_AUTH_SAS, AZ_AUTH_IDENTITY };

struct azcreds {
	char *account;
	char *endpoint;              /* "https://acct.blob.core.windows.net", no '/' at the end */
	char *endpoint_path;         /* its path ("" or "/devstoreaccount1"), signed */
	enum az_auth auth;
	unsigned char key[64];       /* AZ_AUTH_KEY: the decoded account key */
	int key_len;
	char *sas;                   /* AZ_AUTH_SAS: the token, without '?' */
	/* AZ_AUTH_IDENTITY: the token, cached */
	pthread_mutex_t token_lock;
	char *token;
	time_t token_expires;
};

/* From the environment (azcreds.c's opening comment); IMGP_E_CONFIG with
 * the reason (never a secret). imgp_azcreds_release in every case. */
enum imgp_status imgp_azcreds_load(struct azcreds *c, char *err);
void imgp_azcreds_release(struct azcreds *c);

/* This request's bearer token (a copy to imgp_free), fetched or renewed
 * when it is within five minutes of expiring; a failed renewal keeps a
 * token still valid. Thread-safe. */
enum imgp_status imgp_azcreds_bearer(struct azcreds *c, char **out /* OUT */,
                                     struct imgp_store_error *e);
/* The service refused the token: the next request asks for another. */
void imgp_azcreds_forget_token(struct azcreds *c);

/* "Shared Key", "SAS" or "managed identity", for errors. */
const char *imgp_azcreds_method(const struct azcreds *c);

#endif
