#!/usr/bin/env bash
# Mutation testing with Stryker.NET over chosen files of src/LossKit, one area at a time, then a summary table.
# Not part of CI (.ci/run): a run takes minutes per file. docs/TESTING.md says when to run it and how to judge survivors.
#
#   tools/mutation.sh                      # the default areas (see AREAS below)
#   tools/mutation.sh matcher regression   # named areas
#   tools/mutation.sh --mutate 'Criteria/BoxCoder.cs' --filter 'FullyQualifiedName~LossKit.Tests.Criteria.BoxCoder'
#   tools/mutation.sh --list               # the areas, their files and test filters
#   tools/mutation.sh --summary DIR...     # the table again from earlier runs' reports
#   tools/mutation.sh --commit 96f3627 matcher   # measure a commit instead of the working tree (a "before" score)
#   tools/mutation.sh --together regression focal   # one Stryker run for several areas (one build, one initial
#                                          # test run; each mutant still runs only the tests that cover it)
#
# Files are globs relative to src/LossKit (Stryker's '**/' is prepended), so a renamed or split file only needs its
# area's glob to still match; a glob may end in Stryker's line spans, e.g. 'Detection/Focal.cs{1..200}'.
# Settings for a small shared machine: concurrency 1, perTest coverage (each mutant runs only the tests that reach
# it), a test filter per area, nice -n 15. Stryker runs on a snapshot of the working tree ($MUTATION_OUT/tree, the
# files git tracks or would track), so building and editing here can go on during a run; the summary names the
# commit of the snapshot and whether it had uncommitted changes. Output: $MUTATION_OUT (default
# /tmp/losskit-mutation)/<area>/ and summary.md there. Stryker 5.1.0 is installed into $STRYKER_HOME (default
# /tmp/stryker) if missing. Environment: MUTATION_CONCURRENCY (1), MUTATION_LEVEL (Standard).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

STRYKER_VERSION=5.1.0
STRYKER_HOME=${STRYKER_HOME:-/tmp/stryker}
OUT=${MUTATION_OUT:-/tmp/losskit-mutation}
CONCURRENCY=${MUTATION_CONCURRENCY:-1}
LEVEL=${MUTATION_LEVEL:-Standard}
COMMIT=""
T=LossKit.Tests

