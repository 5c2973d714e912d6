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

{{/* Where the JWT public keys of auth.publicKeys.existingSecret are mounted. */}}
{{- define "ingest.keysPath" -}}
/etc/platform/jwt-keys
{{- end }}

{{/* Where DuckDB keeps its file (an emptyDir or a PersistentVolumeClaim). */}}
{{- define "ingest.dataPath" -}}
/var/lib/platform/ingest
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
{{- $settings := dict "Auth" $auth "Storage" $storage "Dedup" $dedup }}
{{- toPrettyJson (mergeOverwrite $settings (deepCopy .Values.settings)) }}
{{- end }}
