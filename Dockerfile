# The AWS Lambda container image of imgpipe: `make image` builds it as
# imgpipe:latest, `make image-test` runs it against the Runtime API emulator
# and s3rver of the tests. See README.md, "The container image".
#
# Stages on Debian trixie: the vips stage builds libvips 8.16 from
# trixie's own source with only the formats imgpipe uses
# (scripts/build-vips.sh: about forty libraries instead of Debian's
# hundred, so a shorter cold start); the build stage compiles imgpipe
# against it; the runtime stage carries only the libraries imgpipe,
# libvips' heif module and libheif's codec plugins really load (the build
# stage asks ldd, scripts/image-runtime.sh).
#
# Where no registry can be reached, scripts/image-base.sh makes
# debian:trixie-slim locally with debootstrap; `make image` then builds
# with --pull=never.
#
# Another architecture (`make image ARCH=arm64`: CROSS=arm64,
# RUNTIME_BASE=debian:trixie-slim-arm64): the vips and build stages stay
# on this machine's architecture and cross-compile with Debian's cross
# toolchain and the target's -dev packages (multiarch); only the runtime
# stage is the target's, its RUN steps through qemu-user, and the image
# is the target's architecture because its base is. (No --platform: with
# podman 4.3 it applies to every stage, FROM --platform notwithstanding.)

ARG BASE=debian:trixie-slim
ARG RUNTIME_BASE=${BASE}

FROM ${BASE} AS vips
# CROSS: the Debian architecture built for, empty for this machine's
ARG CROSS=
ENV CROSS=${CROSS}
# the source packages of the same mirror (deb822 sources, or a sources.list)
RUN if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
      sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources; \
    else sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/src.list; fi \
 && if [ -n "$CROSS" ]; then dpkg --add-architecture "$CROSS"; fi \
 && apt-get update -qq \
 && target() { for p; do printf '%s%s ' "$p" "${CROSS:+:$CROSS}"; done; } \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      gcc g++ make meson ninja-build pkgconf dpkg-dev ca-certificates file \
      ${CROSS:+crossbuild-essential-$CROSS} \
      $(target libglib2.0-dev libexpat1-dev libjpeg62-turbo-dev libspng-dev libpng-dev \
        libwebp-dev libtiff-dev libheif-dev liblcms2-dev libexif-dev libhwy-dev \
        libimagequant-dev zlib1g-dev \
        libheif-plugin-libde265 libheif-plugin-aomenc libheif-plugin-dav1d) >/dev/null
COPY scripts/build-vips.sh scripts/
RUN scripts/build-vips.sh /opt/vips

FROM vips AS build
RUN target() { for p; do printf '%s%s ' "$p" "${CROSS:+:$CROSS}"; done; } \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $(target libc6-dev libcurl4-openssl-dev libjansson-dev libssl-dev libxml2-dev \
        libmicrohttpd-dev) >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENV PKG_CONFIG_PATH=/opt/vips/lib/pkgconfig
WORKDIR /src
COPY Makefile ./
COPY src/ src/
COPY handlers/ handlers/
COPY scripts/target.sh scripts/
COPY scripts/image-runtime.sh scripts/
# -O2 is the Makefile's default; -g goes, the symbols are not shipped
RUN . scripts/target.sh \
 && tmake -j"$(nproc)" OPTIMIZATION=-O2 CFLAGS="-g0 -DNDEBUG" build/imgpipe \
 && "$(tool strip)" build/imgpipe \
 && file build/imgpipe \
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
RUN . scripts/target.sh \
 && tmake -j"$(nproc)" OPTIMIZATION=-O2 CFLAGS="-g0 -DNDEBUG" build/imgpipe-bench \
 && scripts/dist.sh "$VERSION" /dist

FROM ${RUNTIME_BASE}
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
 && ! ldd /usr/local/bin/imgpipe /usr/local/lib/imgpipe/vips-heif.so | grep 'not found' \
 && /usr/local/bin/imgpipe --version | tee /dev/stderr | grep -q '^reads.* heic avif; writes.* avif$' \
 && ln -s imgpipe /usr/local/bin/bootstrap \
 && useradd --system --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin imgpipe

# A long-lived process that allocates and frees an image's worth of memory
# per invocation on libvips' threads: glibc's default per-thread arenas
# keep about 113 MB resident after 200 warm invocations, jemalloc about
# 100 MB, glibc with two arenas about 68 MB at the same speed (README.md,
# "The allocator"). Two arenas it is, and no extra library.
ENV MALLOC_ARENA_MAX=2

# `imgpipe serve` (Cloud Run, Knative, webhooks: the entrypoint runs it
# when $PORT is set and AWS_LAMBDA_RUNTIME_API is not) listens on every
# interface of the container; outside a container it keeps to 127.0.0.1
ENV IMGPIPE_LISTEN=0.0.0.0
EXPOSE 8080

USER 10001
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/imgpipe", "lambda"]
