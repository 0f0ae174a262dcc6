# bunty in a container: a web terminal on port 7681, a shell as an unprivileged user.
#
#   docker build -t bunty .
#   docker build --build-arg BUNTY_COMMIT=$(git rev-parse --short HEAD) -t bunty .   (so --version names the commit)
#   docker run -d --name bunty -p 127.0.0.1:7681:7681 bunty
#   docker logs bunty        # the URL line with the token: open it with 127.0.0.1 in place of 0.0.0.0
#
# The image is for the architecture of the machine that builds it (npm ci installs Bun for that
# architecture and `npm run build` compiles for the host). See README.md, "Docker".

# --- Stage 1: build the single executable. Bun is a devDependency, so Node and npm are all it takes.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first: this layer is reused until package.json or package-lock.json change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# .git is not in the build context (see .dockerignore), so scripts/build.ts cannot ask git for the
# commit; pass it in, or the binary reports "unknown".
ARG BUNTY_COMMIT=
RUN BUNTY_COMMIT="$BUNTY_COMMIT" npm run build && ./dist/bunty --version

# --- Stage 2: the runtime. The executable needs only glibc; the rest is for the terminal's user.
FROM debian:bookworm-slim
# tini: PID 1. bunty waits for its own children and ends every process of a session, but a
#   process that detaches (a double fork, `setsid cmd &`) is re-parented to PID 1, and only an
#   init reaps it; without one such zombies pile up. tini also forwards SIGTERM from `docker stop`
#   to bunty, which then ends its sessions and exits 0 within a few seconds.
# ca-certificates: TLS from inside the shell (git, curl, package managers the user adds).
# bash is Essential in Debian (already there); listed so the image does not depend on that.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
# The shell runs as this user, not root. It owns nothing outside its home; the binary stays root's.
RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash bunty
COPY --from=build /app/dist/bunty /usr/local/bin/bunty
# C.UTF-8 is built into glibc: without a UTF-8 locale, bash and readline mangle non-ASCII input.
# SHELL is the command when `docker run IMAGE [options]` replaces CMD without naming one.
ENV LANG=C.UTF-8 SHELL=/bin/bash
USER bunty
WORKDIR /home/bunty
EXPOSE 7681
# All interfaces: inside a container, 127.0.0.1 is unreachable through a published port.
# Authentication stays on: a random token, printed in the URL line (`docker logs`); set a fixed
# one with -e BUNTY_TOKEN=... (at least 8 characters; the shell does not see it).
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/bunty", "-i", "0.0.0.0"]
CMD ["--", "bash", "-l"]
