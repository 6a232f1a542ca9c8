# layerwise as a container image:
#
#     docker build -t layerwise .
#     docker run --rm -v "$PWD:/src" layerwise lint /src
#
# Two stages: the build, with Rust and a C compiler (mimalloc and zstd are C), and the image:
# the stripped binary on distroless's C runtime (glibc, libgcc, CA certificates) and nothing
# else. BuildKit (Docker 23 and later, Podman) for the cache mounts: crates and the target
# folder stay in the builder's cache between builds, out of every layer.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY benches benches
COPY templates templates
COPY fixtures/config fixtures/config
COPY rules rules
COPY src src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked --bin layerwise \
    && cp target/release/layerwise /usr/local/bin/layerwise

FROM gcr.io/distroless/cc-debian12
COPY --from=build /usr/local/bin/layerwise /usr/local/bin/layerwise
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/layerwise"]
CMD ["lint", "."]
