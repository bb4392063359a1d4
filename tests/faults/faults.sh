#!/usr/bin/env bash
# Fault injection for every writer attend has (raw bytes, .npy, safetensors checkpoints, PNG and
# the report folder): SIGKILL a writer that rewrites its target in a loop at random moments (KILLS
# times per writer) and check the target is always one whole version (a folder: every file of the
# same version, nothing else); then a write that hits a file-size limit (a full disk) must fail
# with a message and leave the previous version intact. Temporaries: an interrupted file write
# leaves none (unnamed O_TMPFILE; at most the one in the instant between link and rename); an
# interrupted folder write leaves a temporary folder of attend's pattern, which the next write
# removes once it is older than 10 minutes (tested by ageing them with touch).
set -u
writer=$1; kills=${2:-40}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fails=0; passes=0; injected=0; full=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
same() { if [ -d "$1" ]; then diff -r -q "$1" "$2" >/dev/null 2>&1; else cmp -s "$1" "$2"; fi; }
temps() { find "$1" -maxdepth 1 -name '.*.attend-tmp-??????' | wc -l; }

for kind in bytes npy safetensors png report; do
  work=$dir/$kind; mkdir -p "$work" "$dir/ref-$kind"
  case $kind in
    bytes) name=checkpoint.bin ;; npy) name=array.npy ;; safetensors) name=model.safetensors ;;
    png) name=image.png ;; report) name=report ;;
  esac
  ref0=$dir/ref-$kind/0-$name; ref1=$dir/ref-$kind/1-$name
  "$writer" once $kind "$ref0" 0 && "$writer" once $kind "$ref1" 1 || { fail "$kind: reference write"; continue; }
  same "$ref0" "$ref1" && { fail "$kind: the two versions are identical"; continue; }
  f=$work/$name
  t0=$(date +%s%N)
  "$writer" once $kind "$f" 0  # a previous whole version, so every kill is checked
  ms=$(( ($(date +%s%N) - t0) / 1000000 * 2 )); [ $ms -ge 80 ] || ms=80  # two writes' time, start-up included
  for i in $(seq 1 "$kills"); do
    "$writer" loop $kind "$f" & pid=$!
    d=$((RANDOM * 32768 + RANDOM)); d=$((d % ms + 1))   # before, during and after the first rename
    sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
    kill -9 $pid 2>/dev/null && injected=$((injected+1)); wait $pid 2>/dev/null
    [ -e "$f" ] || { fail "$kind after kill $i: the previous version is gone"; continue; }
    if same "$f" "$ref0" || same "$f" "$ref1"; then passes=$((passes+1)); else
      fail "$kind after kill $i: neither whole version"; [ -d "$f" ] && diff -r -q "$f" "$ref0" | head -3; fi
  done
  # Nothing but the target and attend's own temporaries; file writes leave (almost) none.
  others=$(find "$work" -mindepth 1 -maxdepth 1 ! -name "$name" ! -name '.*.attend-tmp-??????' | wc -l)
  [ "$others" -eq 0 ] && passes=$((passes+1)) || fail "$kind: $others foreign files left beside the target"
  left=$(temps "$work")
  if [ $kind != report ]; then
    [ "$left" -le 2 ] && passes=$((passes+1)) || fail "$kind: $left temporaries left after $kills kills (unnamed temporaries leave none)"
  fi
  # Aged temporaries are removed by the next write; fresh ones (a concurrent writer's) are kept.
  find "$work" -maxdepth 1 -name '.*.attend-tmp-??????' -exec touch -h -d '-20 minutes' {} +
  mkdir -p "$work/.fresh.attend-tmp-Abc123"; touch "$work/.fresh2.attend-tmp-Xyz789"
  "$writer" once $kind "$f" 1
  if [ "$(temps "$work")" -eq 2 ] && [ -e "$work/.fresh.attend-tmp-Abc123" ] && same "$f" "$ref1"; then passes=$((passes+1)); else
    fail "$kind: stale temporaries not cleaned (or fresh ones removed): $(ls -A "$work" | tr '\n' ' ')"; fi
  rm -rf "$work/.fresh.attend-tmp-Abc123" "$work/.fresh2.attend-tmp-Xyz789"
  # Full disk: the write fails with a message, the previous version stays, no temporary is left.
  "$writer" once $kind "$f" 0
  injected=$((injected+1)); full=$((full+1))
  if out=$("$writer" limited $kind "$f" 2>&1); then fail "$kind: write beyond the limit succeeded"
  elif ! same "$f" "$ref0"; then fail "$kind: previous version damaged by the full disk"
  elif ! grep -q "cannot write" <<<"$out"; then fail "$kind: no clear message: $out"
  elif [ "$(temps "$work")" -ne 0 ]; then fail "$kind: the failed write left a temporary"
  else passes=$((passes+1)); fi
done
# CI reads this line for SECURITY.md's counts: faults injected = SIGKILLs delivered mid-write + full disks.
echo "faults: $injected faults injected ($((injected-full)) SIGKILLs mid-write, $full full disks; writers: bytes npy safetensors png report); $passes checks passed, $fails failed"
[ $fails -eq 0 ]
