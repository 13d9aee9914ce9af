#!/usr/bin/env bash
# Regenerates the README's catalog table from LossKit.Catalog (the test ReadmeCatalogTable_MatchesCatalog checks it).
set -euo pipefail
cd "$(dirname "$0")/../.."
table=$(dotnet run --project src/LossKit.Cli -- list --markdown)
python3 - "$table" <<'PY'
import sys
p = 'README.md'
s = open(p, encoding='utf-8').read()
a = s.index('<!-- catalog:begin -->') + len('<!-- catalog:begin -->')
b = s.index('<!-- catalog:end -->')
open(p, 'w', encoding='utf-8').write(s[:a] + '\n' + sys.argv[1] + '\n' + s[b:])
PY
