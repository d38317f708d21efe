#!/usr/bin/env bash
# make-manpage.sh BINARY VERSION OUT.gz: writes reservoir(1), gzipped, from
# the --help of BINARY and of each of its subcommands, so the page lists every
# flag a build has (a flag added to a subcommand needs no edit here). Runs at
# install time (`cpack`), from tools/package/CPack.cmake.
set -euo pipefail
bin=$1 version=$2 out=$3

# Help text as troff: backslashes escaped, '-' as the minus of options, a
# leading '.' or "'" kept from being read as a request.
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }
block() { echo ".nf"; roff; echo ".fi"; }

commands=$("$bin" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "make-manpage: no commands in '$bin --help'" >&2; exit 1; }

page() {
  cat <<ROFF
.TH RESERVOIR 1 "" "reservoir $version" "User Commands"
.SH NAME
reservoir \\- event\\-sourced reservation engine with a REST API
.SH SYNOPSIS
.B reservoir
.I command
.RI [ flags ]
.br
.B reservoir serve \\-\\-config /etc/reservoir/reservoir.conf
.SH DESCRIPTION
Reservoir decides every reservation command on one writer thread against
in\\-memory state, makes its events durable in an event log (a local file or a
Kafka topic) before it answers, and serves queries from RocksDB views built
from that log. One executable holds the server and the operator's tools.
.SH COMMANDS
ROFF
  "$bin" --help | block
  for c in $commands; do
    echo ".SS reservoir $c"
    "$bin" "$c" --help | block
  done
  cat <<'ROFF'
.SH CONFIGURATION FILE
Every command takes \fB\-\-config\fR \fIFILE\fR: one \fIkey\fR = \fIvalue\fR a
line, the keys being the flag names without the leading \fB\-\-\fR (for example
\fBport = 8080\fR); boolean flags take \fBtrue\fR or \fBfalse\fR; a repeatable
flag may appear on several lines; blank lines and lines starting with \fB#\fR
are skipped. A flag given on the command line wins over the file. An unknown
key or a bad value is refused at start with \fBconfig\fR \fIFILE\fR:\fILINE\fR
and exit status 2.
.SH FILES
.TP
.I /etc/reservoir/reservoir.conf
The configuration of the packaged service (root:reservoir, mode 0640: it may
hold the admin key).
.TP
.I /var/lib/reservoir
The data directory of the packaged service: the event log, snapshots and views.
.TP
.I /lib/systemd/system/reservoir.service
The systemd unit; it runs \fBreservoir serve \-\-config /etc/reservoir/reservoir.conf\fR
as the user \fBreservoir\fR. Its log goes to the journal (\fBjournalctl \-u reservoir\fR).
.SH EXIT STATUS
0 on success (and after SIGTERM or SIGINT, once every accepted command is
answered); 1 on a refusal or failure, with the reason on standard error; 2 on a
bad flag, value or configuration file.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1);
/usr/share/doc/reservoir/OPERATIONS.md
ROFF
}

mkdir -p "$(dirname "$out")"
page | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
