{{/* Chart name, shortened to the 63 characters of a label value. */}}
{{- define "scim-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources: the release name when it contains the chart name. */}}
{{- define "scim-operator.fullname" -}}
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

{{- define "scim-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object. app.kubernetes.io/managed-by is Helm here: the operator marks
what it creates for identities with managed-by=scim-operator, and must never mistake the
chart's own objects for those.
*/}}
{{- define "scim-operator.labels" -}}
helm.sh/chart: {{ include "scim-operator.chart" . }}
{{ include "scim-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scim-operator
{{- end }}

{{- define "scim-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scim-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scim-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scim-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: the digest pins it when given. */}}
{{- define "scim-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Secret of the cert-manager Certificate. */}}
{{- define "scim-operator.certificateSecret" -}}
{{- default (printf "%s-tls" (include "scim-operator.fullname" .)) .Values.certificate.secretName }}
{{- end }}

{{/* Host names identity providers use: the Ingress host, or the HTTPRoute's. */}}
{{- define "scim-operator.host" -}}
{{- if .Values.ingress.host }}
{{- .Values.ingress.host }}
{{- else if .Values.httpRoute.hostnames }}
{{- first .Values.httpRoute.hostnames }}
{{- end }}
{{- end }}

{{/* Base URL identity providers reach the SCIM server at. */}}
{{- define "scim-operator.externalURL" -}}
{{- $host := include "scim-operator.host" . }}
{{- if .Values.externalURL }}
{{- .Values.externalURL | trimSuffix "/" }}
{{- else if and (or .Values.ingress.enabled .Values.httpRoute.enabled) $host }}
{{- printf "https://%s" $host }}
{{- else }}
{{- $scheme := ternary "https" "http" .Values.scim.tls.enabled }}
{{- printf "%s://%s.%s.svc:%v" $scheme (include "scim-operator.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}
{{- end }}

{{- define "scim-operator.tenantNamespace" -}}
{{- default .Release.Namespace .Values.tenant.namespace }}
{{- end }}

{{- define "scim-operator.tenantSecret" -}}
{{- default (printf "%s-token" .Values.tenant.name) .Values.tenant.token.existingSecret }}
{{- end }}

{{/* The first tenant's URL, as the operator publishes it in status.tenantURL. */}}
{{- define "scim-operator.tenantURL" -}}
{{- $base := default (include "scim-operator.externalURL" .) .Values.tenant.externalBaseURL | trimSuffix "/" }}
{{- printf "%s/scim/%s/%s/v2" $base (include "scim-operator.tenantNamespace" .) .Values.tenant.name }}
{{- end }}
