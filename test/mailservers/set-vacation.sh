#!/bin/bash
# set-vacation.sh STATE_DIR USER [TEXT]: give USER (local part or full address
# at example.test) an active Sieve vacation script that answers every message
# (:seconds 0); with TEXT empty or absent, remove it. Pigeonhole sends no
# vacation reply to mail with List-Id, List-Unsubscribe or Precedence: bulk,
# nor when the user is not in To/Cc. Replies go to the envelope sender.
set -euo pipefail

[ $# -ge 2 ] && [ $# -le 3 ] || {
	echo "usage: $0 STATE_DIR USER [TEXT]" >&2
	exit 2
}
state=$1
user=${2%@*}
text=${3:-}
home=$state/mail/example.test/$user
[ -d "$state/mail/example.test" ] || {
	echo "set-vacation.sh: $state has no mail store: run start.sh first" >&2
	exit 1
}
if ! grep -q "^$user@example.test:" "$state/dovecot/passwd"; then
	echo "set-vacation.sh: no such user $user@example.test" >&2
	exit 1
fi

if [ -z "$text" ]; then
	rm -f "$home/.dovecot.sieve" "$home/sieve/vacation.sieve" "$home/sieve/vacation.svbin"
	exit 0
fi

# Sieve strings (RFC 5228 2.4.2): escape backslash and double quote.
quoted=$(printf '%s' "$text" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
install -d -o vmail -g vmail -m 700 "$home" "$home/sieve"
tmp=$(mktemp "$home/sieve/.vacation.XXXXXX")
cat >"$tmp" <<SIEVE
require ["vacation", "vacation-seconds"];
vacation :seconds 0 :subject "Out of office" "$quoted";
SIEVE
chown vmail:vmail "$tmp"
chmod 600 "$tmp"
mv -f "$tmp" "$home/sieve/vacation.sieve"
ln -sfn sieve/vacation.sieve "$home/.dovecot.sieve"
chown -h vmail:vmail "$home/.dovecot.sieve"
