{{/* The chart's name, or nameOverride. */}}
{{- define "ingest.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name (63 characters at most, a DNS label). A release whose name already holds the chart's
name is used as it is: `helm install ingest charts/ingest` makes objects named "ingest"
(and the headless Service "ingest-headless", the gateway chart's default address).
*/}}
{{- define "ingest.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ingest.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "ingest.labels" -}}
helm.sh/chart: {{ include "ingest.chart" . }}
{{ include "ingest.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: platform
app.kubernetes.io/component: ingest
{{- end }}

{{/* Labels that select the pods; never change them on upgrade (selectors are immutable). */}}
{{- define "ingest.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ingest.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ingest.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ingest.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ingest.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Where the write-key file of auth.writeKeys.existingSecret is mounted (a directory: subPath mounts never see a changed Secret). */}}
{{- define "ingest.writeKeysPath" -}}
/etc/platform/write-keys
{{- end }}

{{/* Where the JWT public keys of auth.publicKeys.existingSecret are mounted. */}}
{{- define "ingest.keysPath" -}}
/etc/platform/jwt-keys
{{- end }}

{{/*
The data volume's mount: DuckDB's file with storage.backend DuckDb, the write-ahead log (in "log" below it) with
ClickHouse. The image declares the same path as a VOLUME owned by the app user.
*/}}
{{- define "ingest.dataPath" -}}
/var/lib/platform/ingest
{{- end }}

{{/* Log:Directory: a directory below the mount, so the filesystem's own entries (lost+found) stay out of the log's. */}}
{{- define "ingest.logPath" -}}
{{- printf "%s/log" (include "ingest.dataPath" .) }}
{{- end }}

{{/* True when the StatefulSet asks for a claim per pod (volumeClaimTemplates) for the data volume. */}}
{{- define "ingest.claimPerPod" -}}
{{- if not (include "ingest.embedded" .) }}true
{{- else if and .Values.storage.duckdb.persistence.enabled (not .Values.storage.duckdb.persistence.existingClaim) }}true
{{- end }}
{{- end }}

{{/* log.persistence.size in bytes (whole Mi, Gi or Ti, as the schema demands). */}}
{{- define "ingest.logVolumeBytes" -}}
{{- $size := .Values.log.persistence.size | toString }}
{{- $unit := regexFind "[MGT]i$" $size }}
{{- if not $unit }}
{{- fail (printf "log.persistence.size must be a whole number of Mi, Gi or Ti (e.g. 10Gi), not %q" $size) }}
{{- end }}
{{- $units := dict "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- mul (trimSuffix $unit $size | int64) (get $units $unit) }}
{{- end }}

{{/*
Log:MaxBytes: log.maxBytesPercent of the volume. The rest must hold what the log keeps beyond its unshipped bytes
(the shipped part of the oldest segment, deleted only whole, and the segment being rolled: two segments) plus 8% of
the volume for the filesystem (ext4 keeps 5% for root, which the non-root app cannot use, and its journal).
*/}}
{{- define "ingest.logMaxBytes" -}}
{{- $volume := include "ingest.logVolumeBytes" . | int64 }}
{{- $maxBytes := div (mul $volume (int64 .Values.log.maxBytesPercent)) 100 }}
{{- $segment := int64 .Values.log.segmentBytes }}
{{- $needed := add $maxBytes (mul 2 $segment) (div (mul $volume 8) 100) }}
{{- if gt $needed $volume }}
{{- fail (printf "log.persistence.size %s is too small for log.maxBytesPercent %d and log.segmentBytes %d: Log:MaxBytes (%d bytes) + two segments + 8%% filesystem reserve need %d bytes; grow the volume or lower the percentage" (toString .Values.log.persistence.size) (int64 .Values.log.maxBytesPercent) $segment $maxBytes $needed) }}
{{- end }}
{{- if lt $maxBytes $segment }}
{{- fail (printf "Log:MaxBytes (%d bytes, log.maxBytesPercent of log.persistence.size) must be at least log.segmentBytes (%d)" $maxBytes $segment) }}
{{- end }}
{{- if gt $maxBytes 1099511627776 }}
{{- fail (printf "Log:MaxBytes (%d bytes) may not exceed 1 TiB: lower log.maxBytesPercent" $maxBytes) }}
{{- end }}
{{- $maxBytes }}
{{- end }}

{{/*
The read rate the startup probe's budget assumes for a pod's recovery, which checks every unshipped record before
the pod serves: 50 MiB/s, below what SSD-backed cloud volumes sustain.
*/}}
{{- define "ingest.logRecoveryBytesPerSecond" -}}
52428800
{{- end }}

{{/* Shipper:DrainTimeout as a .NET TimeSpan (hh:mm:ss); the schema keeps it under an hour. */}}
{{- define "ingest.drainTimeout" -}}
{{- $s := int64 .Values.shipper.drainTimeoutSeconds }}
{{- printf "%02d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) }}
{{- end }}

{{/*
The pod's grace period: the drain, the 10 s the host allows beyond it (its shutdown timeout is DrainTimeout + 10 s),
and 20 s more for the kubelet's SIGTERM delivery and the process's exit, so the kubelet never SIGKILLs a draining pod.
*/}}
{{- define "ingest.terminationGracePeriodSeconds" -}}
{{- add (int64 .Values.shipper.drainTimeoutSeconds) 30 }}
{{- end }}

{{- define "ingest.headlessName" -}}
{{- printf "%s-headless" (include "ingest.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* True when the storage is the embedded DuckDB file, which one pod owns. */}}
{{- define "ingest.embedded" -}}
{{- if eq .Values.storage.backend "DuckDb" }}true{{ end }}
{{- end }}

{{/*
The settings file (appsettings.<environment>.json): the chart's values mapped to the service's keys (README,
"Settings"), then .Values.settings merged over them. Secrets never appear here: connection strings come from
existing Secrets through environment variables (see the Deployment).
*/}}
{{- define "ingest.settings" -}}
{{- $auth := dict "Issuer" (required "auth.issuer is required: the iss claim every token must carry" .Values.auth.issuer) "Audiences" .Values.auth.audiences -}}
{{- if .Values.auth.authority }}
{{- $_ := set $auth "Authority" .Values.auth.authority }}
{{- end }}
{{- if .Values.auth.publicKeys.existingSecret }}
{{- if not .Values.auth.publicKeys.files }}
{{- fail "auth.publicKeys.files must list the key files (e.g. platform-2026.pem) held by auth.publicKeys.existingSecret" }}
{{- end }}
{{- $files := list }}
{{- range .Values.auth.publicKeys.files }}
{{- $files = append $files (printf "%s/%s" (include "ingest.keysPath" $) .) }}
{{- end }}
{{- $_ := set $auth "PublicKeyFiles" $files }}
{{- end }}
{{- if and (not .Values.auth.authority) (not .Values.auth.publicKeys.existingSecret) }}
{{- fail "set auth.publicKeys.existingSecret (PEM public keys) or auth.authority (OIDC): outside Development the services accept no token otherwise" }}
{{- end }}
{{- $storage := dict "Backend" .Values.storage.backend }}
{{- if include "ingest.embedded" . }}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}
{{- fail "storage.backend DuckDb is an embedded file that one pod owns: keep replicaCount 1 and autoscaling off, or use storage.backend ClickHouse to scale" }}
{{- end }}
{{- $_ := set $storage "DuckDb" (dict "DataDirectory" (include "ingest.dataPath" .)) }}
{{- else if not .Values.storage.clickhouse.existingSecret }}
{{- fail "storage.clickhouse.existingSecret must name the Secret holding the ClickHouse connection string when storage.backend is ClickHouse" }}
{{- end }}
{{- $dedup := dict "Backend" .Values.dedup.backend "Window" .Values.dedup.window }}
{{- if and (eq .Values.dedup.backend "Redis") (not .Values.dedup.redis.existingSecret) }}
{{- fail "dedup.redis.existingSecret must name the Secret holding the Redis connection string when dedup.backend is Redis" }}
{{- end }}
{{- $limits := dict "Enabled" .Values.eventLimits.enabled "EventsPerSecond" .Values.eventLimits.eventsPerSecond "Burst" .Values.eventLimits.burst "Tenants" .Values.eventLimits.tenants }}
{{- $writer := dict "FairShareAbove" .Values.writer.fairShareAbove }}
{{- $settings := dict "Auth" $auth "Storage" $storage "Dedup" $dedup "EventLimits" $limits "Writer" $writer }}
{{- if .Values.auth.writeKeys.existingSecret }}
{{- $_ := set $settings "WriteKeys" (dict "File" (printf "%s/%s" (include "ingest.writeKeysPath" .) .Values.auth.writeKeys.file)) }}
{{- end }}
{{- toPrettyJson (mergeOverwrite $settings (deepCopy .Values.settings)) }}
{{- end }}
