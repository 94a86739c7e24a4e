#!/usr/bin/env bash
# Packages every published crate the way `cargo publish` would, without uploading: each crate's
# .crate file is built from its own files only, then compiled on its own, with the other
# workspace crates resolved from the packages made in the same run (not from their paths).
#
#   scripts/package-check.sh                 # CI
#   scripts/package-check.sh --allow-dirty   # locally, with uncommitted changes
#
# Fails when a crate misses what crates.io needs or shows (description, license and its files,
# readme, repository, keywords, categories), and when a crate that must stay unpublished is not
# marked `publish = false`.
set -euo pipefail
cd "$(dirname "$0")/.."

unpublished=(otel-xray-testkit)

for crate in "${unpublished[@]}"; do
  if ! grep -q '^publish = false' "crates/$crate/Cargo.toml"; then
    echo "crates/$crate/Cargo.toml: must say publish = false" >&2
    exit 1
  fi
done

# What crates.io shows for a crate; cargo only warns about some of these.
for manifest in Cargo.toml crates/*/Cargo.toml; do
  grep -q '^publish = false' "$manifest" && continue
  dir=$(dirname "$manifest")
  for field in description license repository readme keywords categories; do
    if ! grep -Eq "^$field(\.workspace)? = " "$manifest"; then
      echo "$manifest: no $field" >&2
      exit 1
    fi
  done
  for file in README.md LICENSE-MIT LICENSE-APACHE; do
    if [ ! -e "$dir/$file" ]; then
      echo "$dir: no $file" >&2
      exit 1
    fi
  done
done

excludes=()
for crate in "${unpublished[@]}"; do excludes+=(--exclude "$crate"); done

# Cargo unpacks the packages made here into $CARGO_HOME/registry/src/-<hash of the temporary
# registry's path>/ and reuses an unpacked copy it finds there: a second run from the same
# checkout path would verify against the previous run's sources. Local registries' directories
# start with '-'; only our own crates are removed from them.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/otel-xray-*
# Likewise a registry crate's build is fingerprinted by name and version, not content: forget our
# crates' builds, so the packaged copies are compiled from this run's sources.
rm -rf target/debug/.fingerprint/otel-xray-*

# The packaged crates are verified in an ephemeral workspace of their own, where our
# `[profile.dev]` does not apply: cargo's default dev profile would compile every dependency
# again with full debug info (slow, and gigabytes of disk). Without debug info the verification
# matches how the test build compiled the dependencies (`[profile.dev.package."*"] debug =
# false`), so cargo reuses each one whose features are the same, and compiles the rest faster.
export CARGO_PROFILE_DEV_DEBUG=false

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo package -j2 --workspace "${excludes[@]}" "$@" 2>&1 | tee "$log"
if grep -q '^warning: manifest has no' "$log"; then
  echo "a published crate's manifest misses metadata (see the warnings above)" >&2
  exit 1
fi
