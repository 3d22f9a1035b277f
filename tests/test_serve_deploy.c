/*
 * test_serve_deploy.c: deploy/'s manifests for serve (Cloud Run, Knative)
 * parse and hold to Knative's required fields and to what imgpipe serve
 * needs of them (tests/lib/k8s-check.js, with js-yaml); a broken copy is
 * refused, so the check can fail; the MinIO script is valid sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testutil.h"

static int check(const char *const *files, char **out)
{
	const char *argv[16];
	char script[4200];
	int n = 0;

	snprintf(script, sizeof(script), "%s/tests/lib/k8s-check.js", tu_srcdir());
	argv[n++] = "/usr/bin/node";
	argv[n++] = script;
	for(; *files && n < 15; files++)
		argv[n++] = *files;
	argv[n] = NULL;
	return tu_run(argv, out, NULL);
}

Test(serve_deploy, the_knative_manifests_hold)
{
	char paths[3][4200], *out = NULL;
	const char *files[] = { paths[0], paths[1], paths[2], NULL };

	snprintf(paths[0], sizeof(paths[0]), "%s/deploy/cloudrun/service.yaml", tu_srcdir());
	snprintf(paths[1], sizeof(paths[1]), "%s/deploy/knative/service.yaml", tu_srcdir());
	snprintf(paths[2], sizeof(paths[2]), "%s/deploy/knative/trigger.yaml", tu_srcdir());
	cr_assert_eq(check(files, &out), 0, "%s", out);
	{
		int oks = 0;

		for(const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			oks += !strncmp(line, "ok ", 3);
		cr_assert_eq(oks, 3, "three manifests, three ok lines: %s", out);
	}
	free(out);
}

Test(serve_deploy, a_broken_manifest_is_refused)
{
	char *dir = tu_tempdir(), path[4200], *out = NULL, *text, *at;
	const char *files[] = { path, NULL };
	size_t len;

	snprintf(path, sizeof(path), "%s/deploy/cloudrun/service.yaml", tu_srcdir());
	text = tu_read(path, &len);
	cr_assert_not_null(text);
	/* the platform would send more than imgpipe takes at once */
	at = strstr(text, "containerConcurrency: 2");
	cr_assert_not_null(at);
	at[22] = '8';
	snprintf(path, sizeof(path), "%s/service.yaml", dir);
	cr_assert(tu_write(path, text, len));
	cr_assert_neq(check(files, &out), 0, "a broken manifest passed: %s", out);
	cr_assert(strstr(out, "containerConcurrency 8 is not IMGPIPE_SERVE_CONCURRENCY 2"), "%s", out);
	free(out);
	free(text);
	tu_rmtree(dir);
	free(dir);
}

Test(serve_deploy, the_minio_script_is_valid_sh)
{
	char path[4200];
	const char *argv[] = { "/bin/sh", "-n", path, NULL };

	snprintf(path, sizeof(path), "%s/deploy/minio/setup.sh", tu_srcdir());
	cr_assert_eq(tu_run(argv, NULL, NULL), 0);
}
