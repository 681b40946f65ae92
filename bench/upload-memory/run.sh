#!/usr/bin/env bash
# Peak memory of the API host while N maximum-size uploads arrive at once (issue 16, item 15).
# Usage: bench/upload-memory/run.sh [concurrent=7] [json|multipart=multipart] [host options...]
# e.g. --Moderation:Limits:MaxConcurrentBytesPerKey=4294967296 to let one key send them all at once.
# Builds nothing: run `dotnet build Moderation.Api` first. Prints the host's resident set before, its peak (VmHWM)
# and the answers. Scoring is switched off so only intake is measured.
set -euo pipefail
n=${1:-7}
mode=${2:-multipart}
shift $(( $# > 2 ? 2 : $# ))
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
key="bench-$(date +%s%N)"
port=$((20000 + RANDOM % 20000))
dotnet "$root/Moderation.Api/bin/Debug/net10.0/Moderation.Api.dll" --urls "http://127.0.0.1:$port" \
  --Moderation:DataDirectory="$work/data" --Moderation:Bootstrap:ApiKey="$key" \
  --Moderation:Scoring:Text:Enabled=false --Moderation:Scoring:Media:Enabled=false \
  --Moderation:Scoring:Images:Enabled=false --Moderation:Scoring:Ocr:Enabled=false \
  --Moderation:Worker:InProcess=false --Moderation:RateLimits:UploadsPerSecondPerKey=0 \
  --Logging:LogLevel:Default=Warning "$@" >"$work/host.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
# Four files of 48 MiB each (just under the 50 MiB media limit; 192 MiB in all, under the 200 MiB request limit).
for f in 0 1 2 3; do
  { printf '\x89PNG\r\n\x1a\n'; head -c $((48 * 1024 * 1024 - 8)) /dev/urandom; } >"$work/file$f.png"
done
if [ "$mode" = json ]; then
  # Three files inline as base64 (48 MiB each is 64 MiB of base64; 192 MiB of body).
  python3 - "$work" <<'PY'
import base64, json, sys
w = sys.argv[1]
media = [{"kind": "image", "fileName": f"f{i}.png", "contentBase64": base64.b64encode(open(f"{w}/file{i}.png", "rb").read()).decode()} for i in range(3)]
open(f"{w}/body.json", "w").write(json.dumps({"externalId": "EXTERNAL", "caption": "bench", "media": media}))
PY
fi
sleep 2
curls=()
before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
for i in $(seq 1 "$n"); do
  if [ "$mode" = json ]; then
    sed "s/EXTERNAL/bench-$i-$RANDOM/" "$work/body.json" >"$work/body$i.json"
    curl -sS -o "$work/answer$i" -w "%{http_code}\n" -H "X-Api-Key: $key" -H 'Content-Type: application/json' \
      --data-binary "@$work/body$i.json" "http://127.0.0.1:$port/v1/uploads" >"$work/status$i" &
  else
    curl -sS -o "$work/answer$i" -w "%{http_code}\n" -H "X-Api-Key: $key" \
      -F "upload={\"externalId\":\"bench-$i-$RANDOM\",\"caption\":\"bench\"}" \
      -F "image=@$work/file0.png" -F "image=@$work/file1.png" -F "image=@$work/file2.png" -F "image=@$work/file3.png" \
      "http://127.0.0.1:$port/v1/uploads" >"$work/status$i" &
  fi
  curls+=($!)
done
wait "${curls[@]}" || true
peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "mode=$mode concurrent=$n rss_before_mib=$((before / 1024)) peak_rss_mib=$((peak / 1024)) per_upload_mib=$(((peak - before) / 1024 / n))"
echo "answers: $(cat "$work"/status* | sort | uniq -c | tr '\n' ' ')"
