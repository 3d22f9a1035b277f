/*
 * test_browser.c: the demo page in a real browser. `make demo`'s page is
 * what a front-end developer would copy: each upload as a <picture> built
 * from its manifest. Here scripts/demo.py writes it into a scratch folder,
 * Python's http.server serves that folder on 127.0.0.1, and Debian's
 * chromium, headless, loads it in a frame 400 CSS px wide at a device pixel
 * ratio of 2 (headless chromium will not make its window narrower than 500
 * px; a frame has its own viewport). The page lists what the browser loaded
 * for every image (#check); the test holds it to: no broken image, and the
 * hero picture (sizes says 100vw below 640 px) loading the 800w variant,
 * which is what 400 px at 2x needs. A screenshot stays in the build folder.
 *
 * Without chromium (scripts/deps.sh installs it where it can), the test
 * says so and is skipped.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testutil.h"

static char *scratch;

static void setup(void)
{
	scratch = tu_tempdir();
}

static void teardown(void)
{
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(browser, .init = setup, .fini = teardown, .timeout = 180);

static const char *chromium(void)
{
	static const char *const names[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser",
	                                     "/usr/bin/google-chrome", NULL };

	for(int i = 0; names[i]; i++)
		if(access(names[i], X_OK) == 0)
			return names[i];
	return NULL;
}

/* The frame, 400 px wide, and its #check copied out where --dump-dom shows it. */
static const char frame_page[] =
	"<!doctype html><meta charset=utf-8><body style='margin:0'>"
	"<iframe id=f src='index.html#check' width=400 height=1200 style='border:0'></iframe>"
	"<script>"
	"const f = document.getElementById('f');"
	"f.addEventListener('load', () => {"
	"  const copy = () => {"
	"    const pre = f.contentDocument.getElementById('check');"
	"    if (!pre) return setTimeout(copy, 50);"
	"    const out = document.createElement('pre');"
	"    out.id = 'result'; out.textContent = pre.textContent; document.body.append(out);"
	"  };"
	"  copy();"
	"});"
	"</script>";

Test(browser, the_demo_page_picks_the_800w_variant_at_400px_2x_and_nothing_is_broken)
{
	const char *browser = chromium();
	char *script, *out = NULL, *err = NULL, *frame, *url, *profile, *shot, *start, *end;
	const char *demo[] = { "/usr/bin/env", "python3", NULL, NULL };
	json_t *doc, *images, *hero = NULL;
	json_error_t jerr;
	int port, broken = 0;
	pid_t server;

	if(!browser)
		cr_skip_test("chromium is not installed (scripts/deps.sh installs it where it can): "
		             "the demo page is not tested in a browser here");
	cr_assert(asprintf(&script, "%s/scripts/demo.py", tu_srcdir()) > 0);
	demo[2] = script;
	setenv("DEMO_OUT", scratch, 1);
	cr_assert_eq(tu_run(demo, &out, &err), 0, "demo failed: %s %s", out, err);
	free(out);
	free(err);
	cr_assert(asprintf(&frame, "%s/frame.html", scratch) > 0);
	cr_assert(tu_write(frame, frame_page, strlen(frame_page)));

	/* the page's own server, loopback only */
	port = tu_free_port();
	cr_assert_gt(port, 0, "no free loopback port");
	server = fork();
	cr_assert_geq(server, 0);
	if(server == 0) {
		char p[16];

		snprintf(p, sizeof(p), "%d", port);
		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1",
		       "--directory", scratch, p, (char *)NULL);
		_exit(127);
	}
	for(int i = 0; i < 100; i++) {     /* up within 5 s */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

		close(fd);
		if(ok)
			break;
		usleep(50 * 1000);
	}
	cr_assert(asprintf(&url, "http://127.0.0.1:%d/frame.html", port) > 0);
	cr_assert(asprintf(&profile, "--user-data-dir=%s/profile", scratch) > 0);
	{
		const char *argv[] = { browser, "--headless=new", "--no-sandbox", "--disable-gpu",
			"--no-first-run", "--disable-extensions", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--metrics-recording-only",
			profile, "--window-size=500,1300", "--force-device-scale-factor=2",
			"--virtual-time-budget=15000", "--dump-dom", url, NULL };

		out = err = NULL;
		cr_assert_eq(tu_run(argv, &out, &err), 0, "chromium failed: %s", err);
	}
	/* a screenshot of it, kept for people */
	/* beside the build's test data: build/browser-demo-400px-2x.png */
	cr_assert(asprintf(&shot, "--screenshot=%s/../browser-demo-400px-2x.png",
	                   getenv("IMGPIPE_TESTDATA") ? getenv("IMGPIPE_TESTDATA") : scratch) > 0);
	{
		const char *argv[] = { browser, "--headless=new", "--no-sandbox", "--disable-gpu",
			"--no-first-run", "--disable-extensions", profile, "--window-size=500,1300",
			"--force-device-scale-factor=2", "--virtual-time-budget=15000", shot, url, NULL };
		char *o2 = NULL, *e2 = NULL;

		cr_expect_eq(tu_run(argv, &o2, &e2), 0, "screenshot: %s", e2);
		cr_log_info("screenshot: %s", shot + strlen("--screenshot="));
		free(o2);
		free(e2);
	}
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);

	start = strstr(out, "<pre id=\"result\">");
	cr_assert(start, "the page never listed its images (no #result): %.300s", out);
	start += strlen("<pre id=\"result\">");
	end = strstr(start, "</pre>");
	cr_assert(end);
	*end = '\0';
	doc = json_loads(start, 0, &jerr);
	cr_assert(doc, "the page's list is not JSON: %s: %.200s", jerr.text, start);
	cr_assert_eq(json_integer_value(json_object_get(doc, "width")), 400,
	             "the frame's viewport is not 400 px: %s", start);
	cr_assert_eq(json_number_value(json_object_get(doc, "dpr")), 2.0);
	images = json_object_get(doc, "images");
	cr_assert_geq(json_array_size(images), 28, "only %zu images", json_array_size(images));
	for(size_t i = 0; i < json_array_size(images); i++) {
		json_t *im = json_array_get(images, i);

		if(!json_is_true(json_object_get(im, "complete")) ||
		   json_integer_value(json_object_get(im, "natural")) <= 0) {
			cr_log_error("broken image: %s", json_string_value(json_object_get(im, "src")));
			broken++;
		}
		if(!hero && json_is_true(json_object_get(im, "hero")))
			hero = im;
	}
	cr_assert_eq(broken, 0, "%d images did not load", broken);
	cr_assert(hero, "no <picture> on the page");
	/* the first upload, photos/landscape.jpg: 320w, 800w and 1600w in WebP
	 * and JPEG; 400 px at 2x wants 800 */
	cr_assert(strstr(json_string_value(json_object_get(hero, "current")),
	                 "/medium/photos/landscape."), "at 400 px and 2x the browser chose %s",
	          json_string_value(json_object_get(hero, "current")));
	/* a srcset candidate's natural width is its w over its density: 800w
	 * for a 400 px slot is 2x, so 400 */
	cr_assert_eq(json_integer_value(json_object_get(hero, "natural")), 400);
	cr_log_info("400 px at 2x: %s", json_string_value(json_object_get(hero, "current")));
	json_decref(doc);
	free(out); free(err); free(url); free(profile); free(shot); free(frame); free(script);
}
