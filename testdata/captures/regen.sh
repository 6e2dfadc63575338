#!/usr/bin/env bash
# regen.sh regenerates the captures in testdata/captures: real traffic between
# tripcheck's reference server (tripcheck serve) and clients (tripcheck query,
# and the raw client of gen), captured with tcpdump and tshark on the loopback
# interface and recorded by tripcheck proxy; other link types, formats and
# broken streams are converted from those by gen. MANIFEST says what each file
# holds; the tests in pcap/ and conformance/ read both.
#
# Run it as root (capturing on lo needs it), from anywhere:
#
#   sudo testdata/captures/regen.sh
#
# It needs tcpdump and tshark (Debian: apt-get install tcpdump tshark). Packet
# numbers in tcpdump and tshark captures can change from one run to the next;
# the proxy's recordings, which MANIFEST names packets of, do not. After a
# run, check MANIFEST against `tripcheck pcap check` of each file.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
for tool in tcpdump tshark editcap gzip; do
  command -v "$tool" >/dev/null || { echo "regen: $tool is needed (apt-get install tcpdump tshark)" >&2; exit 2; }
done

work=$(mktemp -d)
declare -A pid fd
cleanup() {
  for name in "${!pid[@]}"; do
    kill "${pid[$name]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tripcheck" ./cmd/tripcheck
go build -o "$work/gen" ./testdata/captures/gen
tc=$work/tripcheck
gen=$work/gen
out=$here

# start NAME CMD...: runs CMD in the background, its stdout and stderr into a
# FIFO that waitfor reads line by line.
start() {
  local name=$1; shift
  rm -f "$work/$name.fifo"
  mkfifo "$work/$name.fifo"
  "$@" >"$work/$name.fifo" 2>&1 &
  pid[$name]=$!
  exec {f}<"$work/$name.fifo"
  fd[$name]=$f
}

# waitfor NAME TEXT: reads NAME's output until a line holds TEXT, and prints
# that line. No sleeping: the line is the readiness signal.
waitfor() {
  local line
  while IFS= read -r -u "${fd[$1]}" line; do
    if [[ $line == *"$2"* ]]; then
      printf '%s\n' "$line"
      return 0
    fi
  done
  echo "regen: $1 ended before printing \"$2\"" >&2
  return 1
}

# drain NAME: reads NAME's output to its end, in the background.
drain() {
  cat <&"${fd[$1]}" >/dev/null &
}

# stop NAME: SIGINT, then wait for it.
stop() {
  kill -INT "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
  eval "exec ${fd[$1]}<&-"
  unset "pid[$1]" "fd[$1]"
}

# finish NAME: waits for NAME to end by itself (a proxy with --count).
finish() {
  wait "${pid[$1]}" 2>/dev/null || true
  eval "exec ${fd[$1]}<&-"
  unset "pid[$1]" "fd[$1]"
}

# serve NAME [flags]: the reference server on a free port; sets addr[NAME].
declare -A addr
serve() {
  local name=$1; shift
  start "$name" "$tc" serve --listen "${LISTEN:-127.0.0.1:0}" "$@"
  addr[$name]=$(waitfor "$name" "listening on" | awk '{print $3}')
  drain "$name"
}

# capture NAME FILE TOOL IFACE PORT [tool flags]: starts capturing TCP on PORT
# and UDP port 9 (the end marker, below).
capture() {
  local name=$1 file=$2 tool=$3 iface=$4 port=$5; shift 5
  local filter="tcp port $port or udp port 9"
  case $tool in
  tcpdump) start "$name" tcpdump -i "$iface" -U -l --print -w "$file" "$@" "$filter"; waitfor "$name" "listening on" >/dev/null ;;
  tshark) start "$name" tshark -i "$iface" -l -P -w "$file" "$@" -f "$filter"; waitfor "$name" "Capturing on" >/dev/null ;;
  esac
}

# endcapture NAME: sends a UDP datagram to port 9 and waits until the
# capture has seen it: every packet before it is in the file. Then stops.
endcapture() {
  echo "end of capture" >/dev/udp/127.0.0.1/9
  waitfor "$1" "UDP" >/dev/null
  stop "$1"
}

