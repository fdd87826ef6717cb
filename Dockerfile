# upcheck's container image: `docker build -t upcheck:0.1.0 .` (deploy/ runs it as
# `upcheck serve`). Built by your CI; nothing here is pushed anywhere.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p scanner-cli \
 && install -D -m 0755 target/release/upcheck /out/upcheck

# Distroless: the C runtime the binary links against and nothing else (no shell); runs as
# the image's non-root user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/upcheck /usr/local/bin/upcheck
USER 65532:65532
EXPOSE 8397
ENTRYPOINT ["/usr/local/bin/upcheck"]
CMD ["serve"]
