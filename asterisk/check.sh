#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted ${EXTEN}/${STASISSTATUS} and bash -c bodies are meant literally
# Checks the Asterisk configuration in this folder.
#
#   asterisk/check.sh           static checks: the invariants of the design, read from the
#                               files (no Asterisk needed; CI runs this)
#   asterisk/check.sh --live    also start a private Asterisk on loopback with these files
#                               (rendered by docker-entrypoint.sh), ask it what it loaded,
#                               push an extension over ARI and stop it. Needs asterisk,
#                               curl and openssl; run as root or as the asterisk user.
#
# Invariants checked statically:
#   - every context a SIP endpoint lands in (from-trunk, from-agents) hands each call to
#     Stasis(switchboard,...) and checks STASISSTATUS=FAILED right after it, or only
#     normalises the number and jumps to another extension of the same context;
#   - [from-trunk] enters Stasis(switchboard,inbound,${EXTEN}); the app-down fallback
#     plays something and hangs up (no dead air);
#   - ARI is enabled with user `switchboard` whose password is not in the repository;
#   - sorcery maps endpoint, aor and auth to pjsip.conf and to astdb family `pjsip`;
#   - agent and trunk templates carry the NAT/media/DTMF options the design relies on;
#   - no committed file sets a password; no module the design needs is noloaded;
#   - the RTP range of rtp.conf is the one docker-compose.yml publishes.
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$DIR/.." && pwd)
LIVE=0
case "${1:-}" in
  --live) LIVE=1 ;;
  "") ;;
  *) echo "usage: $0 [--live]" >&2; exit 2 ;;
