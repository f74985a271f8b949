{{/*
Names and labels. Kubernetes names are at most 63 characters (DNS labels), so every name is
cut there and loses a trailing "-".
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "edge-credential-provider.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the release name, followed by the chart's name unless the release
name already contains it.
*/}}
{{- define "edge-credential-provider.fullname" -}}
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

{{/* A name derived from the full name: fullname-suffix, still within 63 characters. */}}
{{- define "edge-credential-provider.suffixed" -}}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "edge-credential-provider.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "edge-credential-provider.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "edge-credential-provider.labels" -}}
helm.sh/chart: {{ include "edge-credential-provider.chart" . }}
{{ include "edge-credential-provider.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: edge-credential-provider
{{- end }}

{{/*
Selector labels: only name and instance. A DaemonSet's selector cannot change after it is
created, so nothing that changes between releases (the version, the chart) goes in it.
*/}}
{{- define "edge-credential-provider.selectorLabels" -}}
app.kubernetes.io/name: {{ include "edge-credential-provider.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. Takes an image value. */}}
{{- define "edge-credential-provider.imageRef" -}}
{{- $image := index . 0 }}
{{- $defaultTag := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $defaultTag $image.tag) }}
{{- end }}
{{- end }}

{{/* The kubelets' minor version as a number (from "1.34" or "v1.34"). */}}
{{- define "edge-credential-provider.minor" -}}
{{- .Values.kubernetesVersion | trimPrefix "v" | trimPrefix "1." | atoi }}
{{- end }}

{{/*
Where the node's config is mounted and what --config names inside the pod. A path ending in
"/" is a config directory: it is mounted itself and install writes its drop-in there;
otherwise the file's directory is mounted.
*/}}
{{- define "edge-credential-provider.configIsDir" -}}
{{- if hasSuffix "/" .Values.node.configPath }}true{{ end }}
{{- end }}

{{- define "edge-credential-provider.hostConfigDir" -}}
{{- if include "edge-credential-provider.configIsDir" . }}
{{- .Values.node.configPath | trimSuffix "/" }}
{{- else }}
{{- dir .Values.node.configPath }}
{{- end }}
{{- end }}

{{- define "edge-credential-provider.podConfigPath" -}}
{{- if include "edge-credential-provider.configIsDir" . }}/host/config/{{ else }}/host/config/{{ base .Values.node.configPath }}{{ end }}
{{- end }}

{{/*
The flags of `edge-credential-provider install` (and generate-config) that the values make,
one per line, without --config. The installer runs them; NOTES print the same.
*/}}
{{- define "edge-credential-provider.configFlags" -}}
--url={{ .Values.edgeURL }}
{{- range .Values.matchImages }}
--match-image={{ . }}
{{- end }}
--audience={{ .Values.audience }}
--kubernetes-version={{ .Values.kubernetesVersion }}
{{- if ge (include "edge-credential-provider.minor" . | int) 34 }}
--cache-type={{ .Values.cacheType }}
{{- end }}
{{- range .Values.serviceAccountAnnotations.required }}
--required-annotation={{ . }}
{{- end }}
{{- range .Values.serviceAccountAnnotations.optional }}
--optional-annotation={{ . }}
{{- end }}
{{- end }}
