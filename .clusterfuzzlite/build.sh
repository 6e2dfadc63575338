#!/bin/bash -eu
# ClusterFuzzLite's build of tripcheck: every go test -fuzz target, listed
# from the source, as a libFuzzer binary in $OUT named after the target.
#
# compile_native_go_fuzzer (in the base-builder-go image) runs
# go-118-fuzz-build and links with $LIB_FUZZING_ENGINE. That tool compiles a
# package without its other test files, so each package is first prepared
# for the target (.clusterfuzzlite/libfuzzer prepare: test files renamed,
# their "testing" import pointed at internal/libfuzzertesting) and restored
# afterwards. .clusterfuzzlite/libfuzzer run does the same here without
# Docker, and CI runs it.

# go.mod asks for Go 1.26: let go fetch it if the image's Go is older.
export GOTOOLCHAIN=auto
# The go-118-fuzz-build pinned in go.mod, in place of the image's (go
# install in the module installs the version go.mod requires).
go install github.com/AdamKorcz/go-118-fuzz-build

lf=.clusterfuzzlite/libfuzzer
targets=$("$lf" list)
while read -r pkg target; do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  saved=$(mktemp -d)
  cp -a "$dir/." "$saved"
  "$lf" prepare "$dir" "$target"
  compile_native_go_fuzzer "$pkg" "$target" "$target"
  rm -rf "$dir"
  mkdir "$dir"
  cp -a "$saved/." "$dir"
  rm -rf "$saved"
done <<<"$targets"
