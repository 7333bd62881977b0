{{/* Names, labels and small shared pieces. */}}

{{- define "zero-scim.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-zero-scim (or the release name alone if it contains the chart name),
     truncated so that "-operator"/"-accounts" suffixes stay within 63 characters. */}}
{{- define "zero-scim.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "zero-scim.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zero-scim.labels" -}}
helm.sh/chart: {{ include "zero-scim.chart" . }}
app.kubernetes.io/name: {{ include "zero-scim.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: zero-scim
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include "zero-scim.selectorLabels" (list . "api") */}}
{{- define "zero-scim.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "zero-scim.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "zero-scim.componentLabels" -}}
{{ include "zero-scim.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "zero-scim.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{- define "zero-scim.apiServiceAccountName" -}}
{{- if .Values.api.serviceAccount.create }}
{{- default (printf "%s-api" (include "zero-scim.fullname" .)) .Values.api.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.api.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "zero-scim.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (printf "%s-operator" (include "zero-scim.fullname" .)) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* How many API replicas can run at once at the least (for the PDB decision). */}}
{{- define "zero-scim.apiMinReplicas" -}}
{{- if .Values.api.autoscaling.enabled }}{{ .Values.api.autoscaling.minReplicas }}{{ else }}{{ .Values.api.replicas }}{{ end }}
{{- end }}

{{/* API versions that depend on the cluster. A group/version alone is checked: Helm's
     offline default capabilities list group/versions, not kinds. The version check
     keeps `helm template --kube-version 1.20` honest, whose default API list is the
     client's, not that cluster's. */}}
{{- define "zero-scim.pdbApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end }}

{{- define "zero-scim.hpaApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "autoscaling/v2") (semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version) -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end }}

{{/* The pod security context and container security context, and /tmp. */}}
{{- define "zero-scim.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Egress every component that talks to Kubernetes needs: the API server, DNS. */}}
{{- define "zero-scim.egressCommon" -}}
{{- $np := .Values.networkPolicy -}}
# The Kubernetes API server (the Service's port and the endpoint's, after DNAT).
- ports:
    {{- range $np.kubeApiServer.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $np.kubeApiServer.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- if $np.allowDns }}
- ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}
{{- end }}
