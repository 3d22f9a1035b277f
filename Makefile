# imgpipe: hand-written Makefile (redis style: layered flags).
#
#   make                          build/imgpipe
#   make test                     unit + integration tests (Criterion)
#   make SANITIZE=address,undefined test
#   make DEVELOPER=1              warnings are errors
#   make demo                     the README's first command
#   make image                    the Lambda container image, imgpipe:latest
#   make image-test               run it against the Runtime API emulator
#
# Everything lands in $(BUILD); a sanitizer build gets a folder of its own so
# it never mixes objects with the plain one.

OPTIMIZATION ?= -O2
STD = -std=c11 -D_GNU_SOURCE
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wvla -Wwrite-strings -Wformat=2 -Wno-unused-parameter
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

ifneq ($(SANITIZE),)
BUILD ?= build/sanitize
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPTIMIZATION = -O1 -g
else
BUILD ?= build
SAN_FLAGS =
endif

PKGS = vips gmodule-2.0 libjpeg lcms2 libcurl jansson libcrypto libxml-2.0 libmicrohttpd
# pkg-config is asked the first time a recipe needs the answer, then
# remembered: `make test` and `make demo` on a fresh machine install the
# packages (scripts/deps.sh) before anything asks, so the first thing a
# newcomer sees is what is being installed, not pkg-config's complaints.
lazy = $(eval $1 := $$(shell $2))$($1)
PKG_CONFIG ?= pkg-config
PKG_CFLAGS = $(call lazy,PKG_CFLAGS,$(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS = $(call lazy,PKG_LIBS,$(PKG_CONFIG) --libs $(PKGS))
TEST_PKG_CFLAGS = $(call lazy,TEST_PKG_CFLAGS,pkg-config --cflags criterion)
TEST_PKG_LIBS = $(call lazy,TEST_PKG_LIBS,pkg-config --libs criterion)

FINAL_CFLAGS = $(STD) $(WARN) $(OPTIMIZATION) -g $(SAN_FLAGS) -MMD -MP \
               -Isrc $(PKG_CFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
FINAL_LIBS = $(PKG_LIBS) -lpthread -lm $(LIBS)

LIB_SRC := $(wildcard src/*.c)
BIN_SRC := $(wildcard handlers/*.c)
TEST_SRC := $(wildcard tests/test_*.c) $(wildcard tests/lib/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
BIN_OBJ := $(BIN_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

LIB = $(BUILD)/libimgpipe.a
BIN = $(BUILD)/imgpipe
TEST_BIN = $(BUILD)/imgpipe-tests
MKIMAGES = $(BUILD)/imgpipe-mkimages
TESTDATA = $(BUILD)/testdata

# Criterion runs tests in parallel; two jobs match the machine and CI.
TEST_JOBS ?= 2

# Quiet by default (redis style); V=1 shows the commands.
ifneq ($(V),1)
Q = @
QUIET_CC = @printf '    %-6s %s\n' CC $@;
QUIET_LINK = @printf '    %-6s %s\n' LINK $@;
QUIET_AR = @printf '    %-6s %s\n' AR $@;
endif
TEST_ARGS ?=

.PHONY: all deps test check testdata demo demo-run clean image image-test image-test-run

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(FINAL_CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(FINAL_CFLAGS) $(TEST_PKG_CFLAGS) -Itests -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(QUIET_AR)$(AR) rcs $@ $^

$(BIN): $(BIN_OBJ) $(LIB)
	$(QUIET_LINK)$(CC) $(FINAL_LDFLAGS) -o $@ $(BIN_OBJ) $(LIB) $(FINAL_LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(QUIET_LINK)$(CC) $(FINAL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(FINAL_LIBS) $(TEST_PKG_LIBS)

$(MKIMAGES): $(BUILD)/tests/mkimages.o $(LIB)
	$(QUIET_LINK)$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(FINAL_LIBS) -lz

# Test images are made, never downloaded: see tests/mkimages.c.
$(TESTDATA)/.stamp: $(MKIMAGES)
	@rm -rf $(TESTDATA)
	$(MKIMAGES) $(TESTDATA)
	@touch $@

testdata: $(TESTDATA)/.stamp

# --- store tests: s3rver, the S3-compatible server they run on loopback ---
# Installed from the npm registry at the version pinned by the committed
# tests/package-lock.json; `npm ci` runs again whenever the lock file is
# newer than the install (npm ci writes node_modules/.package-lock.json).
TEST_DEPS = tests/node_modules/.package-lock.json

tests/node_modules/.package-lock.json: tests/package.json tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- fuzzing: libFuzzer targets, one per parser outside bytes reach ---
# fuzz/fuzz_*.c, built with clang into build/fuzz/: libimgpipe's sources
# are compiled again with -fsanitize=fuzzer-no-link plus AddressSanitizer
# and UndefinedBehaviorSanitizer (objects of their own, never mixed with
# the gcc ones), and each target is linked with -fsanitize=fuzzer.
#   make fuzz                     every target for FUZZ_SECONDS (60) each
#   make fuzz FUZZ_SECONDS=20     CI's short pass
#   make fuzz FUZZ_TARGETS=fuzz_render
#   make fuzz-build               build only
# Seeds are testdata/fuzz/<target>/, dictionaries fuzz/<target>.dict; the
# growing corpus and any crash land in build/fuzz/ (see scripts/fuzz.sh).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD = build/fuzz
FUZZ_TARGETS ?= $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = $(STD) -O1 -g $(FUZZ_SAN) -MMD -MP -Isrc $(PKG_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-run
# chained rules: keep the objects so a rebuild compiles only what changed
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%.o)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(QUIET_LINK)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FINAL_LIBS)

# clang and its libFuzzer runtime (libclang-rt-*-dev) are needed only here
fuzz-deps: deps
	@./scripts/fuzz-deps.sh

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) ./scripts/fuzz.sh $(FUZZ_TARGETS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%.d)

# --- soak: the full runs of tests/test_soak.c (2,400 invocations of the real
# imgpipe lambda; make test runs 300) and tests/test_errors.c (400 resize
# and 150 handler runs of bad files among good ones on several threads;
# make test runs 40 and 15).
.PHONY: soak
soak: deps
	@IMGPIPE_SOAK=full $(MAKE) --no-print-directory check TEST_ARGS="--filter=soak/*"
	@IMGPIPE_SOAK=full $(MAKE) --no-print-directory check TEST_ARGS="--filter=errors/*"

# `make test` and `make demo` work on a fresh Debian machine: they install
# the missing packages first (scripts/deps.sh), then make the real target in
# a new make, so pkg-config sees the libraries that were just installed.
deps:
	@./scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory check

demo: deps
	@$(MAKE) --no-print-directory demo-run

check: $(BIN) $(TEST_BIN) $(TESTDATA)/.stamp $(TEST_DEPS)
	IMGPIPE_BIN=$(abspath $(BIN)) IMGPIPE_TESTDATA=$(abspath $(TESTDATA)) \
	IMGPIPE_SRCDIR=$(CURDIR) \
	$(TEST_BIN) --jobs=$(TEST_JOBS) $(TEST_ARGS)

# The README's first command: sample upload events through the upload
# handler against the local-folder store; see scripts/demo.py.
demo-run: $(BIN) $(TESTDATA)/.stamp
	@BUILD=$(BUILD) python3 scripts/demo.py

# --- the Lambda container image (Dockerfile) ---
# docker or podman, whichever the machine has (scripts/ctr says loudly when
# it has neither); the base is pulled, or built with debootstrap where no
# registry answers (scripts/image-base.sh), and never pulled by the build.
#
# ARCH=arm64 (or aarch64): the image imgpipe:arm64 and the bundle for Arm,
# cross-compiled here, the runtime stage and every test run through
# qemu-user (scripts/image-deps.sh --arch arm64 sets it up).
HOST_DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
ARCH ?= $(HOST_DEB_ARCH)
DEB_ARCH = $(patsubst x86_64,amd64,$(patsubst aarch64,arm64,$(ARCH)))
DIST_ARCH = $(patsubst amd64,x86_64,$(patsubst arm64,aarch64,$(DEB_ARCH)))
ifeq ($(DEB_ARCH),$(HOST_DEB_ARCH))
IMAGE ?= imgpipe:latest
ARCH_BUILD_ARGS =
else
IMAGE ?= imgpipe:$(DEB_ARCH)
ARCH_BUILD_ARGS = --build-arg CROSS=$(DEB_ARCH) \
	--build-arg RUNTIME_BASE=debian:trixie-slim-$(DEB_ARCH)
endif
IMAGE_TEST = $(BUILD)/imgpipe-image-test
IMAGE_TEST_ARGS ?=

image:
	@scripts/ctr --which >/dev/null
	@scripts/image-deps.sh --arch $(DEB_ARCH)
	@scripts/image-base.sh
	@scripts/image-base.sh --arch $(DEB_ARCH)
	scripts/ctr build $$(test "$$(scripts/ctr --which)" = podman && echo --pull=never) \
		--network=host $(ARCH_BUILD_ARGS) -t $(IMAGE) .
	@scripts/ctr image inspect --format 'imgpipe: $(IMAGE) {{.Size}} bytes, {{.Architecture}}' $(IMAGE)

$(IMAGE_TEST): $(BUILD)/tests/imagetest.o $(filter-out $(BUILD)/tests/lib/manifestcheck.o,$(filter $(BUILD)/tests/lib/%,$(TEST_OBJ))) $(LIB)
	$(QUIET_LINK)$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

image-test: deps
	@$(MAKE) --no-print-directory image-test-run

image-test-run: $(BIN) $(IMAGE_TEST) $(TESTDATA)/.stamp $(TEST_DEPS)
	@scripts/ctr --which >/dev/null
	IMGPIPE_BIN=$(abspath $(BIN)) IMGPIPE_TESTDATA=$(abspath $(TESTDATA)) \
	IMGPIPE_SRCDIR=$(CURDIR) $(IMAGE_TEST) --image $(IMAGE) --arch $(DIST_ARCH) $(IMAGE_TEST_ARGS)

# --- benchmarks (bench/): `make bench`, `make bench QUICK=1`, `make bench-image` ---
# bench/imgpipe-bench.c is imgpipe's side of the benchmark and the floor, linked
# against the library like the handlers; bench/run.py installs the peers,
# fetches the corpus (bench/corpus.sh), runs everything and writes the report
# and plots under bench/results/. Never part of `make test`.
BENCH_BIN = $(BUILD)/imgpipe-bench
BENCH_ARGS ?=
ifeq ($(QUICK),1)
BENCH_ARGS += --quick
endif

$(BENCH_BIN): $(BUILD)/bench/imgpipe-bench.o $(LIB)
	$(QUIET_LINK)$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB) $(FINAL_LIBS)

bench: deps
	@$(MAKE) --no-print-directory bench-run

# $(TEST_DEPS): s3rver, the S3 stand-in the I/O measurement talks to
bench-run: $(BIN) $(BENCH_BIN) $(TEST_DEPS)
	python3 bench/run.py --bin $(BIN) --bench-bin $(BENCH_BIN) $(BENCH_ARGS)

# The same bench inside the production image (imgpipe:latest); see bench/image.sh.
bench-image:
	bench/image.sh $(BENCH_ARGS)

.PHONY: bench bench-run bench-image

# --- the self-contained bundle (Dockerfile, stage dist; scripts/dist.sh) ---
#   make dist        dist/imgpipe-VERSION-linux-ARCH.tar.gz and
#                    dist/imgpipe-VERSION-lambda-ARCH.zip
#   make dist-test   unpack it and run it here, against the host's tests
VERSION := $(shell sed -n 's/^\#define IMGP_VERSION "\(.*\)"/\1/p' src/imgpipe.h)
DIST_TAR = dist/imgpipe-$(VERSION)-linux-$(DIST_ARCH).tar.gz
DIST_TEST = $(BUILD)/dist-test

DIST_IMAGE = imgpipe-dist:$(DIST_ARCH)

dist:
	@scripts/ctr --which >/dev/null
	@scripts/image-deps.sh --arch $(DEB_ARCH)
	@scripts/image-base.sh
	scripts/ctr build $$(test "$$(scripts/ctr --which)" = podman && echo --pull=never) \
		--network=host --target dist --build-arg VERSION=$(VERSION) \
		$(if $(ARCH_BUILD_ARGS),--build-arg CROSS=$(DEB_ARCH)) -t $(DIST_IMAGE) .
	@mkdir -p dist
	@c=$$(scripts/ctr create $(DIST_IMAGE) /bin/true) && \
	 scripts/ctr cp "$$c:/dist/imgpipe-$(VERSION)-linux-$(DIST_ARCH).tar.gz" dist/ && \
	 scripts/ctr cp "$$c:/dist/imgpipe-$(VERSION)-lambda-$(DIST_ARCH).zip" dist/ && \
	 scripts/ctr rm "$$c" >/dev/null
	@ls -l dist/

dist-test: deps
	@$(MAKE) --no-print-directory dist-test-run

# The bundle, unpacked afresh into $(DIST_TEST) (the tests and the bench run
# what make dist made last, never an older unpacking)
define unpack_dist
	@test -f $(DIST_TAR) || { echo "no $(DIST_TAR): run make dist first" >&2; exit 2; }
	@rm -rf $(DIST_TEST) && mkdir -p $(DIST_TEST) && tar -xzf $(DIST_TAR) -C $(DIST_TEST)
endef

dist-test-run: $(BIN) $(IMAGE_TEST) $(TESTDATA)/.stamp $(TEST_DEPS)
	$(unpack_dist)
	IMGPIPE_BIN=$(abspath $(BIN)) IMGPIPE_TESTDATA=$(abspath $(TESTDATA)) \
	IMGPIPE_SRCDIR=$(CURDIR) $(IMAGE_TEST) \
		--bundle $(abspath $(DIST_TEST))/imgpipe-$(VERSION)-linux-$(DIST_ARCH) --arch $(DIST_ARCH) \
		$(IMAGE_TEST_ARGS)

# The bench with the bundle on this host: make bench-dist [QUICK=1]
bench-dist: deps $(TEST_DEPS)
	$(unpack_dist)
	python3 bench/run.py --bundle $(abspath $(DIST_TEST))/imgpipe-$(VERSION)-linux-$(DIST_ARCH) \
		--label host-dist $(BENCH_ARGS)

.PHONY: dist dist-test dist-test-run bench-dist

clean:
	rm -rf build demo-out

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/tests/mkimages.d \
         $(BUILD)/bench/imgpipe-bench.d \
         $(BUILD)/tests/imagetest.d