# area | globs (space-separated, relative to src/LossKit) | dotnet test filter
AREAS=(
  "matcher|Criteria/Matcher.cs|FullyQualifiedName~$T.Criteria.Matcher|FullyQualifiedName~$T.Criteria.CriteriaReferenceTests.Matcher|FullyQualifiedName~$T.ErrorMessageTests.Matcher"
  "reduction|Reduction.cs|FullyQualifiedName~$T.Reduction|FullyQualifiedName~$T.ElementwiseLossTests|FullyQualifiedName~$T.Classification.KLDivergenceTests|FullyQualifiedName~$T.ErrorMessageTests"
  "regression|Regression/*.cs|FullyQualifiedName~$T.Regression|FullyQualifiedName~$T.ErrorMessageTests.Regression"
  "focal|Detection/Focal.cs|FullyQualifiedName~$T.Detection.Focal|FullyQualifiedName~$T.Detection.DetectionReferenceTests.Focal|FullyQualifiedName~$T.ErrorMessageTests.Focal"
  "boxcoder|Criteria/BoxCoder.cs|FullyQualifiedName~$T.Criteria.BoxCoder|FullyQualifiedName~$T.Criteria.CriteriaReferenceTests.BoxCoder|FullyQualifiedName~$T.ErrorMessageTests.BoxCoder"
  "sampler|Criteria/*Sampl*.cs|FullyQualifiedName~$T.Criteria.Sampler"
  "boxops|Detection/BoxOps.cs Detection/BoxFormat.cs|FullyQualifiedName~$T.Detection.BoxOps|FullyQualifiedName~$T.Detection.BoxLoss|FullyQualifiedName~$T.ErrorMessageTests"
  "throwhelper|Internal/ThrowHelper.cs|FullyQualifiedName~$T.ErrorMessageTests|FullyQualifiedName~$T.Criteria.Matcher|FullyQualifiedName~$T.Reduction"
  "classification|Classification/*.cs|FullyQualifiedName~$T.Classification|FullyQualifiedName~$T.ErrorMessageTests"
  "iou|Detection/IoULosses.cs Detection/BoxRegressionLoss.cs Detection/Kernels/*.cs|FullyQualifiedName~$T.Detection.BoxLoss|FullyQualifiedName~$T.Detection.DetectionReferenceTests|FullyQualifiedName~$T.Detection.ObsoleteNames"
  "qualityfocal|Detection/QualityFocal.cs Detection/Varifocal.cs Detection/DistributionFocal.cs|FullyQualifiedName~$T.Detection.Focal|FullyQualifiedName~$T.Detection.DetectionReferenceTests|FullyQualifiedName~$T.Detection.QualityFocal|FullyQualifiedName~$T.Detection.Varifocal|FullyQualifiedName~$T.Detection.DistributionFocal"
  "metric|MetricLearning/*.cs|FullyQualifiedName~$T.MetricLearning|FullyQualifiedName~$T.ErrorMessageTests"
  "criteria|Criteria/FastRcnnLoss.cs Criteria/RpnLoss.cs Criteria/RetinaNetLoss.cs Criteria/YoloV3Loss*.cs Criteria/CriterionWorkspace.cs Criteria/FasterRcnnCriterion.cs Criteria/YoloV3UltralyticsOptions.cs|FullyQualifiedName~$T.Criteria|FullyQualifiedName~$T.ErrorMessageTests|FullyQualifiedName~$T.Registry.CriteriaRegistryTests"
  "kernels|Internal/RowMath.cs Internal/VMath.cs Internal/Pointwise.cs Internal/RowDriver.cs|FullyQualifiedName~$T.Internal|FullyQualifiedName~$T.Classification|FullyQualifiedName~$T.Regression|FullyQualifiedName~$T.MetricLearning|FullyQualifiedName~$T.Detection"
  "gemm|Internal/Gemm.cs Internal/Quads.cs Internal/Dual.cs Internal/SimdTier.cs Internal/WorkPool.cs LossKitSettings.cs|FullyQualifiedName~$T.Internal|FullyQualifiedName~$T.MetricLearning|FullyQualifiedName~$T.Detection.BoxLoss|FullyQualifiedName~$T.Detection.BoxOps|FullyQualifiedName~$T.Detection.DetectionReferenceTests|FullyQualifiedName~$T.Fuzz.LossFuzzThreadTests"
  "registry|Registry/*.cs Catalog.cs|FullyQualifiedName~$T.Registry|FullyQualifiedName~$T.ErrorMessageTests|FullyQualifiedName~$T.Cli.ListCommandTests|FullyQualifiedName~$T.Cli.EvalCommandTests|FullyQualifiedName~$T.Cli.EvalParserTests"
  "layouts|ElementwiseLoss.cs ClassIndexLoss.cs Layouts/*Call.cs Layouts/*Layout.cs Layouts/EntryPoints.cs Layouts/DenseClassIndex.cs|FullyQualifiedName~$T.ElementwiseLossTests|FullyQualifiedName~$T.ClassIndexLossTests|FullyQualifiedName~$T.Classification.DenseClassIndexTests|FullyQualifiedName~$T.Registry|FullyQualifiedName~$T.ErrorMessageTests|FullyQualifiedName~$T.ReductionContractTests|FullyQualifiedName~$T.Detection.DenseFocalContractTests|FullyQualifiedName~$T.HalfPrecision|FullyQualifiedName~$T.Fuzz.LossFuzzTests|FullyQualifiedName~$T.Criteria.CriteriaTests|FullyQualifiedName~$T.Layouts|FullyQualifiedName~$T.Classification|FullyQualifiedName~$T.Regression|FullyQualifiedName~$T.Detection|FullyQualifiedName~$T.MetricLearning|FullyQualifiedName~$T.Cli.EvalCommandTests|FullyQualifiedName~$T.Cli.EvalParserTests"
)
DEFAULT_AREAS=(matcher reduction regression focal)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

list_areas() {
  local a
  for a in "${AREAS[@]}"; do
    IFS='|' read -r name globs filter <<<"$a"
    printf '%-12s %s\n%-12s   tests: %s\n' "$name" "$globs" "" "${a#*|*|}"
  done
}

# snapshot: copy the files git tracks or would track into $OUT/tree; record the commit for the summary.
snapshot() {
  local tree="$OUT/tree"
  rm -rf "$tree"
  mkdir -p "$tree"
  if [[ -n $COMMIT ]]; then
    git archive "$COMMIT" | tar -xf - -C "$tree"
    git rev-parse --short "$COMMIT" >"$OUT/commit"
    return
  fi
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [[ -f $f ]]; then printf '%s\0' "$f"; fi
  done | tar --null -T - -cf - | tar -xf - -C "$tree"
  local commit dirty=""
  commit=$(git rev-parse --short HEAD)
  [[ -z $(git status --porcelain) ]] || dirty=" (+ uncommitted changes)"
  echo "$commit$dirty" >"$OUT/commit"
}

ensure_stryker() {
  if [[ ! -x "$STRYKER_HOME/dotnet-stryker" ]]; then
    echo "== installing dotnet-stryker $STRYKER_VERSION into $STRYKER_HOME"
    dotnet tool install dotnet-stryker --version "$STRYKER_VERSION" --tool-path "$STRYKER_HOME" >/dev/null
  fi
}

