# oms in a container: used by docker-compose.yml for the reference warehouse (wms) and
# the HTTP API (api).
FROM rust:1-bookworm AS build
WORKDIR /src
# The build's Debian packages (cmake, libcurl, ... for rdkafka), from the same list the
# scripts use.
COPY scripts/deps scripts/deps
RUN scripts/deps install build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin oms

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libcurl4 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/oms /usr/local/bin/oms
COPY storage /srv/storage
WORKDIR /srv
ENTRYPOINT ["oms"]