port() { echo "${1##*:}"; }

berlin=(--from Berlin --to München --date 2026-11-25 --time 09:00)
hamburg=(--from Hamburg --to Köln --date 2026-11-26 --time 17:30 --arrive)
query() { "$tc" query "$@" >/dev/null || true; }

# --- captured with tcpdump and tshark -------------------------------------

serve book
p=$(port "${addr[book]}")

echo "regen: lo-ethernet.pcap (tcpdump -i lo: Ethernet; two sessions, replies coalesced in one segment)"
capture cap "$work/lo-ethernet.pcap" tcpdump lo "$p"
query "${addr[book]}" "${berlin[@]}"
query "${addr[book]}" "${hamburg[@]}"
endcapture cap

echo "regen: any-sll2.pcap (tcpdump -i any: Linux cooked v2)"
capture cap "$work/any-sll2.pcap" tcpdump any "$p"
query "${addr[book]}" "${berlin[@]}"
endcapture cap

echo "regen: any-sll.pcap (tcpdump -i any -y LINUX_SLL)"
capture cap "$work/any-sll.pcap" tcpdump any "$p" -y LINUX_SLL
query "${addr[book]}" "${berlin[@]}"
endcapture cap

echo "regen: lo-nanosecond.pcap (tcpdump --time-stamp-precision nano)"
capture cap "$work/lo-nanosecond.pcap" tcpdump lo "$p" --time-stamp-precision nano
query "${addr[book]}" "${hamburg[@]}"
endcapture cap

echo "regen: lo-ipv6.pcapng (tshark on lo, the server on [::1])"
LISTEN='[::1]:0' serve book6
p6=$(port "${addr[book6]}")
capture cap "$work/lo-ipv6.pcapng" tshark lo "$p6"
query "${addr[book6]}" "${berlin[@]}"
endcapture cap
stop book6

echo "regen: fragmented.pcap (request through a proxy in 2-byte pieces, reply in 3-byte pieces)"
serve frag --shape bytes-3
pf=$(port "${addr[frag]}")
start px "$tc" proxy --listen 127.0.0.1:0 --upstream "${addr[frag]}" --shape-up bytes-2 --count 1 --quiet
pxaddr=$(waitfor px "listening on" | awk '{print $3}')
drain px
capture cap "$work/fragmented.pcap" tcpdump lo "$pf"
query "$pxaddr" "${berlin[@]}"
finish px
endcapture cap
stop frag

echo "regen: coalesced.pcap (the server writes each block, two writes to a segment)"
serve coal --per-block --shape coalesce-writes-2
pc=$(port "${addr[coal]}")
capture cap "$work/coalesced.pcap" tcpdump lo "$pc"
query "${addr[coal]}" "${hamburg[@]}"
endcapture cap
stop coal

echo "regen: truncated-request.pcap (the client's request cut after 10 bytes by a proxy; no reply)"
start px "$tc" proxy --listen 127.0.0.1:0 --upstream "${addr[book]}" --shape-up truncate-10 --count 1 --quiet
pxaddr=$(waitfor px "listening on" | awk '{print $3}')
drain px
capture cap "$work/truncated-request.pcap" tcpdump lo "$p"
query "$pxaddr" "${berlin[@]}"
finish px
endcapture cap

# --- recorded by tripcheck proxy (packets numbered the same on every run) ---
# The reply is held and sent whole (--shape-down coalesced), so each capture
# is: 1-3 the handshake, 4 the request, 5 the reply, then the closes.

record() { # record FILE SERVER-FLAGS... -- CLIENT...
  local file=$1; shift
  local sflags=()
  while [[ $1 != -- ]]; do sflags+=("$1"); shift; done
  shift
  serve rec "${sflags[@]}"
  start px "$tc" proxy --listen 127.0.0.1:0 --upstream "${addr[rec]}" --record "$work/$file" --shape-down coalesced --count 1 --quiet
  pxaddr=$(waitfor px "listening on" | awk '{print $3}')
  drain px
  "$@"
  finish px
  stop rec
}
client() { query "$pxaddr" "${berlin[@]}"; }
raw() { "$gen" send "$pxaddr" "$@" >/dev/null; }

