# oms in a container: used by docker-compose.yml for the reference warehouse.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin oms

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libcurl4 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/oms /usr/local/bin/oms
COPY storage /srv/storage
WORKDIR /srv
ENTRYPOINT ["oms"]
