#!/bin/sh
# MinIO's bucket notifications to imgpipe serve, with mc (MinIO's client):
#
#   IMGPIPE_URL=http://imgpipe:8080/ TOKEN=... deploy/minio/setup.sh ALIAS BUCKET
#
# The webhook target sends "Authorization: Bearer TOKEN" (its auth_token),
# which imgpipe checks when IMGPIPE_SERVE_TOKEN=TOKEN. MinIO retries an
# event until imgpipe answers 2xx; imgpipe answers 2xx for done and for
# permanent failures, 5xx (and 429) for what is worth another try.
set -eu
alias=$1
bucket=$2
: "${IMGPIPE_URL:?the URL imgpipe serve listens on, e.g. http://imgpipe:8080/}"
: "${TOKEN:?the token imgpipe serve wants (IMGPIPE_SERVE_TOKEN)}"
mc admin config set "$alias" notify_webhook:imgpipe \
	endpoint="$IMGPIPE_URL" auth_token="$TOKEN" queue_limit=10000
mc admin service restart "$alias"
# uploads only: variants go to another bucket, never back here
mc event add "$alias/$bucket" arn:minio:sqs::imgpipe:webhook --event put
mc event list "$alias/$bucket"
