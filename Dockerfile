# syntax=docker/dockerfile:1
# Switchboard: one static-ish Rust binary on Debian slim.
#   docker build -t switchboard .        (or: docker compose build switchboard)
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Everything the crate compiles in: sources, migrations (sqlx::migrate!), the web UI
# (rust-embed), benches and examples named in Cargo.toml. .dockerignore keeps target/ out.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin switchboard \
 && install -m 0755 target/release/switchboard /usr/local/bin/switchboard

FROM ${RUNTIME_IMAGE}
# espeak-ng: the offline TTS voice; ca-certificates: HTTPS to chat channels and LLM APIs;
# curl: the container healthcheck.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      espeak-ng ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid switchboard --home-dir /var/lib/switchboard --create-home switchboard
COPY --from=build /usr/local/bin/switchboard /usr/local/bin/switchboard
# The shipped example flows, for `flows check` and as a starting point.
COPY --chown=switchboard:switchboard ivr-flows /usr/share/switchboard/ivr-flows
ENV SWITCHBOARD_LISTEN=0.0.0.0:8080 \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard
USER switchboard
WORKDIR /var/lib/switchboard
VOLUME ["/var/lib/switchboard"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve"]