esac

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; }
check() { # check "description" command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

# Active (uncommented) lines of a config file, comments and blank lines removed.
active() { sed -e 's/[[:space:]]*;.*$//' -e '/^[[:space:]]*$/d' "$1"; }

# The active lines of one [section] (all sections of that name) of a file.
section() {
  active "$1" | awk -v want="$2" '
    /^\[/ { name = $0; sub(/^\[/, "", name); sub(/\].*$/, "", name); inside = (name == want); next }
    inside { print }'
}

# One "key=value" (spaces allowed around =) present in a section.
has_opt() { section "$1" "$2" | tr -d ' \t' | grep -qx -- "$3"; }

# ---------------------------------------------------------------------- dialplan -------
# Split a context into extension blocks: one line per block, priorities joined by " | ".
blocks() {
  section "$DIR/extensions.conf" "$1" | awk '
    /^exten[[:space:]]*=>/ { if (b != "") print b; b = $0; next }
    /^[[:space:]]*same[[:space:]]*=>/ { b = b " | " $0; next }
    END { if (b != "") print b }'
}

# A block is fine when it runs Stasis(switchboard,...) followed by a STASISSTATUS FAILED
# check, or when it only normalises the number and jumps within the same context.
block_ok() {
  local ctx=$1 b=$2 rest
  if [[ $b == *"Stasis(switchboard,"* ]]; then
    rest=${b#*Stasis(switchboard,}
    [[ $rest == *'${STASISSTATUS}'*FAILED* ]]
    return
  fi
  # Only Goto/GotoIf/NoOp/Set priorities, every Goto staying in this context.
  local prio
  while IFS= read -r prio; do
    prio=${prio#*=>}
    prio=${prio#*,*,}              # drop "exten,priority," or "n,"
    prio=${prio#n,}
    prio=${prio#n(*),}
    case "$prio" in
      Goto\(*,*,*\)*) [[ $prio == "Goto($ctx,"* ]] || return 1 ;;
      Goto\(*) ;;
      GotoIf\(*) [[ $prio != *"?"*","*","* || $prio == *"?$ctx,"* ]] || return 1 ;;
      NoOp\(* | Set\(*) ;;
      *) return 1 ;;
    esac
  done < <(printf '%s\n' "$b" | sed 's/ | /\n/g')
  return 0
}

check_context() {
  local ctx=$1 b n=0 good=1
  while IFS= read -r b; do
    n=$((n + 1))
    if ! block_ok "$ctx" "$b"; then
      good=0
      echo "      [$ctx] block without Stasis+fallback: ${b:0:140}" >&2
    fi
  done < <(blocks "$ctx")
  [ "$n" -gt 0 ] && [ "$good" = 1 ]
}

# Contexts SIP endpoints use: from pjsip.conf templates/objects, plus the two of the design.
contexts=$( { active "$DIR/pjsip.conf" | sed -n 's/^[[:space:]]*context[[:space:]]*=[[:space:]]*//p'
              printf '%s\n' from-trunk from-agents; } | sort -u)
for ctx in $contexts; do
  check "extensions.conf [$ctx]: every extension enters Stasis(switchboard,...) with a FAILED fallback" \
    check_context "$ctx"
done

check 'extensions.conf [from-trunk] enters Stasis(switchboard,inbound,${EXTEN})' \
  grep -qF 'Stasis(switchboard,inbound,${EXTEN})' <(section "$DIR/extensions.conf" from-trunk)
check 'extensions.conf [from-agents] enters Stasis(switchboard,internal,${EXTEN})' \
  grep -qF 'Stasis(switchboard,internal,${EXTEN})' <(section "$DIR/extensions.conf" from-agents)
check 'extensions.conf: every Stasis() call uses the app `switchboard`' \
  bash -c '! grep -oE "Stasis\([^,)]*" <(sed "s/;.*//" "$1") | grep -qv "Stasis(switchboard"' _ "$DIR/extensions.conf"
fallback_ok() {
  local b
  b=$(blocks switchboard-fallback | grep -E '^exten[[:space:]]*=>[[:space:]]*app-down,')
  [[ $b == *Answer\(\)* && $b == *Playback\(* && $b == *Hangup\(* ]]
}
check 'extensions.conf [switchboard-fallback] app-down answers, apologises and hangs up' fallback_ok
check 'extensions.conf: every fallback target used exists' bash -c '
  for t in $(grep -oE "switchboard-fallback,[a-z-]+" "$1" | cut -d, -f2 | sort -u); do
    grep -qE "^exten[[:space:]]*=>[[:space:]]*$t," "$1" || { echo "      missing: $t" >&2; exit 1; }
  done' _ "$DIR/extensions.conf"

# ---------------------------------------------------------------------- ARI ------------
check 'http.conf: HTTP server enabled' has_opt "$DIR/http.conf" general enabled=yes
check 'ari.conf: ARI enabled' has_opt "$DIR/ari.conf" general enabled=yes
check 'ari.conf: user [switchboard] type=user, read_only=no' \
  bash -c 'has() { sed -e "s/[[:space:]]*;.*//" "$1" | awk -v s="[switchboard]" "/^\\[/{i=(\$0==s);next} i" | tr -d " \t" | grep -qx "$2"; }
           has "$1" type=user && has "$1" read_only=no' _ "$DIR/ari.conf"
check 'ari.conf: the password comes from ari_password.conf, not from the repository' \
  bash -c 'grep -qE "^#include[[:space:]]+\"?ari_password.conf\"?" "$1" && ! grep -qE "^[[:space:]]*password[[:space:]]*=" "$1"' _ "$DIR/ari.conf"
check 'ari.conf: websocket_write_timeout raised above the 100 ms default' \
  bash -c 'v=$(sed -n "s/^websocket_write_timeout[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p" "$1"); [ "${v:-0}" -gt 100 ]' _ "$DIR/ari.conf"

# ---------------------------------------------------------------------- sorcery --------
for t in endpoint aor auth; do
  check "sorcery.conf: $t from pjsip.conf and from astdb family pjsip" \
    bash -c 'has() { sed -e "s/[[:space:]]*;.*//" "$1" | awk "/^\\[/{i=(\$0==\"[res_pjsip]\");next} i" | tr -d " \t" | grep -qx "$2"; }
             has "$1" "$2=config,pjsip.conf,criteria=type=$2" && has "$1" "$2=astdb,pjsip"' _ "$DIR/sorcery.conf" "$t"
done

# ---------------------------------------------------------------------- pjsip ----------
for opt in type=endpoint context=from-agents direct_media=no rtp_symmetric=yes force_rport=yes \
           rewrite_contact=yes dtmf_mode=rfc4733 transport=transport-udp; do
  check "pjsip.conf [agent-ep](!) has $opt" has_opt "$DIR/pjsip.conf" agent-ep "$opt"
done
for opt in type=aor max_contacts=1 remove_existing=yes; do
  check "pjsip.conf [agent-aor](!) has $opt" has_opt "$DIR/pjsip.conf" agent-aor "$opt"
done
check 'pjsip.conf [agent-auth](!) is a template auth' has_opt "$DIR/pjsip.conf" agent-auth type=auth
for opt in context=from-trunk direct_media=no rtp_symmetric=yes dtmf_mode=rfc4733; do
  check "pjsip.conf [itsp-endpoint](!) has $opt" has_opt "$DIR/pjsip.conf" itsp-endpoint "$opt"
done
check 'pjsip.conf: agent and trunk sections are templates (!)' \
  bash -c 'for t in agent-ep agent-aor agent-auth itsp-endpoint itsp-aor itsp-auth itsp-identify itsp-registration; do
             grep -qE "^\[$t\]\(!" "$1" || { echo "      not a template: $t" >&2; exit 1; }; done' _ "$DIR/pjsip.conf"
check 'pjsip.conf: UDP, TCP and TLS transports' \
  bash -c 'for t in udp tcp tls; do grep -qE "^\[transport-$t\]" "$1" || exit 1; done' _ "$DIR/pjsip.conf"
check 'pjsip.conf: no [anonymous] endpoint' bash -c '! grep -qE "^\[anonymous\]" "$1"' _ "$DIR/pjsip.conf"

# ---------------------------------------------------------------------- secrets, modules
# (the gitignored files of one installation may hold passwords: they are not checked)
committed_confs() {
  local f
  for f in "$DIR"/*.conf; do
    case "${f##*/}" in ari_password.conf | pjsip_trunk.conf | pjsip_local.conf | pjsip_nat.conf) ;; *) echo "$f" ;; esac
  done
}
mapfile -t confs < <(committed_confs)
check 'no committed config sets a password' \
  bash -c '! grep -nE "^[[:space:]]*(password|secret|md5_cred)[[:space:]]*=[[:space:]]*[^[:space:]]" "$@"' _ "${confs[@]}"
needed='res_http_websocket res_ari res_ari_events res_ari_channels res_ari_bridges res_stasis app_stasis
        res_pjsip chan_pjsip res_sorcery_config res_sorcery_astdb res_http_media_cache res_curl
        res_musiconhold bridge_holding bridge_simple bridge_softmix res_rtp_asterisk pbx_config'
for m in $needed; do
  check "modules.conf does not noload $m" \
    bash -c '! grep -qE "^[[:space:]]*noload[[:space:]]*=>?[[:space:]]*$2(\.so)?[[:space:]]*(;|$)" "$1"' _ "$DIR/modules.conf" "$m"
done
check 'modules.conf: autoload=yes' has_opt "$DIR/modules.conf" modules autoload=yes

# ---------------------------------------------------------------------- RTP vs compose -
rtp_start=$(section "$DIR/rtp.conf" general | tr -d ' \t' | sed -n 's/^rtpstart=//p')
rtp_end=$(section "$DIR/rtp.conf" general | tr -d ' \t' | sed -n 's/^rtpend=//p')
check "rtp.conf range $rtp_start-$rtp_end is published by docker-compose.yml" \
  grep -qE "\"?$rtp_start-$rtp_end:$rtp_start-$rtp_end/udp\"?" "$ROOT/docker-compose.yml"
check "asterisk/Dockerfile exposes the same RTP range" \
  bash -c '[ "$(grep -c "EXPOSE.*$2-$3/udp" "$1")" -ge 1 ] && ! grep -E "EXPOSE" "$1" | grep -qv "$2-$3/udp"' _ "$DIR/Dockerfile" "$rtp_start" "$rtp_end"
check 'docker-entrypoint.sh is valid sh' sh -n "$DIR/docker-entrypoint.sh"
# Switchboard runs in another container: it must dial the trunk the entrypoint writes, and
# tell Asterisk an address of its own (not loopback) to fetch prompts from.
check 'docker-compose.yml dials customers through the [itsp] trunk docker-entrypoint.sh writes' \
  bash -c 'grep -qF "[itsp](itsp-endpoint)" "$1" && grep -qF "SWITCHBOARD_VOICE__OUTBOUND_ENDPOINT: \"PJSIP/{number}@itsp\"" "$2" && grep -qF "SWITCHBOARD_VOICE__SIP_URI_ENDPOINT: \"PJSIP/itsp/{uri}\"" "$2"' _ "$DIR/docker-entrypoint.sh" "$ROOT/docker-compose.yml"
check 'docker-compose.yml gives Asterisk a media URL on the compose network' \
  grep -qF 'SWITCHBOARD_VOICE__MEDIA_URL: ${SWITCHBOARD_VOICE__MEDIA_URL:-http://switchboard:8080}' "$ROOT/docker-compose.yml"

# ---------------------------------------------------------------------- live -----------
live() {
  local need
  for need in asterisk curl openssl; do
    command -v "$need" >/dev/null 2>&1 || { bad "--live needs $need"; return; }
  done
  local tmp sip tls ari pw user url ast
  tmp=$(mktemp -d /tmp/sb-asterisk-check.XXXXXX)
  sip=${CHECK_SIP_PORT:-25060}
  tls=$((sip + 1))
  ari=${CHECK_ARI_PORT:-28088}
  pw=$(openssl rand -hex 20)
  user=${CHECK_RUN_AS:-asterisk}
  id "$user" >/dev/null 2>&1 || user=$(id -un)
  mkdir -p "$tmp"/{etc,run,log,db,spool,lib}

  # Render exactly as the container does, with a trunk and NAT settings to exercise them.
  ASTERISK_CONFIG_SOURCE=$DIR ASTERISK_ETC=$tmp/etc ASTERISK_RENDER_ONLY=1 \
    ASTERISK_ARI_PASSWORD=$pw ASTERISK_EXTERNAL_ADDRESS=198.51.100.7 ASTERISK_LOCAL_NET=127.0.0.0/8 \
    ITSP_HOST=127.0.0.2 ITSP_USERNAME=check ITSP_PASSWORD=check-only-password ITSP_REGISTER=no \
    sh "$DIR/docker-entrypoint.sh" || { bad 'docker-entrypoint.sh renders the configuration'; return; }
  ok 'docker-entrypoint.sh renders the configuration'

  # A private instance: loopback, other ports, every directory under $tmp.
  sed -i -e "s/^bind=0\.0\.0\.0:5060/bind=127.0.0.1:$sip/" -e "s/^bind=0\.0\.0\.0:5061/bind=127.0.0.1:$tls/" "$tmp/etc/pjsip.conf"
  sed -i -e 's/^bindaddr=.*/bindaddr=127.0.0.1/' -e "s/^bindport=.*/bindport=$ari/" "$tmp/etc/http.conf"
  sed -i -e '/^\[directories\]/,$d' -e '/^runuser/d' -e '/^rungroup/d' "$tmp/etc/asterisk.conf"
  cat >> "$tmp/etc/asterisk.conf" <<EOF
[directories]
astetcdir => $tmp/etc
astrundir => $tmp/run
astlogdir => $tmp/log
astdbdir => $tmp/db
astspooldir => $tmp/spool
EOF
  chown -R "$user" "$tmp" 2>/dev/null || true
  ast=(asterisk -C "$tmp/etc/asterisk.conf")
  if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then ast+=(-U "$user"); fi
  "${ast[@]}" -f >"$tmp/console.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 60); do
    "${ast[@]}" -rx 'core waitfullybooted' >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    bad 'Asterisk starts with this configuration (required modules load)'
    tail -20 "$tmp/console.log" >&2
    return
  fi
  ok 'Asterisk starts with this configuration (required modules load)'
  rx() { "${ast[@]}" -rx "$1" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g'; }

  check 'live: dialplan [from-trunk] enters Stasis' grep -q 'Stasis(switchboard,inbound' <(rx 'dialplan show from-trunk')
  check 'live: three SIP transports' bash -c '[ "$(grep -cE "^Transport: +transport-(udp|tcp|tls) " <<<"$1")" = 3 ]' _ "$(rx 'pjsip show transports')"
  check 'live: NAT addresses applied to transports' grep -q '198.51.100.7' <(rx 'pjsip show transport transport-udp')
  check 'live: trunk endpoint rendered from ITSP_*' grep -qE 'Endpoint: +itsp' <(rx 'pjsip show endpoints')
  check 'live: ARI user switchboard' grep -qE 'switchboard' <(rx 'ari show users')
  check 'live: res_sorcery_astdb running' grep -q 'Running' <(rx 'module show like res_sorcery_astdb')

  url="http://127.0.0.1:$ari/ari"
  code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
  check 'live: ARI refuses a wrong password (401)' test "$(code -u switchboard:wrong "$url/asterisk/info")" = 401
  check 'live: ARI accepts the rendered password (200)' test "$(code -u "switchboard:$pw" "$url/asterisk/info")" = 200
  local dyn="$url/asterisk/config/dynamic/res_pjsip" j='Content-Type: application/json'
  check 'live: push auth/aor/endpoint 9999 over ARI (astdb)' bash -c '
    c() { curl -s -o /dev/null -w "%{http_code}" -u "$1" -X PUT -H "$2" -d "$4" "$3"; }
    [ "$(c "$1" "$2" "$3/auth/9999" "{\"fields\":[{\"attribute\":\"auth_type\",\"value\":\"userpass\"},{\"attribute\":\"username\",\"value\":\"9999\"},{\"attribute\":\"password\",\"value\":\"x-check-only-x\"}]}")" = 200 ] &&
    [ "$(c "$1" "$2" "$3/aor/9999" "{\"fields\":[{\"attribute\":\"max_contacts\",\"value\":\"1\"},{\"attribute\":\"remove_existing\",\"value\":\"yes\"}]}")" = 200 ] &&
    [ "$(c "$1" "$2" "$3/endpoint/9999" "{\"fields\":[{\"attribute\":\"transport\",\"value\":\"transport-udp\"},{\"attribute\":\"context\",\"value\":\"from-agents\"},{\"attribute\":\"disallow\",\"value\":\"all\"},{\"attribute\":\"allow\",\"value\":\"g722,ulaw,alaw\"},{\"attribute\":\"auth\",\"value\":\"9999\"},{\"attribute\":\"aors\",\"value\":\"9999\"}]}")" = 200 ]' \
    _ "switchboard:$pw" "$j" "$dyn"
  # An endpoint pushed without allow= is stored as allow=(nothing) and can then not be read
  # back (GET 404, the phone cannot register): Switchboard must always push disallow/allow.
  check 'live: the pushed endpoint reads back (GET 200)' test "$(code -u "switchboard:$pw" "$dyn/endpoint/9999")" = 200
  check 'live: the pushed endpoint is stored in astdb family pjsip' grep -q '/pjsip/endpoint/9999' <(rx 'database show pjsip')
  check 'live: objects from pjsip.conf are read-only over ARI (403)' \
    test "$(code -u "switchboard:$pw" -X PUT -H "$j" -d '{"fields":[{"attribute":"context","value":"x"}]}' "$dyn/endpoint/itsp")" = 403
  check 'live: delete the pushed extension (204)' bash -c '
    for t in endpoint aor auth; do
      c=$(curl -s -o /dev/null -w "%{http_code}" -u "$1" -X DELETE "$2/$t/9999")
      [ "$c" = 204 ] || { echo "      DELETE $t/9999 answered $c" >&2; exit 1; }
    done' _ "switchboard:$pw" "$dyn"

  rx 'core stop now' >/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
if [ "$LIVE" = 1 ]; then live; fi

echo
echo "asterisk: $passed passed, $failed failed"
[ "$failed" = 0 ]
