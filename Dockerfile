# The AWS Lambda container image of imgpipe: `make image` builds it as
# imgpipe:latest, `make image-test` runs it against the Runtime API emulator
# and s3rver of the tests. See README.md, "The container image".
#
# Two stages on Debian trixie (libvips 8.16): the build stage compiles
# imgpipe; the runtime stage carries only the libraries imgpipe, libvips'
# heif module and libheif's codec plugins really load (the build stage asks
# ldd, scripts/image-runtime.sh), not libvips' Debian dependencies
# (ImageMagick, poppler, OpenEXR, ... for modules imgpipe never uses).
#
# Where no registry can be reached, scripts/image-base.sh makes
# debian:trixie-slim locally with debootstrap; `make image` then builds
# with --pull=never.

ARG BASE=debian:trixie-slim

FROM ${BASE} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc make libc6-dev pkg-config dpkg-dev \
      libvips-dev liblcms2-dev libcurl4-openssl-dev libjansson-dev libssl-dev libxml2-dev \
      libheif-plugin-libde265 libheif-plugin-aomenc >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src/ src/
COPY handlers/ handlers/
COPY scripts/image-runtime.sh scripts/
# -O2 is the Makefile's default; -g goes, the symbols are not shipped
RUN make -j"$(nproc)" OPTIMIZATION=-O2 CFLAGS="-g0 -DNDEBUG" build/imgpipe \
 && strip build/imgpipe \
 && scripts/image-runtime.sh build/imgpipe /out

# `make dist`: the same build as a self-contained, relocatable bundle (its
# own loader, libc, libvips and codecs; scripts/dist.sh), and the same
# bundle as a Lambda .zip for provided.al2023. Only built when asked for
# (--target dist); the image below does not depend on it.
FROM build AS dist
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zip >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY bench/imgpipe-bench.c bench/
COPY scripts/dist.sh scripts/
ARG VERSION=0
RUN make -j"$(nproc)" OPTIMIZATION=-O2 CFLAGS="-g0 -DNDEBUG" build/imgpipe-bench \
 && scripts/dist.sh "$VERSION" /dist

FROM ${BASE}
# more Debian packages, for measurements: --build-arg EXTRA_PACKAGES=libjemalloc2
ARG EXTRA_PACKAGES=
COPY --from=build /out/packages /tmp/imgpipe-packages
# ca-certificates: S3 over HTTPS
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates $(cat /tmp/imgpipe-packages) ${EXTRA_PACKAGES} >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* /tmp/imgpipe-packages
COPY --from=build /out/root/ /
RUN ldconfig \
 && ! ldd /usr/local/bin/imgpipe /usr/lib/*/vips-modules-*/vips-heif.so | grep 'not found' \
 && /usr/local/bin/imgpipe --version | tee /dev/stderr | grep -q '^reads.* heic avif; writes.* avif$' \
 && ln -s imgpipe /usr/local/bin/bootstrap \
 && useradd --system --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin imgpipe

# A long-lived process that allocates and frees an image's worth of memory
# per invocation on libvips' threads: glibc's default per-thread arenas
# keep about 113 MB resident after 200 warm invocations, jemalloc about
# 100 MB, glibc with two arenas about 68 MB at the same speed (README.md,
# "The allocator"). Two arenas it is, and no extra library.
ENV MALLOC_ARENA_MAX=2

USER 10001
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/imgpipe", "lambda"]
