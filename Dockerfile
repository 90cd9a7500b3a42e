# Multi-stage build of the `ledger` binary. Not exercised on the project's machines (no Docker engine).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ledger

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 ledger
COPY --from=build /src/target/release/ledger /usr/local/bin/ledger
USER ledger
ENV LEDGER_SERVER__BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["ledger"]
CMD ["serve"]
