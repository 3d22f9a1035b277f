/*
 * test_docs.c: the docs say what the code does. docs/configuration.md
 * lists every variable of src/settings.c's table and no other, each with
 * the default the code uses; docs/variants.md every option the spec takes;
 * every relative link in README.md and docs/ leads to a file that exists.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_impl.h"
#include "naming.h"
#include "settings.h"
#include "lib/testutil.h"

static char *doc(const char *rel)
{
	char *path, *text;
	size_t len;

	cr_assert(asprintf(&path, "%s/%s", tu_srcdir(), rel) > 0);
	text = tu_read(path, &len);
	cr_assert_not_null(text, "cannot read %s", path);
	free(path);
	return text;
}

/* The table row of the doc whose first cell is `name`, or NULL. */
static const char *row_of(const char *text, const char *name)
{
	char cell[160];

	snprintf(cell, sizeof(cell), "\n| `%s` |", name);
	return strstr(text, cell);
}

/* The row as its own string (caller frees). */
static char *row_text(const char *row)
{
	const char *end = strchr(row + 1, '\n');

	return strndup(row + 1, end ? (size_t)(end - row - 1) : strlen(row + 1));
}

Test(docs, configuration_lists_every_setting_and_no_other)
{
	char *text = doc("docs/configuration.md");
	const struct imgp_setting *table;
	size_t n;

	table = imgp_settings(&n);
	cr_assert_gt(n, 40);
	for(size_t i = 0; i < n; i++)
		cr_expect(row_of(text, table[i].name), "docs/configuration.md has no row for %s (%s)",
		          table[i].name, table[i].meaning);
	/* and every row names a setting of the table */
	for(const char *p = strstr(text, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
		char name[128] = "";
		bool known = false;

		cr_assert_eq(sscanf(p, "\n| `%127[^`]`", name), 1);
		for(size_t i = 0; i < n && !known; i++)
			known = !strcmp(table[i].name, name);
		cr_expect(known, "docs/configuration.md documents %s, which imgpipe does not read",
		          name);
	}
	free(text);
}

Test(docs, the_documented_defaults_are_the_code_s)
{
	char *text = doc("docs/configuration.md");
	char num[64];
	const struct { const char *name, *value; } defaults[] = {
		{ "IMGPIPE_OUTPUT_KEY", "`" IMGP_DEFAULT_OUTPUT_KEY "`" },
		{ "IMGPIPE_MANIFEST_KEY", "`" IMGP_DEFAULT_MANIFEST_KEY "`" },
		{ "IMGPIPE_CACHE_CONTROL", "`" IMGP_DEFAULT_CACHE_CONTROL "`" },
		{ "IMGPIPE_VARIANTS", "`" IMGP_DEFAULT_VARIANTS "`" },
		{ "IMGPIPE_DEADLINE_RESERVE_MS", "| 1000 |" },
		{ "IMGPIPE_METRICS_NAMESPACE", "| `imgpipe` |" },
	};
	const struct { const char *name; long long value; } numbers[] = {
		{ "IMGPIPE_MAX_PIXELS", IMGP_DEFAULT_MAX_PIXELS },
		{ "IMGPIPE_MAX_BYTES", IMGP_DEFAULT_MAX_BYTES },
		{ "IMGPIPE_MAX_FRAMES", IMGP_DEFAULT_MAX_FRAMES },
		{ "PORT", IMGP_SERVE_DEFAULT_PORT },
		{ "IMGPIPE_SERVE_TIMEOUT", IMGP_SERVE_DEFAULT_TIMEOUT_S },
		{ "IMGPIPE_SERVE_GRACE", IMGP_SERVE_DEFAULT_GRACE_S },
		{ "IMGPIPE_SERVE_MAX_BODY", IMGP_SERVE_DEFAULT_MAX_BODY },
	};

	for(size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		const char *row = row_of(text, defaults[i].name);
		char *line;

		cr_assert(row, "no row for %s", defaults[i].name);
		line = row_text(row);
		cr_expect(strstr(line, defaults[i].value), "%s: the code's default is %s: %s",
		          defaults[i].name, defaults[i].value, line);
		free(line);
	}
	for(size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		const char *row = row_of(text, numbers[i].name);
		char *line;

		cr_assert(row, "no row for %s", numbers[i].name);
		line = row_text(row);
		snprintf(num, sizeof(num), "| %lld |", numbers[i].value);
		cr_expect(strstr(line, num), "%s: the code's default is %lld: %s", numbers[i].name,
		          numbers[i].value, line);
		free(line);
	}
	free(text);
}

/* Each format's q, effort and chroma as config.h has them, in the options
 * table, README's table of formats and resize --help. */
Test(docs, the_documented_quality_defaults_are_the_code_s)
{
	char *text = doc("docs/variants.md"), *line, want[128], *help = NULL;

	line = row_text(row_of(text, "q"));
	snprintf(want, sizeof(want), "| JPEG %d, WebP %d, AVIF %d |", IMGP_DEFAULT_Q,
	         IMGP_DEFAULT_Q, IMGP_AVIF_DEFAULT_Q);
	cr_expect(strstr(line, want), "docs/variants.md, q: the code says %s: %s", want, line);
	free(line);
	line = row_text(row_of(text, "effort"));
	snprintf(want, sizeof(want), "AVIF %d,", IMGP_AVIF_DEFAULT_EFFORT);
	cr_expect(strstr(line, want), "docs/variants.md, effort: the code says %s: %s", want, line);
	free(line);
	line = row_text(row_of(text, "chroma"));
	snprintf(want, sizeof(want), "| AVIF `%s`,", imgp_chroma_name(IMGP_AVIF_DEFAULT_CHROMA));
	cr_expect(strstr(line, want), "docs/variants.md, chroma: the code says %s: %s", want, line);
	free(line);
	free(text);

	/* README's table of formats */
	text = doc("README.md");
	snprintf(want, sizeof(want), "| JPEG | q%d,", IMGP_DEFAULT_Q);
	cr_expect(strstr(text, want), "README.md's formats table: the code says %s", want);
	snprintf(want, sizeof(want), "| WebP | q%d,", IMGP_DEFAULT_Q);
	cr_expect(strstr(text, want), "README.md's formats table: the code says %s", want);
	snprintf(want, sizeof(want), "| AVIF | q%d, effort %d,", IMGP_AVIF_DEFAULT_Q,
	         IMGP_AVIF_DEFAULT_EFFORT);
	cr_expect(strstr(text, want), "README.md's formats table: the code says %s", want);
	free(text);

	cr_assert_eq(tu_imgpipe(&help, NULL, "resize", "--help", NULL), 0);
	cr_assert_not_null(help);
	snprintf(want, sizeof(want), "q=1-100 (JPEG, WebP %d; AVIF %d)", IMGP_DEFAULT_Q,
	         IMGP_AVIF_DEFAULT_Q);
	cr_expect(strstr(help, want), "resize --help says no %s", want);
	snprintf(want, sizeof(want), "effort=0-9 (AVIF %d)", IMGP_AVIF_DEFAULT_EFFORT);
	cr_expect(strstr(help, want), "resize --help says no %s", want);
	free(help);
}

Test(docs, variants_lists_every_option_of_the_spec)
{
	char *text = doc("docs/variants.md"), *names = strdup(OPTION_NAMES), *save = NULL;

	for(char *name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save))
		cr_expect(row_of(text, name), "docs/variants.md has no row for the option %s", name);
	free(names);
	free(text);
}

