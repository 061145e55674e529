# Hisaab: build and run the server in a Debian 12 image. Mirrors `make test`'s steps:
# the same scripts/install-deps, the same `make`. No Docker engine runs on the
# development machines, so this file is kept plain and exercised by reading, not by CI.

# --- build stage: the same install script and Makefile as `make test` ---
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN HISAAB_DEPS=build ./scripts/install-deps
COPY . .
RUN make clean && make -j"$(nproc)" all

# --- run stage: shared libraries only, non-root ---
FROM debian:12-slim
COPY --from=build /src/scripts/install-deps /usr/local/lib/hisaab/install-deps
RUN HISAAB_DEPS=libs /usr/local/lib/hisaab/install-deps && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /srv/hisaab --shell /usr/sbin/nologin hisaab
WORKDIR /srv/hisaab
COPY --from=build /src/build/hisaab /src/build/hisaab-etl /usr/local/bin/
COPY --from=build /src/kore.conf ./kore.conf
# Inside a container the server must listen beyond loopback.
RUN sed -i 's/^\(\s*bind\s\+\)127\.0\.0\.1/\10.0.0.0/' kore.conf
COPY --from=build /src/sql ./sql
COPY --from=build /src/data ./data
COPY --from=build /src/assets ./assets
COPY --from=build /src/audio ./audio
# Records waiting for PostgreSQL at shutdown are spooled here (spool_dir) for the next start:
# mount a volume on it so they survive the container.
RUN mkdir -p /srv/hisaab/var/spool && chown -R hisaab /srv/hisaab/var && chmod 700 /srv/hisaab/var/spool
VOLUME /srv/hisaab/var
USER hisaab
# Run stage check of the same configuration test the black-box tests use.
RUN hisaab -t -c /srv/hisaab/kore.conf
# DATABASE_URL and REDIS_URL point at the deployment's Postgres and Redis; secrets
# (DATA_GOV_API_KEY, HISAAB_SECRET) come from the environment, never from the image. The
# server does not start without HISAAB_SECRET (phone numbers are stored as keyed hashes).
ENV HISAAB_SQL_DIR=/srv/hisaab/sql
EXPOSE 8080
CMD ["hisaab", "-c", "/srv/hisaab/kore.conf"]
