#!/bin/sh
# build.sh [OUTDIR]: builds the Qt 5 tripserver, tripclient and tripgui (the
# Trip Planner window) into OUTDIR (default: bin/ next to this script). Needs
# g++, pkg-config and Qt 5's QtCore, QtNetwork and QtWidgets development files
# (Debian: qtbase5-dev). A program is rebuilt only when its source or this
# script is newer than the binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/bin}
CXX=${CXX:-g++}

if ! command -v pkg-config >/dev/null 2>&1; then
	echo "build.sh: pkg-config not found; install pkg-config and qtbase5-dev" >&2
	exit 1
fi
if ! pkg-config --exists Qt5Core Qt5Network Qt5Widgets; then
	echo "build.sh: Qt 5 development files (Qt5Core, Qt5Network, Qt5Widgets) not found; install qtbase5-dev" >&2
	exit 1
fi
if ! command -v "$CXX" >/dev/null 2>&1; then
	echo "build.sh: C++ compiler $CXX not found; install g++" >&2
	exit 1
fi

mkdir -p "$out"

# build NAME SHARED [PKG...]: builds NAME/main.cpp, with the shared sources
# of folder SHARED ("" for none, else tripstream: the client side of the
# protocol that tripclient and tripgui share), against Qt5Core, Qt5Network
# and the further pkg-config packages given. The binary is up to date when
# it is newer than this script and every file of NAME/ and SHARED/.
build() {
	name=$1
	shared=$2
	shift 2
	cflags=$(pkg-config --cflags Qt5Core Qt5Network "$@")
	libs=$(pkg-config --libs Qt5Core Qt5Network "$@")
	srcs=$here/$name/main.cpp
	dirs=$here/$name
	if [ -n "$shared" ]; then
		srcs="$srcs $here/$shared/$shared.cpp"
		dirs="$dirs $here/$shared"
		cflags="$cflags -I$here/$shared"
	fi
	bin=$out/$name
	# shellcheck disable=SC2086 # dirs holds paths without blanks or none
	if [ -x "$bin" ] && [ "$bin" -nt "$here/build.sh" ] &&
		[ -z "$(find $dirs -type f -newer "$bin")" ]; then
		return 0
	fi
	# shellcheck disable=SC2086 # word splitting of pkg-config output and srcs is intended
	$CXX -std=c++17 -O2 -Wall -Wextra -fPIC $cflags -o "$bin.tmp.$$" $srcs $libs
	mv -f "$bin.tmp.$$" "$bin"
}

build tripserver "" &
server=$!
build tripclient tripstream &
client=$!
build tripgui tripstream Qt5Widgets &
gui=$!
status=0
wait "$server" || status=1
wait "$client" || status=1
wait "$gui" || status=1
if [ "$status" -ne 0 ]; then
	echo "build.sh: build failed" >&2
	exit 1
fi
