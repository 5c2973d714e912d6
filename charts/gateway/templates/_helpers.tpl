{{/* The chart's name, or nameOverride. */}}
{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name (63 characters at most, a DNS label). A release whose name already holds the chart's
name is used as it is: `helm install gateway charts/gateway` makes objects named "gateway".
*/}}
{{- define "gateway.fullname" -}}
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

{{- define "gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "gateway.labels" -}}
helm.sh/chart: {{ include "gateway.chart" . }}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: platform
app.kubernetes.io/component: gateway
{{- end }}

{{/* Labels that select the pods; never change them on upgrade (selectors are immutable). */}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Where the write-key file of auth.writeKeys.existingSecret is mounted (a directory: subPath mounts never see a changed Secret). */}}
{{- define "gateway.writeKeysPath" -}}
/etc/platform/write-keys
{{- end }}

{{/* Where the JWT public keys of auth.publicKeys.existingSecret are mounted. */}}
{{- define "gateway.keysPath" -}}
/etc/platform/jwt-keys
{{- end }}

{{/*
The settings file (appsettings.<environment>.json): the chart's values mapped to the service's keys (README,
"Settings"), then .Values.settings merged over them. Secrets never appear here: they come from existing Secrets
through environment variables (see the Deployment).
*/}}
{{- define "gateway.settings" -}}
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
{{- $files = append $files (printf "%s/%s" (include "gateway.keysPath" $) .) }}
{{- end }}
{{- $_ := set $auth "PublicKeyFiles" $files }}
{{- end }}
{{- if and (not .Values.auth.authority) (not .Values.auth.publicKeys.existingSecret) }}
{{- fail "set auth.publicKeys.existingSecret (PEM public keys) or auth.authority (OIDC): outside Development the services accept no token otherwise" }}
{{- end }}
{{- $proxy := dict "IngestAddresses" (required "proxy.ingestAddresses must list ingest's address" .Values.proxy.ingestAddresses) "UseDnsDestinations" .Values.proxy.useDnsDestinations }}
{{- $limits := dict "Enabled" .Values.rateLimiting.enabled "RequestsPerSecond" .Values.rateLimiting.requestsPerSecond "Burst" .Values.rateLimiting.burst }}
{{- $settings := dict "Auth" $auth "Proxy" $proxy "RateLimiting" $limits }}
{{- if .Values.auth.writeKeys.existingSecret }}
{{- $_ := set $settings "WriteKeys" (dict "File" (printf "%s/%s" (include "gateway.writeKeysPath" .) .Values.auth.writeKeys.file)) }}
{{- end }}
{{- toPrettyJson (mergeOverwrite $settings (deepCopy .Values.settings)) }}
{{- end }}
