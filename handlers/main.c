/*
 * main.c: the one binary's front door. It picks the subcommand and nothing
 * else; each subcommand lives in a file of its own (git's builtin/ model).
 */
#include "handlers.h"
#include "settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "resize", imgp_cmd_resize, "resize image files and folders into variants" },
	{ "invoke", imgp_cmd_invoke, "run the upload handler once on an event (file or stdin)" },
	{ "lambda", imgp_cmd_lambda, "serve AWS Lambda invocations (the custom runtime)" },
	{ "serve", imgp_cmd_serve, "serve events over HTTP (Cloud Run, Knative, MinIO webhooks)" },
};

static void usage(FILE *to)
{
	fprintf(to,
		"usage: imgpipe <command> [options]\n"
		"\n"
		"imgpipe resizes and recompresses images into a configured set of variants\n"
		"with one libvips pipeline: one decode per source, however many variants.\n"
		"\n"
		"commands:\n");
	for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(to,
		"\n"
		"  imgpipe <command> --help   shows a command's options\n"
		"  imgpipe --version          shows this build and the libvips it runs on\n");
}

/* Edit distance between a and b (insert, delete, substitute: 1 each). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if(la >= 63 || lb >= 63)
		return 99;
	for(size_t j = 0; j <= lb; j++)
		row[j] = j;
	for(size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for(size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if(up + 1 < best)
				best = up + 1;
			if(row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

void imgp_unknown_option(const char *command, const char *arg,
                         const struct option *longopts)
{
	const char *name = arg, *best = NULL;
	size_t n, best_d = 99;
	char word[64];

	while(*name == '-')
		name++;
	n = strcspn(name, "=");
	snprintf(word, sizeof(word), "%.*s", (int)(n < 63 ? n : 63), name);
	for(const struct option *o = longopts; o->name; o++) {
		size_t d = distance(word, o->name);

		/* a prefix is what someone typing it short meant */
		if(!strncmp(o->name, word, strlen(word)) && *word)
			d = 1;
		if(d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	if(arg[0] == '-' && arg[1] != '-' && arg[1])
		fprintf(stderr, "imgpipe %s: unknown option %.2s", command, arg);
	else
		fprintf(stderr, "imgpipe %s: unknown option %s", command, arg);
	if(best && best_d <= 3 && (arg[1] == '-' || strlen(word) > 1))
		fprintf(stderr, " (did you mean --%s?)", best);
	fprintf(stderr, "\nsee 'imgpipe %s --help'\n", command);
}

/*
 * How AWS Lambda starts a custom runtime: the image's bootstrap (argv[0]
 * "bootstrap"), or an entry point with no arguments and the Runtime API
 * address in the environment.
 */
static bool lambda_start(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *api = imgp_env("AWS_LAMBDA_RUNTIME_API");

	base = base ? base + 1 : argv[0];
	return !strcmp(base, "bootstrap") || (argc < 2 && api && *api);
}

/*
 * How Cloud Run, Knative and Azure Functions (a custom handler) start the
 * same image, whose entrypoint is `imgpipe lambda`: with $PORT or
 * $FUNCTIONS_CUSTOMHANDLER_PORT set and no Runtime API, `imgpipe serve`.
 */
static bool serve_start(int argc, char **argv)
{
	const char *api = imgp_env("AWS_LAMBDA_RUNTIME_API");
	const char *port = imgp_env("PORT");

	if(!port)
		port = imgp_env("FUNCTIONS_CUSTOMHANDLER_PORT");
	return (argc < 2 || (argc == 2 && !strcmp(argv[1], "lambda"))) &&
	       !(api && *api) && port && *port;
}

int main(int argc, char **argv)
{
	if(argc >= 1 && serve_start(argc, argv)) {
		char *args[] = { (char *)"serve", NULL };

		return imgp_cmd_serve(1, args);
	}
	if(argc >= 1 && lambda_start(argc, argv))
		return imgp_cmd_lambda(argc, argv);
	if(argc < 2) {
		usage(stderr);
		return IMGP_EXIT_USAGE;
	}
	if(!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if(!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		char err[IMGP_ERRSIZE];

		if(imgp_render_init(argv[0], 0, err)) {
			fprintf(stderr, "imgpipe: %s\n", err);
			return IMGP_EXIT_USAGE;
		}
		printf("imgpipe %s\n%s\n%s\n", IMGP_VERSION, imgp_render_version(),
		       imgp_render_capabilities());
		imgp_render_shutdown();
		return 0;
	}
	for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if(!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	{
		const char *best = NULL;
		size_t best_d = 3;

		/* rezise: did you mean resize? (--versoin is an option: below) */
		for(size_t i = 0; argv[1][0] != '-' && i < sizeof(commands) / sizeof(commands[0]); i++) {
			size_t d = distance(argv[1], commands[i].name);

			if(d < best_d) {
				best_d = d;
				best = commands[i].name;
			}
		}
		if(argv[1][0] == '-') {
			if(distance(argv[1], "--version") <= 2)
				best = "--version";
			else if(distance(argv[1], "--help") <= 2)
				best = "--help";
		}
		fprintf(stderr, "imgpipe: '%s' is not a command%s%s%s; see 'imgpipe --help'\n", argv[1],
		        best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
	}
	return IMGP_EXIT_USAGE;
}