echo "regen: recorded.pcapng and the bad-*.pcapng recordings (tripcheck proxy --record)"
record recorded.pcapng -- client
record bad-size-plus-one.pcapng --size-delta 1 -- client
record bad-size-minus-one.pcapng --size-delta -1 -- client
record bad-no-end.pcapng --no-end -- client
record bad-after-end.pcapng --garbage 00ff00 -- client
record bad-reset.pcapng --reset -- client
record bad-other-profile.pcapng --reply-profile qt5 -- client
record bad-truncated-reply.pcapng --shape truncate-50 -- client
record bad-flag.pcapng -- raw flag=Z
record bad-flag-answered.pcapng --lenient -- raw flag=Z
record bad-two-requests.pcapng -- raw -extra 002c53
record bad-request-cut.pcapng -- raw -cut 9 -half-close

stop book

# --- converted ---------------------------------------------------------------

echo "regen: other link types and formats, converted from lo-ethernet.pcap and lo-ipv6.pcapng"
"$gen" convert -in "$work/lo-ethernet.pcap" -out "$work/null.pcap" -link NULL
"$gen" convert -in "$work/lo-ethernet.pcap" -out "$work/loop-be.pcap" -link LOOP -order be
"$gen" convert -in "$work/lo-ethernet.pcap" -out "$work/raw.pcap" -link RAW
"$gen" convert -in "$work/lo-ethernet.pcap" -out "$work/ipv4-linktype.pcap" -link IPV4 -nanos
"$gen" convert -in "$work/lo-ethernet.pcap" -out "$work/be-nanosecond.pcap" -order be -nanos
"$gen" convert -in "$work/lo-ipv6.pcapng" -out "$work/ipv6-raw.pcap" -link RAW
"$gen" convert -in "$work/lo-ipv6.pcapng" -out "$work/ipv6-sll2.pcapng" -link LINUX_SLL2 -format pcapng
"$gen" mixed -in "$work/lo-ethernet.pcap" -out "$work/mixed.pcapng"
editcap -F pcapng "$work/lo-ethernet.pcap" "$work/lo-ethernet.pcapng"
gzip -9 -n -c "$work/lo-ethernet.pcap" >"$work/lo-ethernet.pcap.gz"

echo "regen: reordered, retransmitted, lost and mid-connection, from fragmented.pcap and lo-ethernet.pcap"
# The reply's data packets in fragmented.pcap, by number.
mapfile -t data < <(tshark -r "$work/fragmented.pcap" -Y "tcp.srcport == $pf && tcp.len > 0" -T fields -e frame.number 2>/dev/null)
"$gen" mangle -in "$work/fragmented.pcap" -out "$work/reordered-retransmitted.pcap" -swap "${data[2]},${data[3]}" -dup "${data[5]}@${data[8]}"
"$gen" mangle -in "$work/fragmented.pcap" -out "$work/lost-segment.pcap" -drop "${data[4]}-${data[4]}"
"$gen" mangle -in "$work/lo-ethernet.pcap" -out "$work/missing-syn.pcap" -drop 1-3

# --- install -------------------------------------------------------------------

rm -f "$out"/*.pcap "$out"/*.pcapng "$out"/*.pcap.gz
for f in "$work"/*.pcap "$work"/*.pcapng "$work"/*.pcap.gz; do
  cp "$f" "$out/"
done
chmod 0644 "$out"/*.pcap "$out"/*.pcapng "$out"/*.pcap.gz
echo "regen: $(ls "$out" | grep -c 'pcap') captures, $(du -ch "$out"/*.pcap* | tail -1 | cut -f1) in all"
for f in "$out"/*.pcap "$out"/*.pcapng "$out"/*.pcap.gz; do
  printf '%-32s ' "$(basename "$f")"
  "$tc" pcap check --port any "$f" 2>/dev/null | tail -1 || true
done
