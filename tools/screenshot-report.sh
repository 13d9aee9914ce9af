#!/usr/bin/env bash
# Renders the loss lab's report (lab-report/index.html by default) to a PNG with headless Chromium.
#
#   tools/screenshot-report.sh [REPORT_HTML] [OUT_PNG] [HEIGHT]
#
# REPORT_HTML  default lab-report/index.html
# OUT_PNG      default lab-report/screenshot.png
# HEIGHT       window height in pixels (default: estimated from the report's length; the page is 1400 px wide)
#
# Installs Chromium with apt-get when /usr/bin/chromium is missing. Runs offline: no network, no first-run, no sync.
set -euo pipefail

report="${1:-lab-report/index.html}"
out="${2:-lab-report/screenshot.png}"
height="${3:-}"

if [[ ! -f "$report" ]]; then
    echo "error: report '$report' not found (run: dotnet run -c Release --project src/LossKit.Cli -- lab)" >&2
    exit 1
fi

chromium="/usr/bin/chromium"
if [[ ! -x "$chromium" ]]; then
    echo "installing chromium..." >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
fi

if [[ -z "$height" ]]; then
    # The report carries its own estimate of the rendered height (meta losskit-page-height); fall back to a rough count.
    height=$(grep -o 'name="losskit-page-height" content="[0-9]*"' "$report" | grep -o '[0-9]*' | head -1 || true)
    if [[ -z "$height" ]]; then
        charts=$(grep -o '<figure>' "$report" | wc -l)
        rows=$(grep -o '<tr>' "$report" | wc -l)
        items=$(grep -o '<li>' "$report" | wc -l)
        height=$(( 600 + charts * 420 + rows * 30 + items * 28 ))
    fi
fi

abs_report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$abs_out" --window-size="1400,$height" "file://$abs_report" >/dev/null 2>&1

if [[ ! -s "$abs_out" ]]; then
    echo "error: chromium wrote no screenshot to $abs_out" >&2
    exit 1
fi

echo "wrote $out (1400 x $height)"
