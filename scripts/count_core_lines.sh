#!/usr/bin/env bash
# Prints the number of code lines in core/ (C sources, headers and .def tables;
# comments and blank lines excluded) and exits 1 if it is above the budget.
# usage: scripts/count_core_lines.sh [budget]   (default 12000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUDGET="${1:-12000}"

mapfile -t files < <(find "$ROOT/core" -type f \( -name '*.c' -o -name '*.h' -o -name '*.def' \) | sort)
if ((${#files[@]} == 0)); then
  echo "core: 0 code lines (budget $BUDGET)"
  exit 0
fi
# A small lexer: drops /* */ and // comments (outside string and char literals) and counts
# the lines that still hold something other than whitespace.
count=$(awk '
  FNR == 1 { inblock = 0 }
  {
    line = $0; out = ""; i = 1; n = length(line); q = ""
    while (i <= n) {
      c = substr(line, i, 1); c2 = substr(line, i, 2)
      if (inblock) {
        if (c2 == "*/") { inblock = 0; i += 2 } else i++
        continue
      }
      if (q != "") {
        out = out c
        if (c == "\\") { out = out substr(line, i + 1, 1); i += 2; continue }
        if (c == q) q = ""
        i++; continue
      }
      if (c2 == "/*") { inblock = 1; i += 2; continue }
      if (c2 == "//") break
      if (c == "\"" || c == "\047") q = c
      out = out c; i++
    }
    if (out ~ /[^ \t\r]/) code++
  }
  END { print code + 0 }' "${files[@]}")
echo "core: $count code lines in ${#files[@]} files (budget $BUDGET)"
if ((count > BUDGET)); then
  echo "core: over the $BUDGET-line budget" >&2
  exit 1
fi