/* Every [text](relative.md#anchor) leads to a file that is there. */
static void links_resolve(const char *rel, const char *dir)
{
	char *text = doc(rel);

	for(const char *p = strstr(text, "]("); p; p = strstr(p + 1, "](")) {
		char target[512] = "", *hash, *path;
		FILE *f;

		if(sscanf(p, "](%511[^)])", target) != 1 || strstr(target, "://") ||
		   target[0] == '#' || !strncmp(target, "mailto:", 7))
			continue;
		if((hash = strchr(target, '#')))
			*hash = '\0';
		cr_assert(asprintf(&path, "%s/%s%s", tu_srcdir(), dir, target) > 0);
		f = fopen(path, "r");
		cr_expect(f, "%s links to %s, which is not there", rel, target);
		if(f)
			fclose(f);
		free(path);
	}
	free(text);
}

Test(docs, every_relative_link_leads_somewhere)
{
	static const char *const pages[] = { "architecture", "benchmarks", "cli", "configuration",
		"container-image", "deploy-aws", "deploy-azure", "deploy-google-cloud",
		"deploy-knative-minio-ceph", "install", "manifest", "serve", "upload-handler", "variants" };

	links_resolve("README.md", "");
	for(size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "docs/%s.md", pages[i]);
		links_resolve(rel, "docs/");
	}
}

