#!/bin/sh
# bunty-get FILE: offers FILE for download in the bunty page that shows this terminal.
# Installed by the bunty server on every session's PATH (and at $BUNTY_GET). It prints an
# OSC 5379 request with the file's absolute path (base64); the server, which sees the
# terminal's output, checks the file and the page shows a Download button. docs/client.md
set -u
me=bunty-get
if [ "$#" -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $me FILE    offer FILE for download in the bunty page" >&2
  exit 1
fi
f=$1
if [ -d "$f" ]; then echo "$me: $f: is a directory" >&2; exit 1; fi
if [ ! -e "$f" ]; then echo "$me: $f: no such file" >&2; exit 1; fi
if [ ! -f "$f" ]; then echo "$me: $f: not a regular file" >&2; exit 1; fi
if [ ! -r "$f" ]; then echo "$me: $f: not readable" >&2; exit 1; fi
# The absolute path: the directory resolved, the name kept (a link downloads under its own name).
dir=$(CDPATH= cd -P -- "$(dirname -- "$f")" 2>/dev/null && pwd -P) || { echo "$me: $f: cannot resolve its directory" >&2; exit 1; }
name=$(basename -- "$f")
case $dir in
  /) path=/$name ;;
  *) path=$dir/$name ;;
esac
b64=$(printf '%s' "$path" | base64 | tr -d '\n') || { echo "$me: base64 failed" >&2; exit 1; }
if [ "${#b64}" -gt 8000 ]; then echo "$me: $f: path too long" >&2; exit 1; fi
# To the terminal itself, so a redirected stdout does not swallow the request.
if ! { printf '\033]5379;get;%s\007' "$b64" >/dev/tty; } 2>/dev/null; then
  printf '\033]5379;get;%s\007' "$b64"
fi
echo "$me: offered $path for download in the page" >&2
