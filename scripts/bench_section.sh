#!/usr/bin/env bash
# bench_section.sh NAME FILE [DOC] replaces the section NAME of DOC (default
# docs/benchmarks.md), between <!-- section: NAME --> and
# <!-- /section: NAME -->, with FILE's text.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 file=$2 doc=${3:-docs/benchmarks.md}
python3 - "$name" "$file" "$doc" <<'PY'
import re, sys
name, file, doc = sys.argv[1:]
body = open(file).read().rstrip("\n")
text = open(doc).read()
start, end = f"<!-- section: {name} -->", f"<!-- /section: {name} -->"
block = f"{start}\n{body}\n{end}"
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
PY