/*
 * Every command of the docs' sh blocks that can run offline does run. A
 * block runs when each of its lines is imgpipe (or build/imgpipe),
 * export, mkdir or cp; lines naming s3:// or az:// are left out (they
 * need a bucket). It runs under bash -e in a scratch folder holding what the
 * examples name (photos/, a.jpg, b.png, the sample events, build/), with
 * /tmp/store moved into it.
 */
static bool runnable_line(const char *line)
{
	static const char *const starts[] = { "imgpipe ", "build/imgpipe ", "export ", "mkdir ",
	                                      "cp ", "#" };

	while(*line == ' ')
		line++;
	if(!*line || strstr(line, "s3://") || strstr(line, "az://"))
		return true;
	for(size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if(!strncmp(line, starts[i], strlen(starts[i])))
			return !strchr(line, '&') && !strchr(line, '|');
	return false;
}

static int run_blocks(const char *rel, const char *scratch, int *ran)
{
	char *text = doc(rel);
	int failed = 0;

	for(char *p = strstr(text, "```sh\n"); p; p = strstr(p, "```sh\n")) {
		char *body = p + 6, *end = strstr(body, "```"), *script = NULL, *out = NULL,
		     *err = NULL;
		size_t n = 0;
		bool ok = true;
		FILE *f;

		if(!end)
			break;
		*end = '\0';
		for(char *line = body; ok && *line; line = strchr(line, '\n') + 1) {
			char *nl = strchr(line, '\n');

			if(!nl)
				break;
			*nl = '\0';
			ok = runnable_line(line);
			*nl = '\n';
		}
		if(ok && (f = open_memstream(&script, &n))) {
			fprintf(f, "set -e\ncd '%s'\n", scratch);
			for(char *line = body; *line; ) {
				char *nl = strchr(line, '\n');

				if(!nl)
					break;
				*nl = '\0';
				if(!strstr(line, "s3://") && !strstr(line, "az://")) {
					/* /tmp/store is the scratch folder's own */
					for(char *c = line; *c; c++) {
						char *t = strstr(c, "/tmp/store");

						if(!t) {
							fputs(c, f);
							break;
						}
						fwrite(c, 1, (size_t)(t - c), f);
						fprintf(f, "%s/store", scratch);
						c = t + strlen("/tmp/store") - 1;
					}
					fputc('\n', f);
				}
				line = nl + 1;
			}
			fclose(f);
			{
				const char *argv[] = { "/bin/bash", "-c", script, NULL };
				int status = tu_run(argv, &out, &err);

				cr_expect_eq(status, 0, "%s: a block of its commands fails (exit %d):\n%s\n%s",
				             rel, status, body, tu_tail(err, 600));
				failed += status != 0;
				(*ran)++;
			}
		}
		free(script);
		free(out);
		free(err);
		p = end + 3;
	}
	free(text);
	return failed;
}

Test(docs, the_commands_of_the_docs_run, .timeout = 120)
{
	static const char *const pages[] = { "README.md", "docs/cli.md", "docs/upload-handler.md",
	                                     "docs/variants.md", "docs/manifest.md",
	                                     "docs/deploy-azure.md" };
	char *scratch = tu_tempdir(), *bin = strdup(tu_bin()), *cmd;
	const char *argv[] = { "/bin/bash", "-c", NULL, NULL };
	char *out = NULL, *err = NULL;
	int ran = 0;

	/* what the examples name; `imgpipe` on PATH, build/ and testdata/ beside */
	*strrchr(bin, '/') = '\0';
	cr_assert(asprintf(&cmd, "set -e; cd '%s'; mkdir -p photos/2024; "
	                   "cp '%s/testdata/samples/landscape.jpg' photos/cat.jpg; "
	                   "cp '%s/testdata/samples/portrait.jpg' photos/2024/dog.jpg; "
	                   "cp '%s/testdata/samples/landscape.jpg' a.jpg; "
	                   "cp '%s/testdata/samples/logo.png' b.png; "
	                   "ln -s '%s' build; ln -s '%s/testdata' testdata", scratch, bin, bin, bin,
	                   bin, bin, tu_srcdir()) > 0);
	argv[2] = cmd;
	cr_assert_eq(tu_run(argv, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	setenv("PATH", bin, 1);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s:/usr/bin:/bin", bin);
		setenv("PATH", path, 1);
	}
	for(size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		run_blocks(pages[i], scratch, &ran);
	cr_assert_geq(ran, 3, "only %d blocks of commands ran", ran);
	tu_rmtree(scratch);
	free(scratch);
	free(bin);
	free(cmd);
}

/*
 * The bench's price table: every price has a source and a date; and the
 * cost model prices a measured image on three clouds, Lambda on both
 * architectures (no empty row for
 * a tool that fits), the fastest not dearer than the slowest anywhere.
 */
Test(docs, bench_prices_are_sourced_and_every_cloud_is_priced, .timeout = 60)
{
	static const char script[] =
		"import json, sys\n"
		"sys.path.insert(0, sys.argv[1] + '/bench')\n"
		"import cost\n"
		"raw = json.load(open(sys.argv[1] + '/bench/prices.json'))\n"
		"for k, v in raw.items():\n"
		"    if k.startswith('_'): continue\n"
		"    assert v.get('source') and v.get('date'), k\n"
		"    assert ('usd' in v) != ('value' in v), k\n"
		"p, _ = cost.load_prices(sys.argv[1] + '/bench/prices.json')\n"
		"fast = {'runs': {'1': {'wall_ms': 120, 'cpu_ms': 120}}, 'peak_rss_mb': 60, 'cold_ms': 20, 'puts': 4}\n"
		"slow = {'runs': {'1': {'wall_ms': 900, 'cpu_ms': 900}}, 'peak_rss_mb': 140, 'cold_ms': 120, 'puts': 4}\n"
		"a, b = cost.clouds(fast, p), cost.clouds(slow, p)\n"
		"assert len(a) == len(cost.PLATFORMS) == 5 and all(a) and all(b), (a, b)\n"
		"assert [r['platform'] for r in a] == cost.PLATFORMS, a\n"
		"assert a[1]['usd_per_million']['compute'] < a[0]['usd_per_million']['compute'], a\n"
		"for x, y in zip(a, b):\n"
		"    assert x['platform'] == y['platform']\n"
		"    assert 0 < x['usd_per_million']['total'] <= y['usd_per_million']['total'], (x, y)\n"
		"    assert x['usd_per_million']['storage'] > 0\n"
		"huge = dict(slow, peak_rss_mb=5000)\n"
		"h = cost.clouds(huge, p)\n"
		"assert h[3] is None and h[2] is None, h\n"
		"print('ok', len(raw))\n";
	const char *argv[] = { "/usr/bin/env", "python3", "-c", script, tu_srcdir(), NULL };
	char *out = NULL, *err = NULL;

	cr_assert_eq(tu_run(argv, &out, &err), 0, "%s", err);
	cr_assert(!strncmp(out, "ok ", 3), "%s", out);
	free(out);
	free(err);
}

/* The bench's memory (bench/history.py): its own tests, run here so that a
 * change to it cannot pass unnoticed. */
Test(docs, bench_history_keeps_and_compares_runs, .timeout = 60)
{
	char *dir;
	const char *argv[] = { "/usr/bin/env", "python3", "-m", "unittest", "-q", "test_history", NULL };
	char *out = NULL, *err = NULL;
	int status;

	cr_assert(asprintf(&dir, "%s/bench", tu_srcdir()) > 0);
	cr_assert_eq(chdir(dir), 0, "%s", dir);
	status = tu_run(argv, &out, &err);
	cr_assert_eq(status, 0, "%s", err);
	cr_assert(strstr(err, "\nOK"), "%s", err);
	cr_assert(!strstr(err, "Ran 0 tests"), "%s", err);
	free(out);
	free(err);
	free(dir);
}
