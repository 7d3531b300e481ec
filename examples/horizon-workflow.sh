#!/usr/bin/env bash
# Warn the users of one desktop pool, as a Horizon administrator would with
# nothing but curl: log in, list the pool's connected sessions, send them a
# WARNING, log out. It works against a Horizon Connection Server and against
# the reference server alike.
#
#   HORIZON_SERVER=https://horizon.example.com HORIZON_USERNAME=administrator \
#   HORIZON_PASSWORD=... HORIZON_DOMAIN=EXAMPLE HORIZON_POOL=pool-finance \
#   examples/horizon-workflow.sh
#
# Optional: HORIZON_MESSAGE (one line), HORIZON_CACERT (PEM file to trust, e.g.
# the reference server's -tls-cert-out), HORIZON_INSECURE=1 (skip certificate
# checks: unsafe), HORIZON_PAGE_SIZE (1 to 1000, default 1000).
set -euo pipefail

: "${HORIZON_SERVER:?set HORIZON_SERVER, e.g. https://horizon.example.com}"
: "${HORIZON_USERNAME:?set HORIZON_USERNAME (the user name, without @domain)}"
: "${HORIZON_PASSWORD:?set HORIZON_PASSWORD}"
: "${HORIZON_DOMAIN:?set HORIZON_DOMAIN}"
: "${HORIZON_POOL:?set HORIZON_POOL (the desktop pool id)}"
message=${HORIZON_MESSAGE:-This desktop restarts in 15 minutes. Please save your work.}
page_size=${HORIZON_PAGE_SIZE:-1000}
api=${HORIZON_SERVER%/}/rest

curl_opts=(--silent --show-error)
if [[ -n ${HORIZON_CACERT:-} ]]; then
	curl_opts+=(--cacert "$HORIZON_CACERT")
elif [[ ${HORIZON_INSECURE:-} == 1 ]]; then
	curl_opts+=(--insecure)
fi

# json_string quotes a one-line value for JSON.
json_string() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

# json_field NAME prints the string values of the field NAME in its input.
json_field() {
	grep -o "\"$1\" *: *\"[^\"]*\"" | sed 's/.*: *"\(.*\)"/\1/' || true
}

# call CURL-ARGS... prints the answer; a refusal prints the server's reason
# and stops the script.
call() {
	local body
	if ! body=$(curl "${curl_opts[@]}" --fail-with-body "$@"); then
		echo "horizon-workflow: request failed: ${body:-no answer}" >&2
		return 1
	fi
	printf '%s' "$body"
}

# post_json PATH JSON [CURL-ARGS...]: the body goes through standard input,
# so that no password or token shows on curl's command line (ps shows that).
post_json() {
	call -X POST "$api$1" -H 'Content-Type: application/json' --data-binary @- "${@:3}" <<<"$2"
}

# logout ends the login. Horizon 8.0.0 answers 400 when the refresh token
# is unknown, expired or already logged out: then nothing is left to end.
logout() {
	local answer status reason
	if ! answer=$(curl "${curl_opts[@]}" --write-out '\n%{http_code}' -X POST "$api/logout" \
		-H 'Content-Type: application/json' --data-binary @- <<<"{\"refresh_token\":$(json_string "$refresh_token")}"); then
		echo "horizon-workflow: logout failed: no answer" >&2
		return 1
	fi
	status=${answer##*$'\n'}
	answer=${answer%$'\n'*}
	case $status in
	200) echo "Logged out" ;;
	400)
		reason=$(json_field error_message <<<"$answer")
		echo "The login had already ended: ${reason%%$'\n'*}"
		;;
	*)
		echo "horizon-workflow: logout failed ($status): $answer" >&2
		return 1
		;;
	esac
}

refresh_token=
headers=$(mktemp)
auth=$(mktemp) # the Authorization header, for -H @file; mktemp makes it private
finish() {
	rm -f "$headers" "$auth"
	# 4. Log out, so that the tokens end with the script.
	if [[ -n $refresh_token ]]; then
		logout
	fi
}
trap finish EXIT

# 1. Log in. The tokens never reach the screen.
tokens=$(post_json /login "{\"username\":$(json_string "$HORIZON_USERNAME"),\"password\":$(json_string "$HORIZON_PASSWORD"),\"domain\":$(json_string "$HORIZON_DOMAIN")}")
access_token=$(json_field access_token <<<"$tokens")
refresh_token=$(json_field refresh_token <<<"$tokens")
echo "Logged in as $HORIZON_DOMAIN\\$HORIZON_USERNAME"
printf 'Authorization: Bearer %s\n' "$access_token" >"$auth"

# 2. The pool's connected sessions, page by page while HAS_MORE_RECORDS says so.
filter="{\"type\":\"And\",\"filters\":[{\"type\":\"Equals\",\"name\":\"desktop_pool_id\",\"value\":$(json_string "$HORIZON_POOL")},{\"type\":\"Equals\",\"name\":\"session_state\",\"value\":\"CONNECTED\"}]}"
ids=()
page=1
while :; do
	sessions=$(call -G "$api/inventory/v1/sessions" -H @"$auth" \
		--data-urlencode "filter=$filter" --data "page=$page" --data "size=$page_size" --dump-header "$headers")
	while read -r id; do
		if [[ -n $id ]]; then ids+=("$id"); fi
	done <<<"$(json_field id <<<"$sessions")"
	grep -qi '^HAS_MORE_RECORDS:' "$headers" || break
	page=$((page + 1))
done
echo "${#ids[@]} connected sessions in pool $HORIZON_POOL"
if ((${#ids[@]} == 0)); then
	exit 0
fi

# 3. Send the WARNING; each session's result says whether it was shown.
id_list=
for id in "${ids[@]}"; do
	id_list+=${id_list:+,}$(json_string "$id")
done
results=$(post_json /inventory/v1/sessions/action/send-message \
	"{\"message\":$(json_string "$message"),\"message_type\":\"WARNING\",\"session_ids\":[$id_list]}" \
	-H @"$auth")
delivered=$(grep -o '"status_code" *: *200[,}]' <<<"$results" | wc -l)
echo "Warned $((delivered)) of ${#ids[@]} sessions"
