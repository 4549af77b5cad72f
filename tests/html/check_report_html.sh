#!/usr/bin/env bash
# Renders report.html in real headless Chromium and checks what a person
# would see:
#   - one grid cell with a data-code attribute per result in report.json;
#   - the page's own script ran (body[data-ready="1"]) but nothing a guest
#     printed did: the title is unchanged, no data-pwned attribute on <body>,
#     no <img> or <script>alert(1)</script> element in the DOM;
#   - opening a result by its fragment (#rN, what a click does) shows its
#     scenario's stdout, with the guest's <script> as text, and a link to the
#     cell's console log;
#   - a screenshot of that view is left in OUT_DIR as an artefact.
# usage: check_report_html.sh REPORT.html REPORT.json OUT_DIR
# Exits 77 (ctest: skipped) when no Chromium is installed.
set -euo pipefail

html=$(realpath "$1")
json=$2
out=$3
mkdir -p "$out"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "check_report_html: no chromium installed (Debian package 'chromium'); skipping"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "check_report_html: FAIL: $*" >&2
  [ -s "$work/chromium.log" ] && { echo "--- chromium stderr (last lines):" >&2; tail -n 20 "$work/chromium.log" >&2; }
  exit 1
}

# A fresh profile per run, and nothing that reaches the network.
run_chromium() {
  local profile
  profile=$(mktemp -d "$work/profile.XXXXXX")
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-default-apps \
    --user-data-dir="$profile" "$@" 2>>"$work/chromium.log"
}

run_chromium --dump-dom "file://$html" >"$work/dom.html" || fail "chromium --dump-dom failed"
[ -s "$work/dom.html" ] || fail "empty DOM dump"

# report.json is pretty-printed with one "check" member per result; JSON
# escapes quotes inside strings, so guest text cannot add to the count.
expected=$(grep -c '"check":' "$json")
cells=$(grep -o 'data-code="[A-Z]*"' "$work/dom.html" | wc -l)
[ "$cells" -eq "$expected" ] || fail "$cells grid cells with data-code, report.json has $expected results"
[ "$expected" -gt 0 ] || fail "no results in $json"

body=$(grep -o '<body[^>]*>' "$work/dom.html" | head -n 1)
[[ "$body" == *'data-ready="1"'* ]] || fail "the page's own script did not run: $body"
[[ "$body" != *data-pwned* ]] || fail "a script from guest output ran: $body"
title=$(grep -o '<title>[^<]*</title>' "$work/dom.html" | head -n 1)
[ "$title" = "<title>archmatrix report</title>" ] || fail "title changed: $title"
! grep -qF '<script>alert(1)</script>' "$work/dom.html" || fail "guest <script> is an element"
! grep -q '<img' "$work/dom.html" || fail "guest <img> is an element"
[ "$(grep -o '<script' "$work/dom.html" | wc -l)" -eq 1 ] || fail "more than the page's own <script>"

# The result whose scenario printed the <script>: the scenario template that
# holds the text, then the first result template pointing at it.
scenario=$(awk '/<template id="s[0-9]+-[0-9]+">/ { match($0, /id="s[0-9]+-[0-9]+"/); id = substr($0, RSTART + 4, RLENGTH - 5) }
                /&lt;script&gt;alert\(1\)/ { print id; exit }' "$html")
[ -n "$scenario" ] || fail "no scenario output with <script>alert(1)</script> in $html"
ref=$(grep -o "<template id=\"r[0-9]*\" data-scn=\"$scenario\"" "$html" | head -n 1 | sed 's/.*id="\(r[0-9]*\)".*/\1/')
[ -n "$ref" ] || fail "no result of scenario template $scenario"

run_chromium --dump-dom "file://$html#$ref" >"$work/open.html" || fail "chromium --dump-dom #$ref failed"
# The open panel: from <section id="detail"> to its </section>, as one line.
panel=$(tr '\n' ' ' <"$work/open.html" | grep -o '<section id="detail"[^>]*>.*</section>' | sed 's|</section>.*||')
[ -n "$panel" ] || fail "no detail panel in the DOM"
[[ "$panel" != '<section id="detail" hidden'* ]] || fail "#$ref did not open the detail panel"
[[ "$panel" == *'&lt;script&gt;alert(1)&lt;/script&gt;'* ]] || fail "the panel does not show the guest's <script> as text"
[[ "$panel" == *'href="cells/'*'/console.log"'* ]] || fail "the panel has no console log link"
grep -q "<td class=\"r [A-Z]* sel\" data-code=\"[A-Z]*\" data-ref=\"$ref\"" "$work/open.html" ||
  fail "the opened result is not marked in the grid"
open_body=$(grep -o '<body[^>]*>' "$work/open.html" | head -n 1)
[[ "$open_body" != *data-pwned* ]] || fail "a script from guest output ran when its output was shown: $open_body"

rm -f "$out/report-html.png"
(cd "$work" && run_chromium --window-size=1400,1600 --screenshot="$out/report-html.png" "file://$html#$ref" >/dev/null) ||
  fail "chromium --screenshot failed"
[ "$(head -c 8 "$out/report-html.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "the screenshot is not a PNG"

echo "check_report_html: $cells grid cells; guest script not run; #$ref shows the output as text;" \
  "screenshot $out/report-html.png"