# run_area NAME "GLOBS" FILTER: one Stryker run, report in $OUT/NAME/reports/mutation-report.json.
run_area() {
  local name=$1 globs=$2 filter=$3 dir="$OUT/$1" mutate="" g
  for g in $globs; do
    mutate+="${mutate:+,}\"**/${g#src/LossKit/}\""
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$OUT/commit" "$dir/commit"
  cat >"$dir/stryker-config.json" <<EOF
{
  "stryker-config": {
    "project": "LossKit.csproj",
    "test-projects": ["$OUT/tree/tests/LossKit.Tests/LossKit.Tests.csproj"],
    "mutate": [$mutate],
    "test-case-filter": "$filter",
    "coverage-analysis": "perTest",
    "concurrency": $CONCURRENCY,
    "mutation-level": "$LEVEL",
    "additional-timeout": 10000,
    "reporters": ["json", "progress"],
    "thresholds": { "high": 85, "low": 70, "break": 0 }
  }
}
EOF
  echo "== mutation: $name ($globs)"
  echo "   tests: $filter"
  local start=$SECONDS
  (cd "$OUT/tree/tests/LossKit.Tests" && nice -n 15 "$STRYKER_HOME/dotnet-stryker" --config-file "$dir/stryker-config.json" \
    --output "$dir" --skip-version-check) >"$dir/stryker.log" 2>&1 || {
    echo "   Stryker failed; last lines of $dir/stryker.log:" >&2
    tail -n 30 "$dir/stryker.log" >&2
    return 1
  }
  echo "   done in $((SECONDS - start)) s"
}

# summary DIR...: per-file table (and the survivors, one line each) from the reports under DIR.
summary() {
  /usr/bin/env python3 - "$@" <<'PY'
import json, pathlib, sys, datetime
rows, survivors, commits = {}, [], set()
for d in sys.argv[1:]:
    meta = pathlib.Path(d) / "commit"
    if meta.exists():
        commits.add(meta.read_text().strip())
    for report in sorted(pathlib.Path(d).rglob("mutation-report.json")):
        data = json.loads(report.read_text())
        for path, f in data["files"].items():
            rel = path[path.find("src/LossKit/"):] if "src/LossKit/" in path else path
            c = rows.setdefault(rel, {})
            for m in f["mutants"]:
                c[m["status"]] = c.get(m["status"], 0) + 1
                if m["status"] in ("Survived", "NoCoverage"):
                    loc = m["location"]["start"]
                    survivors.append(f'{rel}:{loc["line"]} {m["status"]} {m["mutatorName"]}: {m.get("replacement", "").strip()[:90]}')
print(f"Summarised {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; measured on commit {', '.join(sorted(commits)) or '?'}.\n")
print("| file | killed | timeout | survived | no coverage | compile error | score |")
print("|---|---:|---:|---:|---:|---:|---:|")
for rel in sorted(rows):
    c = rows[rel]
    k, t, s, n, e = (c.get(x, 0) for x in ("Killed", "Timeout", "Survived", "NoCoverage", "CompileError"))
    scored = k + t + s + n
    if scored == 0:
        continue
    score = f"{100 * (k + t) / scored:.0f} %" if scored else "n/a"
    print(f"| {rel} | {k} | {t} | {s} | {n} | {e} | {score} |")
if survivors:
    print("\nSurvivors:")
    for s in survivors:
        print("- " + s)
PY
}

main() {
  local areas=() mutate=() filter="" a together=""
  while (($#)); do
    case $1 in
      -h|--help) usage ;;
      --list) list_areas; exit 0 ;;
      --summary) shift; summary "$@"; exit 0 ;;
      --mutate) mutate+=("$2"); shift 2 ;;
      --filter) filter=$2; shift 2 ;;
      --commit) COMMIT=$2; shift 2 ;;
      --together) together=1; shift ;;
      -*) echo "unknown option $1" >&2; usage 2 ;;
      *) areas+=("$1"); shift ;;
    esac
  done

  ensure_stryker
  mkdir -p "$OUT"
  snapshot
  local dirs=()
  if ((${#mutate[@]})); then
    [[ -n $filter ]] || { echo "--mutate needs --filter (a focused dotnet test filter)" >&2; exit 2; }
    run_area custom "${mutate[*]}" "$filter"
    dirs+=("$OUT/custom")
  else
    ((${#areas[@]})) || areas=("${DEFAULT_AREAS[@]}")
    local all_globs="" all_filters=""
    for name in "${areas[@]}"; do
      local found=""
      for a in "${AREAS[@]}"; do
        if [[ ${a%%|*} == "$name" ]]; then
          found=$a
        fi
      done
      [[ -n $found ]] || { echo "unknown area '$name' (tools/mutation.sh --list)" >&2; exit 2; }
      IFS='|' read -r _ globs _ <<<"$found"
      if [[ -n $together ]]; then
        all_globs+="${all_globs:+ }$globs"
        all_filters+="${all_filters:+|}${found#*|*|}"
      else
        run_area "$name" "$globs" "${found#*|*|}"
        dirs+=("$OUT/$name")
      fi
    done
    if [[ -n $together ]]; then
      local joined
      joined=$(IFS=+; echo "${areas[*]}")
      run_area "$joined" "$all_globs" "$all_filters"
      dirs+=("$OUT/$joined")
    fi
  fi
  summary "${dirs[@]}" | tee "$OUT/summary.md"
}

main "$@"
